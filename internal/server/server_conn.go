package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// One connection's life, as the loop drives it:
//
//	accept → opened: send OPEN, start the connect timer and the heartbeat
//	packet → packet: parse it, CONNECT / EVENT / ACK / PONG …
//	timer  → PING, or "ping timeout", or "connect timeout"
//	we end it  → closeWith(reason): CLOSE packet, close after flushing
//	the transport ends it → closeWith(reason): frame too large, frame timeout, input budget
//	it ends    → closed: the loop saw EOF or an error
//
// Every way out goes through finish, once, which takes the socket out of
// the rooms and lists, stops its timers and tells the handlers.

// newSocket is the server's record of a connection the loop accepted.
func (srv *Server) newSocket(c *transport.Conn) *Socket {
	s := &Socket{srv: srv, c: c, index: -1}
	c.Context = s
	return s
}

// opened starts a new connection's session.
func (srv *Server) opened(s *Socket) {
	srv.conns[s] = struct{}{}
	n := srv.open.Add(1)
	switch {
	case srv.stopping:
		s.closeWith(wire.ReasonShuttingDown)
		return
	case srv.opts.MaxConns > 0 && n > int64(srv.opts.MaxConns):
		// Told before OPEN, so that a client sees the reason as the first
		// thing the server says, rather than a connection that just ends.
		s.closeWith(fmt.Sprintf("%s: %d connections already", wire.ReasonServerFull, srv.opts.MaxConns))
		return
	}
	// The socket's id, which programs see (Socket.ID, the CONNECT answer
	// 40{"sid":"…"}), is not the Engine.IO session id of OPEN: on
	// long-polling the session id authorises every HTTP request of the
	// session, so it must stay a secret between the client and the
	// server (socket.io keeps the two apart since v3).
	s.id = newID()
	sid := s.c.SID() // a long-polling session's, made by the transport
	if sid == "" {
		sid = newID()
	}
	if srv.opts.OnOpen != nil {
		srv.opts.OnOpen(s)
	}
	hs := wire.Handshake{
		SID:          sid,
		PingInterval: srv.opts.PingInterval,
		PingTimeout:  srv.opts.PingTimeout,
		MaxPayload:   srv.opts.MaxPayload,
	}
	switch {
	case s.c.Polling():
		// Long-polling may move to a WebSocket (the upgrade).
		hs.Upgrades = []string{"websocket"}
	case s.c.WebSocket():
		// socket.io's clients read the list of upgrades; on a WebSocket
		// there is nothing to upgrade to.
		hs.Upgrades = []string{}
	}
	open, _ := wire.AppendOpen(nil, hs)
	s.send(transport.NewPacket(open))
	timeout := srv.opts.ConnectTimeout
	s.connectTimer = srv.after(timeout, func() {
		if s.state == stateOpen {
			s.closeWith(fmt.Sprintf("%s: no CONNECT within %v", wire.ReasonConnectTimeout, timeout))
		}
	})
	s.schedulePing()
}

// closed is the loop telling us the connection is gone, and why (used
// when it was not us who ended it).
func (srv *Server) closed(s *Socket, reason string) {
	if s.state < stateClosing {
		s.state = stateClosing
		s.finish(reason)
	}
	s.state = stateClosed
	if s.rare != nil {
		stop(&s.rare.lingerTimer)
	}
	delete(srv.conns, s)
	if srv.open.Add(-1) == 0 && srv.stopping {
		srv.stopLoop()
	}
}

// packet handles one packet's text. It reads all of socket.io
// (wire.ParseSocketIO): namespaces, and the headers of binary packets,
// whose attachments come after them (server_binary.go).
func (s *Socket) packet(text []byte) {
	p := &s.srv.pkt
	if err := p.ParseSocketIO(text); err != nil {
		s.closeWith(wire.ReasonParseError + ": " + err.Error())
		return
	}
	switch p.Engine {
	case wire.Pong:
		if p.Probe {
			s.closeWith(wire.ReasonProtocolError + ": 3probe is the server's answer to a client's 2probe")
			return
		}
		s.pong()
	case wire.Close:
		// The client says goodbye and will close its end; no need to
		// answer.
		s.state = stateClosing
		s.c.Close()
		s.finish(wire.ReasonTransportClose)
	case wire.Message:
		s.message(p)
	case wire.Ping:
		s.closeWith(wire.ReasonProtocolError + ": PING is the server's to send; a client answers PING with PONG")
	case wire.Upgrade, wire.Noop:
		// The upgrade from long-polling is the transport's business; one
		// that reaches the session came at the wrong moment.
		s.closeWith(wire.ReasonProtocolError + ": " + p.Engine.String() + " outside an upgrade")
	default: // OPEN
		s.closeWith(wire.ReasonProtocolError + ": OPEN comes from the server")
	}
}

