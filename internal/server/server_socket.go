package server

import (
	"encoding/json"
	"sort"
	"sync/atomic"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// Socket is one client's socket in one namespace as the server sees it:
// socket.io's server-side `socket`. Handlers get it; the program emits
// through it. The socket of "/" also stands for the connection (its OPEN
// sid is the socket's id); a socket of another namespace shares that
// connection and has an id of its own (server_namespace.go).
//
// Which methods may be called from where:
//   - Emit, EmitWithAck, EmitWithAckBinary, Broadcast, To, Join, Leave,
//     Rooms, Disconnect, ID, Peer, Namespace: from any goroutine.
//   - On, OnBinary, OnAny, OnDisconnect, Auth, Connected: from the loop goroutine,
//     that is from a handler (normally the connection handler).
type Socket struct {
	srv *Server
	c   *transport.Conn // the connection and its envelope (package transport)
	id  string          // set when OPEN is sent (in "/"), or at CONNECT (other namespaces)
	nsp *Namespace      // nil for "/"; its connection's record is then s itself

	// Owned by the loop goroutine.
	index int32 // position in its namespace's sockets while connected, else -1
	// The event handlers, position by position: handlerNames[i] is the
	// event handlerFns[i] is for. The names are usually the same list, in
	// the same order, for every socket of a server (its connection
	// handler registers them), so sockets share one copy of it: see On.
	handlerNames []string
	handlerFns   []eventHandler
	rooms        map[string]struct{} // rooms as applied by the loop (its namespace's rooms agree)
	acks         map[int]*pendingAck // our EmitWithAck calls waiting for their answer
	connectTimer stopper
	// The heartbeat (server_heartbeat.go): the socket's place in the ping
	// or the pong queue, and when it is due there.
	hbPrev, hbNext *Socket
	hbDue          time.Duration
	gen            uint64      // last broadcast sent here (Server.gen)
	rare           *socketRare // what few sockets use; nil until one does
	state          socketState
	hbIn           uint8
	ownNames       bool // handlerNames is this socket's own, not the shared list

	// Guarded by srv.mu: whether the socket has ended (then Join is
	// ignored), and the rooms as the program asked for them (Join and
	// Leave update this at once, the loop applies them in queue order).
	gone   bool
	joined map[string]struct{}

	nextAck atomic.Int64 // ack ids for EmitWithAck
}

// socketRare is the part of a socket that most sockets never use, or use
// only at the end: kept apart so that an idle connection does not carry
// room for it (about a hundred bytes of its ~200). Loop goroutine only.
type socketRare struct {
	auth        json.RawMessage // the CONNECT's auth object, copied
	anyHandlers []func(event string, args []json.RawMessage)
	byeHandlers []func(reason string)
	lingerTimer stopper // cuts off a closing connection that does not drain
	binHandlers []binaryHandler

	// A session's own (the socket of "/" is its connection's record):
	children []*Socket // its sockets in other namespaces
	asm      *assembly // the binary packet whose attachments are coming
}

// rarePart returns the socket's rare part, made on first use.
func (s *Socket) rarePart() *socketRare {
	if s.rare == nil {
		s.rare = new(socketRare)
	}
	return s.rare
}

type socketState uint8

const (
	stateOpen      socketState = iota // OPEN sent, waiting for CONNECT
	stateConnected                    // CONNECT done: events flow
	stateClosing                      // we closed it; waiting for the loop to let go
	stateClosed                       // gone
)

// eventHandler is what On registers: the event's arguments, and the
// function that answers the sender's ack.
type eventHandler = func(args []json.RawMessage, ack func(args ...any) error)

type pendingAck struct {
	event string
	cb    func(args []json.RawMessage, err error)
	bcb   func(answer BinaryArgs, err error) // instead of cb (EmitWithAckBinary)
	timer stopper
}

func (pa *pendingAck) fail(err error) {
	if pa.bcb != nil {
		pa.bcb(BinaryArgs{}, err)
	} else {
		pa.cb(nil, err)
	}
}

// ID is the socket's id, the "sid" of its OPEN and CONNECT packets. Every
// socket is also in a room of that name, so To(id) reaches just it.
func (s *Socket) ID() string { return s.id }

// Peer is the client's address and port, "127.0.0.1:51234".
func (s *Socket) Peer() string { return s.c.Peer() }

// WebSocket says whether the client came over WebSocket (socket.io's own
// clients) rather than miniio's TCP frames.
func (s *Socket) WebSocket() bool { return s.c.WebSocket() }

// FD is the socket's file descriptor in the server process (what the trace
// and /proc/PID/fd show).
func (s *Socket) FD() int { return s.c.FD() }

// Auth is the auth object the client sent with CONNECT (`40{"token":…}`),
// or nil. Loop goroutine only.
func (s *Socket) Auth() json.RawMessage {
	if s.rare == nil {
		return nil
	}
	return s.rare.auth
}

// Connected reports whether the socket completed CONNECT and has not
// ended. Loop goroutine only.
func (s *Socket) Connected() bool { return s.state == stateConnected }

// On registers fn for the event: socket.io's socket.on(event, (…args, ack) => …).
//
// fn gets the event's arguments as raw JSON, and ack, which answers a
// sender that asked for an answer (it does nothing otherwise, and nothing
// the second time). The arguments point into the connection's input
// buffer: they are valid until fn returns; copy them (json.Unmarshal,
// bytes.Clone) to keep them longer. ack may be kept and called later,
// from any goroutine.
//
// Call On from the loop goroutine, normally in the connection handler. A
// second On for the same event adds a second handler, called after the
// first.
func (s *Socket) On(event string, fn func(args []json.RawMessage, ack func(args ...any) error)) {
	i := len(s.handlerFns)
	if i >= len(s.handlerNames) || s.handlerNames[i] != event {
		// Not what the shared list says at this position: the socket takes
		// its own list. A list that may be shared is never written to; this
		// socket's own one is appended to in place, and the others only
		// ever hold a copy cut to its length, which cannot see past it.
		if i == len(s.handlerNames) && s.ownNames && i < cap(s.handlerNames) {
			s.handlerNames = append(s.handlerNames, event)
		} else {
			names := make([]string, i+1, max(2*i, 4))
			copy(names, s.handlerNames[:i])
			names[i] = event
			s.handlerNames, s.ownNames = names, true
		}
	}
	s.handlerFns = append(s.handlerFns, fn)
}

// OnAny registers fn for every event, before the event's own handlers:
// socket.io's socket.onAny((event, …args) => …).
func (s *Socket) OnAny(fn func(event string, args []json.RawMessage)) {
	r := s.rarePart()
	r.anyHandlers = append(r.anyHandlers, fn)
}

// OnDisconnect registers fn to run once when the socket ends, with the
// reason: "client namespace disconnect", "transport close", "ping timeout",
// "parse error: …" and the other Reason… texts. Only sockets that completed
// CONNECT get it (like socket.io's "disconnect" event).
func (s *Socket) OnDisconnect(fn func(reason string)) {
	r := s.rarePart()
	r.byeHandlers = append(r.byeHandlers, fn)
}

// Emit sends the event to this client only: socket.emit(event, …args).
// Each argument becomes one JSON value (see wire.AppendArg), except
// []byte, which is sent as a binary attachment (server_binary.go). It
// fails for a reserved event name, an argument that is not JSON, a packet
// past maxPayload, or bytes for a connection that carries text only
// (ErrTextOnly); an emit to a socket that has ended is dropped, as in
// socket.io.
func (s *Socket) Emit(event string, args ...any) error {
	pkt, atts, err := s.srv.encodeEvent(s.namespace().wire, wire.NoAck, event, args)
	if err == nil && atts != nil {
		err = s.canCarryBinary()
	}
	if err != nil {
		return err
	}
	s.srv.enqueue(serverOp{kind: opSend, s: s, pkt: pkt, atts: atts})
	return nil
}

// EmitWithAck sends the event to this client and asks for an answer:
// socket.timeout(t).emit(event, …args, (err, …answer) => …). cb runs on
// the loop goroutine with the answer's arguments, or with an error that
// matches wire.ErrAckTimeout when none came within timeout (0: wait as long as
// the connection lasts), or wire.ErrDisconnected when the connection ended
// first. A late answer is ignored. An answer with bytes in it reaches cb
// with its placeholders; EmitWithAckBinary hands out the bytes.
func (s *Socket) EmitWithAck(event string, timeout time.Duration, cb func(args []json.RawMessage, err error), args ...any) error {
	return s.emitWithAck(event, timeout, cb, nil, args)
}

func (s *Socket) emitWithAck(event string, timeout time.Duration, cb func([]json.RawMessage, error), bcb func(BinaryArgs, error), args []any) error {
	id := int((s.nextAck.Add(1) - 1) % (wire.MaxAckID + 1))
	pkt, atts, err := s.srv.encodeEvent(s.namespace().wire, id, event, args)
	if err == nil && atts != nil {
		err = s.canCarryBinary()
	}
	if err != nil {
		return err
	}
	s.srv.enqueue(serverOp{kind: opAsk, s: s, pkt: pkt, atts: atts, ackID: id, event: event, cb: cb, bcb: bcb, timeout: timeout})
	return nil
}

// Broadcast is everyone connected except this socket:
// socket.broadcast.emit(…) is s.Broadcast().Emit(…).
func (s *Socket) Broadcast() Emitter { return Emitter{srv: s.srv, nsp: s.nsp, except: s} }

// To is the members of the room except this socket: socket.to(room).
// Chain To for more rooms; a socket in several of them gets the event
// once.
func (s *Socket) To(room string) Emitter { return s.Broadcast().To(room) }

// Join puts the socket in the room (created on first use). Rooms are the
// server's idea only: the client is not told.
func (s *Socket) Join(room string) {
	s.srv.mu.Lock()
	if s.gone {
		s.srv.mu.Unlock()
		return
	}
	if s.joined == nil {
		s.joined = make(map[string]struct{})
	}
	s.joined[room] = struct{}{}
	s.srv.mu.Unlock()
	s.srv.enqueue(serverOp{kind: opJoin, s: s, room: room})
}

// Leave takes the socket out of the room (a room with nobody left is
// forgotten).
func (s *Socket) Leave(room string) {
	s.srv.mu.Lock()
	delete(s.joined, room)
	s.srv.mu.Unlock()
	s.srv.enqueue(serverOp{kind: opLeave, s: s, room: room})
}

// Rooms lists the rooms the socket joined, sorted (not counting the room
// named by its own id). It reflects every Join and Leave already called.
func (s *Socket) Rooms() []string {
	s.srv.mu.Lock()
	rooms := make([]string, 0, len(s.joined))
	for r := range s.joined {
		rooms = append(rooms, r)
	}
	s.srv.mu.Unlock()
	sort.Strings(rooms)
	return rooms
}

// Disconnect ends the socket from the server's side: the client gets
// DISCONNECT (`41`, or `41/admin,` in another namespace), and the socket's
// OnDisconnect handlers get "server namespace disconnect". In "/" the
// connection then ends too, with CLOSE (socket.disconnect(true)); a socket
// of another namespace leaves the connection and its other sockets as
// they are (socket.disconnect()).
func (s *Socket) Disconnect() {
	s.srv.enqueue(serverOp{kind: opDisconnect, s: s})
}
