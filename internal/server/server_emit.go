package server

import (
	"encoding/json"
	"fmt"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// Emitting, and why it goes through a queue.
//
// Only the loop goroutine may touch a connection's output buffer, the
// rooms, and the list of sockets. A handler runs on that goroutine, so it
// could write directly; a goroutine of the program's own (a timer, a
// database callback) could not. Go gives a function no cheap way to ask
// "which goroutine am I on?", so every emit takes the same road:
//
//  1. the packet is encoded at once, on the caller's goroutine (so the
//     arguments may change afterwards without harm, and an encoding
//     error is returned to the caller);
//  2. the packet and its target go on the queue, under a mutex;
//  3. the loop works through the queue (Server.drain) as soon as the
//     handler it is running returns. When the queue was filled from
//     elsewhere while the loop was waiting in epoll_wait, the emitter
//     wakes it with Post.
//
// Emits are delivered in the order they were made, so a handler that
// joins a room and then emits to it reaches itself too.
//
// A broadcast encodes its packet once, and the transport frames it once
// per envelope kind; every receiver's output queue gets the same bytes (the loop keeps the slice and writes from it, it never
// copies it), so sending to a thousand sockets costs one encoding and a
// thousand small appends.

type opKind uint8

const (
	opSend       opKind = iota // packet to s
	opAsk                      // packet to s, and wait for its ack
	opBroadcast                // packet to a scope (an Emitter)
	opJoin                     // s joins room
	opLeave                    // s leaves room
	opDisconnect               // the server ends s's session
	opRun                      // run a function on the loop (server_adapter.go)
)

type serverOp struct {
	kind    opKind
	s       *Socket
	pkt     *transport.Packet
	atts    []*transport.Packet // a binary packet's attachments, sent after pkt
	room    string
	scope   Emitter
	ackID   int
	event   string
	cb      func([]json.RawMessage, error)
	bcb     func(BinaryArgs, error) // instead of cb: EmitWithAckBinary
	timeout time.Duration
	run     func()
}

// enqueue adds an op, waking the loop if it is not going to look at the
// queue by itself.
func (srv *Server) enqueue(op serverOp) {
	srv.mu.Lock()
	srv.queue = append(srv.queue, op)
	var wake eventLoop
	if !srv.dispatching && !srv.wakePosted && srv.loop != nil {
		srv.wakePosted = true
		wake = srv.loop
	}
	srv.mu.Unlock()
	if wake != nil {
		wake.Post(srv.drainPosted)
	}
}

// checkSize refuses a packet the client would refuse: a client takes the
// server's maxPayload as its own limit too (it came in the OPEN packet).
func (srv *Server) checkSize(p *transport.Packet) error {
	if n := p.Len(); n > srv.opts.MaxPayload {
		return fmt.Errorf("packet of %d bytes exceeds maxPayload %d", n, srv.opts.MaxPayload)
	}
	return nil
}

// enter is called by the loop goroutine before it runs any handler: emits
// made from now on need not wake it.
func (srv *Server) enter() {
	srv.mu.Lock()
	srv.dispatching = true
	srv.mu.Unlock()
}

// drainPosted is what a waking Post runs.
func (srv *Server) drainPosted() {
	srv.mu.Lock()
	srv.wakePosted = false
	srv.dispatching = true
	srv.mu.Unlock()
	srv.drain()
}

// drain applies every queued op, including those the ops themselves cause
// (a slow consumer's disconnect handler emitting "user left"), and then
// tells emitters on other goroutines to wake the loop again. Loop
// goroutine only.
func (srv *Server) drain() {
	for {
		srv.mu.Lock()
		ops := srv.queue
		if len(ops) == 0 {
			srv.dispatching = false
			srv.mu.Unlock()
			return
		}
		srv.queue = srv.spare[:0]
		srv.mu.Unlock()
		for i := range ops {
			srv.apply(&ops[i])
			ops[i] = serverOp{} // let the packets go as soon as they are written
		}
		srv.spare = ops[:0]
	}
}

func (srv *Server) apply(op *serverOp) {
	s := op.s
	switch op.kind {
	case opSend:
		s.sendAll(op.pkt, op.atts)
	case opAsk:
		srv.ask(op)
	case opBroadcast:
		srv.broadcast(op.scope, op.pkt, op.atts)
	case opJoin:
		srv.join(s, op.room)
	case opLeave:
		srv.leave(s, op.room)
	case opRun:
		op.run()
	case opDisconnect:
		if s.state == stateConnected {
			s.send(s.namespace().disconnectPacket)
		}
		if s.nsp != nil {
			s.leaveNamespace(wire.ReasonServerDisconnect)
		} else {
			s.closeWith(wire.ReasonServerDisconnect)
		}
	}
}

// ask sends an event that wants an answer and remembers whom to tell.
func (srv *Server) ask(op *serverOp) {
	s := op.s
	pa := &pendingAck{event: op.event, cb: op.cb, bcb: op.bcb}
	if s.state != stateConnected {
		pa.fail(wire.ErrDisconnected)
		return
	}
	if op.timeout > 0 {
		id, event, timeout := op.ackID, op.event, op.timeout
		pa.timer = srv.after(timeout, func() {
			if s.acks[id] == pa {
				delete(s.acks, id)
				pa.fail(&wire.AckTimeoutError{Event: event, Timeout: timeout})
			}
		})
	}
	if s.acks == nil {
		s.acks = make(map[int]*pendingAck)
	}
	s.acks[op.ackID] = pa
	s.sendAll(op.pkt, op.atts)
}

func (srv *Server) join(s *Socket, room string) {
	if s.state != stateConnected && s.state != stateOpen {
		return
	}
	n := s.namespace()
	members := n.rooms[room]
	if members == nil {
		members = make(map[*Socket]struct{})
		n.rooms[room] = members
	}
	members[s] = struct{}{}
	if s.rooms == nil {
		s.rooms = make(map[string]struct{})
	}
	s.rooms[room] = struct{}{}
}

func (srv *Server) leave(s *Socket, room string) {
	delete(s.rooms, room)
	n := s.namespace()
	if members := n.rooms[room]; members != nil {
		delete(members, s)
		if len(members) == 0 {
			delete(n.rooms, room)
		}
	}
}

// Emitter is a set of receivers for one emit: everyone, or the members
// of some rooms, minus the members of others, minus one socket. It is
// socket.io's BroadcastOperator: srv.To("a").Except("b").Emit(…).
// Emitters are values; each method returns a new one.
type Emitter struct {
	srv         *Server
	nsp         *Namespace // nil: the main namespace
	except      *Socket
	rooms       []string // empty: every connected socket
	exceptRooms []string
	local       bool // this server's clients only, not passed to other servers (server_adapter.go)
}

// To narrows the receivers to the room's members (and those of the rooms
// already named).
func (e Emitter) To(room string) Emitter {
	e.rooms = append(e.rooms[:len(e.rooms):len(e.rooms)], room)
	return e
}

// Except leaves out the room's members.
func (e Emitter) Except(room string) Emitter {
	e.exceptRooms = append(e.exceptRooms[:len(e.exceptRooms):len(e.exceptRooms)], room)
	return e
}

// Emit sends the event to every receiver. The packet is encoded once,
// and framed once per envelope kind (package transport).
//
// With []byte arguments it is a BINARY_EVENT, whose attachments only an
// envelope that carries binary can deliver (server_binary.go): receivers
// on miniio's TCP frames, which carry text only, do not get it. Emit
// cannot tell the caller who those are, since the receivers are known
// only when the loop applies the emit; a socket's own Emit can, and
// refuses.
func (e Emitter) Emit(event string, args ...any) error {
	pkt, atts, err := e.srv.encodeEvent(e.namespace().wire, wire.NoAck, event, args)
	if err != nil {
		return err
	}
	e.srv.enqueue(serverOp{kind: opBroadcast, scope: e, pkt: pkt, atts: atts})
	e.publish(pkt, atts) // and to the other servers, if there are any
	return nil
}

func (e Emitter) namespace() *Namespace {
	if e.nsp == nil {
		return e.srv.main
	}
	return e.nsp
}

// Emit sends the event to every socket connected to "/": io.emit(…),
// also written io.sockets.emit(…).
func (srv *Server) Emit(event string, args ...any) error {
	return Emitter{srv: srv}.Emit(event, args...)
}

// To is the members of the room of "/": io.to(room).
func (srv *Server) To(room string) Emitter { return Emitter{srv: srv}.To(room) }

// Except is everyone connected to "/" but the room's members:
// io.except(room).
func (srv *Server) Except(room string) Emitter { return Emitter{srv: srv}.Except(room) }

// broadcast sends one packet to every receiver of the scope. Loop only.
func (srv *Server) broadcast(e Emitter, pkt *transport.Packet, atts []*transport.Packet) {
	n := e.namespace()
	if len(e.rooms) == 0 {
		// Backwards, because a send can end a slow consumer, which takes it
		// out of n.sockets by moving the last one into its place: that
		// one has been visited already.
		for i := len(n.sockets) - 1; i >= 0; i-- {
			if i >= len(n.sockets) {
				continue // a disconnect handler ended more than one
			}
			if t := n.sockets[i]; srv.receives(e, t) {
				t.sendAll(pkt, atts)
			}
		}
		return
	}
	// Rooms may overlap: gen marks who got this broadcast already.
	srv.gen++
	for _, room := range e.rooms {
		for t := range n.rooms[room] { // deleting while ranging is allowed
			srv.sendOnce(e, t, pkt, atts)
		}
		if t := n.byID[room]; t != nil {
			srv.sendOnce(e, t, pkt, atts)
		}
	}
}

func (srv *Server) sendOnce(e Emitter, t *Socket, pkt *transport.Packet, atts []*transport.Packet) {
	if t.gen == srv.gen || !srv.receives(e, t) {
		return
	}
	t.gen = srv.gen
	t.sendAll(pkt, atts)
}

// receives says whether t is a receiver of e, rooms aside.
func (srv *Server) receives(e Emitter, t *Socket) bool {
	if t == e.except || t.state != stateConnected {
		return false
	}
	for _, r := range e.exceptRooms {
		if _, in := t.rooms[r]; in || r == t.id {
			return false
		}
	}
	return true
}