// message handles one socket.io packet, for the socket of its namespace.
// s is the session (the connection's record).
func (s *Socket) message(p *wire.Packet) {
	if n := s.waiting(); n > 0 {
		// socket.io sends a binary packet's attachments right after it,
		// nothing in between.
		s.closeWith(fmt.Sprintf("%s: a text packet came while a binary packet waited for %d attachments", wire.ReasonProtocolError, n))
		return
	}
	if p.Socket == wire.Connect {
		if p.Namespace == "" {
			s.connect(p.Data)
		} else {
			s.connectTo(p.Namespace, p.Data)
		}
		return
	}
	target := s
	if p.Namespace != "" {
		target = s.child(p.Namespace)
	}
	if target == nil || target.state != stateConnected {
		where := ""
		if p.Namespace != "" {
			where = " to " + p.Namespace
		}
		s.closeWith(wire.ReasonProtocolError + ": " + p.Socket.String() + " before CONNECT" + where)
		return
	}
	switch p.Socket {
	case wire.Event:
		target.event(p.Event, p.Args, p.HasAck, p.AckID, nil)
	case wire.Ack:
		target.answered(p.AckID, p.Args, nil)
	case wire.BinaryEvent, wire.BinaryAck:
		s.startBinary(p)
	case wire.Disconnect:
		switch {
		case target != s:
			target.leaveNamespace(wire.ReasonClientDisconnect)
		case s.c.WebSocket() || s.c.Polling():
			// socket.io's transports: only the socket of "/" ends, the
			// Engine.IO session goes on (PINGs, the other namespaces), as
			// socket.io's server does; the client sends CLOSE when it
			// leaves. A new CONNECT to "/" on it is refused (see connect).
			s.leaveMain(wire.ReasonClientDisconnect)
		default:
			// miniio's TCP frames keep one namespace session per
			// connection: DISCONNECT of "/" ends it, and the server says
			// so with CLOSE and its reason (lessons 11 and 12 show it).
			s.closeWith(wire.ReasonClientDisconnect)
		}
	default: // CONNECT_ERROR
		s.closeWith(wire.ReasonProtocolError + ": CONNECT_ERROR comes from the server")
	}
}

// leaveMain ends the socket of "/" on a DISCONNECT from the client and
// keeps the session: out of the namespace and its rooms, its waiting acks
// failed, its disconnect handlers told; the heartbeat and the sockets of
// other namespaces go on. The session is back in stateOpen, waiting for
// nothing (no connect timer): the client's CLOSE, or a ping timeout, ends
// it. Only a socket that was connected gets here (message checks).
func (s *Socket) leaveMain(reason string) {
	s.state = stateOpen
	s.detach(reason)
}

// connect lets the client into "/", or not.
func (s *Socket) connect(auth json.RawMessage) {
	if s.state != stateOpen || s.gone {
		// s.gone: the client left "/" with DISCONNECT and the session
		// lived on (leaveMain); coming back to "/" on the same session is
		// not supported.
		s.closeWith(wire.ReasonProtocolError + ": second CONNECT")
		return
	}
	for _, check := range s.srv.main.middleware {
		if err := check(s, auth); err != nil {
			s.send(transport.NewPacket(wire.AppendConnectError(nil, err.Error())))
			s.closeWith(err.Error())
			return
		}
		if s.state != stateOpen {
			return // the check ended the connection itself
		}
	}
	stop(&s.connectTimer)
	s.admit(auth)
}

