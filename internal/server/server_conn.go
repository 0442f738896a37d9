package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	s.id = newID()
	if srv.opts.OnOpen != nil {
		srv.opts.OnOpen(s)
	}
	hs := wire.Handshake{
		SID:          s.id,
		PingInterval: srv.opts.PingInterval,
		PingTimeout:  srv.opts.PingTimeout,
		MaxPayload:   srv.opts.MaxPayload,
	}
	if s.c.WebSocket() {
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

// packet handles one packet's text.
func (s *Socket) packet(text []byte) {
	p := &s.srv.pkt
	var err error
	if s.c.WebSocket() {
		// socket.io's own clients may name namespaces and send binary
		// packets: read all of socket.io, then refuse what is not served.
		err = p.ParseSocketIO(text)
	} else {
		err = p.Parse(text)
	}
	if err != nil {
		s.closeWith(wire.ReasonParseError + ": " + err.Error())
		return
	}
	if p.Namespace != "" && p.Namespace != "/" {
		// Only the main namespace is served. socket.io answers a CONNECT
		// to an unknown one with CONNECT_ERROR and keeps the connection
		// (the client may be in "/" too); anything else sent there is
		// ignored, as socket.io ignores packets for namespaces the socket
		// has not joined.
		if p.Engine == wire.Message && p.Socket == wire.Connect {
			refusal, _ := wire.AppendConnectErrorTo(nil, p.Namespace, "Invalid namespace")
			s.send(transport.NewPacket(refusal))
		}
		return
	}
	if p.Engine == wire.Message && (p.Socket == wire.BinaryEvent || p.Socket == wire.BinaryAck) {
		s.closeWith(wire.ReasonProtocolError + ": binary packets are not supported yet")
		return
	}
	if p.Probe || p.Engine == wire.Upgrade || p.Engine == wire.Noop {
		s.closeWith(wire.ReasonProtocolError + ": " + p.Engine.String() + " belongs to the long-polling upgrade, not served here")
		return
	}
	switch p.Engine {
	case wire.Pong:
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
	default: // OPEN
		s.closeWith(wire.ReasonProtocolError + ": OPEN comes from the server")
	}
}

func (s *Socket) message(p *wire.Packet) {
	if p.Socket == wire.Connect {
		s.connect(p.Data)
		return
	}
	if s.state != stateConnected {
		s.closeWith(wire.ReasonProtocolError + ": " + p.Socket.String() + " before CONNECT")
		return
	}
	switch p.Socket {
	case wire.Event:
		s.event(p)
	case wire.Ack:
		if pa := s.acks[p.AckID]; pa != nil {
			delete(s.acks, p.AckID)
			stop(&pa.timer)
			pa.cb(p.Args, nil)
		} // else: an answer we stopped waiting for (it timed out); ignore it
	case wire.Disconnect:
		s.closeWith(wire.ReasonClientDisconnect)
	default: // CONNECT_ERROR
		s.closeWith(wire.ReasonProtocolError + ": CONNECT_ERROR comes from the server")
	}
}

// connect lets the client in, or not.
func (s *Socket) connect(auth json.RawMessage) {
	srv := s.srv
	if s.state != stateOpen {
		s.closeWith(wire.ReasonProtocolError + ": second CONNECT")
		return
	}
	stop(&s.connectTimer)
	for _, check := range srv.middleware {
		if err := check(s, auth); err != nil {
			s.send(transport.NewPacket(wire.AppendConnectError(nil, err.Error())))
			s.closeWith(err.Error())
			return
		}
	}
	if len(auth) > 0 {
		s.more().auth = bytes.Clone(auth)
	}
	s.state = stateConnected
	// The connection handlers are about to register this socket's event
	// handlers. Sockets of one server usually register the same events in
	// the same order, so the socket starts with the list of names the last
	// socket ended up with (shared, not copied: On copies it only where
	// this socket differs) and room for as many functions. Ten handlers
	// then cost an idle connection 80 bytes (one function each) instead
	// of 240 for a name and a function each, and growing by doubling
	// would have kept room for sixteen.
	if s.handlerFns == nil && len(srv.handlerNames) > 0 {
		s.handlerNames = srv.handlerNames
		s.handlerFns = make([]eventHandler, 0, len(srv.handlerNames))
	}
	s.index = int32(len(srv.sockets))
	srv.sockets = append(srv.sockets, s)
	srv.byID[s.id] = s
	srv.connected.Add(1)
	welcome, _ := wire.AppendConnect(nil, json.RawMessage(`{"sid":`+strconv.Quote(s.id)+`}`))
	s.send(transport.NewPacket(welcome))
	for _, h := range srv.connectionHandlers {
		if s.state != stateConnected {
			return
		}
		h(s)
	}
	// The next socket starts from this one's names, cut to their length so
	// that nobody can append into this socket's spare room.
	n := len(s.handlerFns)
	srv.handlerNames = s.handlerNames[:n:n]
}

// event calls the handlers of one EVENT.
func (s *Socket) event(p *wire.Packet) {
	var anyHandlers []func(string, []json.RawMessage)
	if s.rare != nil {
		anyHandlers = s.rare.anyHandlers
	}
	for _, h := range anyHandlers {
		h(p.Event, p.Args)
	}
	ack := noAck
	if p.HasAck {
		ack = s.acker(p.AckID)
	}
	fns := s.handlerFns
	for i, fn := range fns {
		if s.handlerNames[i] == p.Event {
			fn(p.Args, ack)
		}
	}
}

// errAckNotAsked is what ack returns when there was nothing to answer.
var errAckNotAsked = errors.New("the sender did not ask for an ack, or it was sent already")

func noAck(...any) error { return errAckNotAsked }

// acker returns the ack function for the event with that id: it sends the
// answer once, from any goroutine.
func (s *Socket) acker(id int) func(args ...any) error {
	done := false // touched under srv.mu, since ack may be called anywhere
	return func(args ...any) error {
		pkt, err := transport.EncodePacket(func(dst []byte) ([]byte, error) {
			return wire.AppendAckArgs(dst, id, args...)
		})
		if err == nil {
			err = s.srv.checkSize(pkt)
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
		s.srv.enqueue(serverOp{kind: opSend, s: s, pkt: pkt})
		return nil
	}
}

// send queues one packet for the client, unless the client has stopped
// reading: then it is ended as a slow consumer. Loop goroutine only.
func (s *Socket) send(p *transport.Packet) {
	if s.state >= stateClosing {
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
	if s.state >= stateClosing {
		return
	}
	s.write(transport.ClosePacket(reason))
	if s.state >= stateClosing {
		return // the write failed and finished it
	}
	s.state = stateClosing
	s.c.Close()
	s.more().lingerTimer = s.srv.after(closeLinger, s.c.Abort)
	s.finish(reason)
}

// finish detaches a socket that is ending: out of the lists and rooms,
// timers stopped, waiting acks failed, handlers told. Runs once.
func (s *Socket) finish(reason string) {
	srv := s.srv
	stop(&s.connectTimer)
	s.hbRemove()
	wasConnected := s.index >= 0
	if wasConnected {
		last := len(srv.sockets) - 1
		moved := srv.sockets[last]
		srv.sockets[s.index] = moved
		moved.index = s.index
		srv.sockets[last] = nil
		srv.sockets = srv.sockets[:last]
		s.index = -1
		delete(srv.byID, s.id)
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
		pa.cb(nil, fmt.Errorf("%w: %s", wire.ErrDisconnected, reason))
	}
	if wasConnected && s.rare != nil {
		for _, h := range s.rare.byeHandlers {
			h(reason)
		}
	}
	if srv.opts.OnClose != nil {
		srv.opts.OnClose(s, reason)
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