// answered is the client's ACK for one of our EmitWithAck calls.
func (s *Socket) answered(id int, args []json.RawMessage, bin *wire.Binary) {
	pa := s.acks[id]
	if pa == nil {
		return // an answer we stopped waiting for (it timed out); ignore it
	}
	delete(s.acks, id)
	stop(&pa.timer)
	if pa.bcb != nil {
		pa.bcb(BinaryArgs{Args: args, bin: bin}, nil)
		return
	}
	pa.cb(args, nil)
}

// event calls the handlers of one EVENT (bin is nil) or BINARY_EVENT.
func (s *Socket) event(name string, args []json.RawMessage, hasAck bool, ackID int, bin *wire.Binary) {
	var anyHandlers []func(string, []json.RawMessage)
	if s.rare != nil {
		anyHandlers = s.rare.anyHandlers
	}
	for _, h := range anyHandlers {
		h(name, args)
	}
	ack := noAck
	if hasAck {
		ack = s.acker(ackID)
	}
	fns := s.handlerFns
	for i, fn := range fns {
		if s.handlerNames[i] == name {
			fn(args, ack)
		}
	}
	if s.rare != nil {
		for _, h := range s.rare.binHandlers {
			if h.event == name {
				h.fn(BinaryArgs{Args: args, bin: bin}, ack)
			}
		}
	}
}

// errAckNotAsked is what ack returns when there was nothing to answer.
var errAckNotAsked = errors.New("the sender did not ask for an ack, or it was sent already")

func noAck(...any) error { return errAckNotAsked }

// acker returns the ack function for the event with that id: it sends the
// answer once, from any goroutine. []byte arguments make it a BINARY_ACK
// (server_binary.go).
func (s *Socket) acker(id int) func(args ...any) error {
	done := false // touched under srv.mu, since ack may be called anywhere
	return func(args ...any) error {
		nsp := s.namespace().wire
		pkt, atts, err := s.srv.encodePacket(func(dst []byte) ([]byte, error) {
			return wire.AppendAckArgsTo(dst, nsp, id, args...)
		}, func(dst []byte) ([]byte, [][]byte, error) {
			return wire.AppendAckValues(dst, nsp, id, binaryValues(args)...)
		}, args)
		if err == nil && atts != nil {
			err = s.canCarryBinary()
		}
		if err != nil {
			return err
		}
		s.srv.mu.Lock()
		already := done
		done = true
		s.srv.mu.Unlock()
		if already {
			return errAckNotAsked
		}
		s.srv.enqueue(serverOp{kind: opSend, s: s, pkt: pkt, atts: atts})
		return nil
	}
}

// send queues one packet for the client, unless the client has stopped
// reading: then it is ended as a slow consumer. Loop goroutine only.
func (s *Socket) send(p *transport.Packet) {
	if s.state >= stateClosing {
		return
	}
	if s.nsp != nil { // a socket of another namespace: its connection sends
		s.session().send(p)
		return
	}
	if max := s.srv.opts.MaxOutput; max > 0 {
		if queued := s.c.OutputLen(); queued > 0 && queued+p.Len() > max {
			s.closeWith(fmt.Sprintf("%s: more than %d bytes waiting to be sent", wire.ReasonSlowConsumer, max))
			return
		}
	}
	s.write(p)
}

func (s *Socket) write(p *transport.Packet) {
	if s.srv.opts.OnPacket != nil {
		s.srv.opts.OnPacket(s, true, p.Text())
	}
	if err := s.c.Send(p); err != nil {
		// The loop refuses more output only past its own hard cap, which
		// is above ours: the connection is beyond saving.
		s.state = stateClosing
		s.c.Abort()
		s.finish(wire.ReasonTransportError + ": " + err.Error())
	}
}

// closeWith ends the connection from our side: a CLOSE packet with the
// reason, then close(2) once the queued output is written. The packet goes
// out even past MaxOutput: it is small, and it is the one packet that
// tells the client why.
func (s *Socket) closeWith(reason string) {
	if s.nsp != nil { // a socket of another namespace: its connection ends
		s.session().closeWith(reason)
		return
	}
	if s.state >= stateClosing {
		return
	}
	s.write(transport.ClosePacket(reason))
	if s.state >= stateClosing {
		return // the write failed and finished it
	}
	s.state = stateClosing
	s.c.Close()
	s.rarePart().lingerTimer = s.srv.after(closeLinger, s.c.Abort)
	s.finish(reason)
}

// finish ends a session (a connection): its sockets in other namespaces
// and its own socket of "/" detached, timers stopped, a half-assembled
// binary packet dropped, the OnClose hook told. Runs once.
func (s *Socket) finish(reason string) {
	srv := s.srv
	stop(&s.connectTimer)
	s.hbRemove()
	if s.rare != nil {
		children := s.rare.children
		s.rare.children = nil
		for _, c := range children {
			c.state = stateClosed
			c.detach(reason)
		}
		s.dropBinary()
	}
	if s.gone {
		// The socket of "/" left earlier by the client's DISCONNECT and
		// the session lived on (leaveMain): that is the reason its owner
		// is told, as socket.io tells its socket, whatever ended the
		// session after it (the client's CLOSE, mostly).
		reason = wire.ReasonClientDisconnect
	}
	s.detach(reason)
	if srv.opts.OnClose != nil {
		srv.opts.OnClose(s, reason)
	}
}

// detach takes a socket that is ending out of its namespace: out of the
// lists and rooms, waiting acks failed, its disconnect handlers told.
func (s *Socket) detach(reason string) {
	srv := s.srv
	n := s.namespace()
	wasConnected := s.index >= 0
	if wasConnected {
		last := len(n.sockets) - 1
		moved := n.sockets[last]
		n.sockets[s.index] = moved
		moved.index = s.index
		n.sockets[last] = nil
		n.sockets = n.sockets[:last]
		s.index = -1
		delete(n.byID, s.id)
		srv.connected.Add(-1)
	}
	for room := range s.rooms {
		srv.leave(s, room)
	}
	srv.mu.Lock()
	s.joined = nil
	s.gone = true
	srv.mu.Unlock()
	for id, pa := range s.acks {
		delete(s.acks, id)
		stop(&pa.timer)
		err := fmt.Errorf("%w: %s", wire.ErrDisconnected, reason)
		if pa.bcb != nil {
			pa.bcb(BinaryArgs{}, err)
		} else {
			pa.cb(nil, err)
		}
	}
	if wasConnected && s.rare != nil {
		for _, h := range s.rare.byeHandlers {
			h(reason)
		}
	}
}

// after runs f on the loop goroutine after d, as a handler: emits it makes
// are applied when it returns. Loop goroutine only.
func (srv *Server) after(d time.Duration, f func()) stopper {
	return srv.loop.AfterFunc(d, func() {
		srv.enter()
		f()
		srv.drain()
	})
}

func stop(t *stopper) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// upcalls is the server as package transport sees it: the four things
// a connection does. Each runs the server's code as a handler, then
// applies the emits it made.
type upcalls struct{ srv *Server }

func (u upcalls) Opened(c *transport.Conn) {
	srv := u.srv
	srv.enter()
	srv.opened(srv.newSocket(c))
	srv.drain()
}

func (u upcalls) Packet(c *transport.Conn, text []byte) {
	srv := u.srv
	s := c.Context.(*Socket)
	srv.enter()
	if srv.opts.OnPacket != nil {
		srv.opts.OnPacket(s, false, text)
	}
	s.packet(text)
	srv.drain()
}

// Attachment is the entry point for binary messages: the transport calls
// it for every binary message it receives (a WebSocket binary frame, a
// long-polling `b` packet decoded from base64), on the loop goroutine,
// in the order they came among the text packets. data is valid only
// during the call (it is copied if kept). transport.Handler does not name
// it: an envelope that can carry binary finds it by a type assertion
// (internal/transport/websocket_binary.go), so a handler without it keeps
// refusing binary. The server then assembles the binary packet the
// attachment belongs to (server_binary.go).
func (u upcalls) Attachment(c *transport.Conn, data []byte) {
	srv := u.srv
	s := c.Context.(*Socket)
	srv.enter()
	s.attachment(data)
	srv.drain()
}

func (u upcalls) Refused(c *transport.Conn, reason string) {
	srv := u.srv
	srv.enter()
	c.Context.(*Socket).closeWith(reason)
	srv.drain()
}

func (u upcalls) Closed(c *transport.Conn, reason string) {
	srv := u.srv
	srv.enter()
	srv.closed(c.Context.(*Socket), reason)
	srv.drain()
}
