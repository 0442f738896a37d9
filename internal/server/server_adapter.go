package server

// More than one server: the adapter.
//
// One server knows only its own clients. When ann, on server A, sends
// "chat" to everyone, bob on server B must get it too. socket.io's answer
// is an adapter: every broadcast is delivered here, as always, and also
// handed to the adapter, which passes it to the other servers (through
// Redis, say: package redisadapter); what the other servers pass on comes
// back in through Deliver… and reaches this server's clients as if one of
// them had emitted it, but is never passed on again.
//
//	ann ── chat ──→ server A ── its own clients
//	                   │ Adapter.Publish
//	                   ▼
//	                 Redis  ──→ server B: DeliverBroadcast ── its own clients
//	                        ──→ server C (Node socket.io)  ── its own clients
//
// The package knows no Redis: Adapter is the little it needs, and a
// program (cmd/miniio) connects it to a real one. The rule of the loop
// holds here too: whatever arrives from another server, on whatever
// goroutine, is queued and applied by the loop goroutine (server_emit.go),
// in order with the local emits.
//
// What crosses servers, as socket.io's adapters define it:
//
//	Emit, Broadcast().Emit, To(room), Except, nsp.Emit   broadcasts (not with Local())
//	ServerSideEmit, ServerSideEmitWithAck                 an event for the other servers, not their clients
//	SocketsJoin, SocketsLeave, DisconnectSockets          applied to the matching sockets on every server
//	FetchSockets                                          the matching sockets of every server, listed
//	DeliverBroadcastWithAck                               another server's io.timeout(ms).emit(…, callback):
//	                                                      our clients' answers go back to it
//
// Not here: a broadcast with acks started on this server (miniio has no
// such emit), bytes in a server-side emit or in a broadcast with acks,
// and the volatile flag (it travels, but every client gets the event).

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// AdapterBroadcast is one broadcast between servers: the event, and who
// gets it. A socket's id is a room with that socket in it, so
// socket.broadcast.emit is Except: [its id].
type AdapterBroadcast struct {
	Namespace   string            // "/" or "/admin"
	Event       string            // the event name
	Args        []json.RawMessage // the arguments, with {"_placeholder":true,"num":N} where bytes go
	Attachments [][]byte          // the bytes, in placeholder order
	Rooms       []string          // the members of these rooms; none: everyone in the namespace
	Except      []string          // but not the members of these
	Volatile    bool              // the sender does not mind if some clients miss it
}

// Selection picks sockets the way a broadcast does: the members of Rooms
// (every socket of the namespace when empty) but not those of Except.
type Selection struct {
	Rooms, Except []string
}

// RemoteSocket is a socket as FetchSockets lists it: enough to know who is
// where, whichever server holds it.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Rooms     []string        `json:"rooms"`     // its own id first, as socket.io lists them
	Handshake json.RawMessage `json:"handshake"` // address, auth, time, …, as socket.io's handshake object
	Data      json.RawMessage `json:"data,omitempty"`
}

// Adapter is what a server needs from the link to other servers. Its
// methods are called from any goroutine and must not block: they queue.
// Answers (answers, done) may come on any goroutine; the server moves
// them onto its loop.
type Adapter interface {
	// AddNamespace: broadcasts and requests of this namespace are wanted
	// from now on (called for "/" and every namespace Of makes).
	AddNamespace(nsp string)
	// Publish passes a broadcast to the other servers.
	Publish(b AdapterBroadcast) error
	// ServerSideEmit sends an event to the other servers of nsp. With
	// answers non-nil, it waits up to timeout for one answer from each
	// and calls answers once, with what came (and an error if some did
	// not answer in time).
	ServerSideEmit(nsp, event string, args []json.RawMessage, timeout time.Duration, answers func([]json.RawMessage, error)) error
	// The socket-set requests, for the other servers' sockets.
	SocketsJoin(nsp string, sel Selection, rooms []string) error
	SocketsLeave(nsp string, sel Selection, rooms []string) error
	DisconnectSockets(nsp string, sel Selection, close bool) error
	FetchSockets(nsp string, sel Selection, timeout time.Duration, done func([]RemoteSocket, error)) error
}

// ErrNoAdapter is what a cross-server request without an adapter would
// get; ServerSideEmit without one is quietly nothing, as in socket.io's
// in-memory adapter (there are no other servers to tell).
var ErrNoAdapter = errors.New("server: no adapter: this server is alone")

// adapterState is the server's side of the adapter: the adapter, and
// the server-side event handlers, per namespace.
type adapterState struct {
	a        Adapter
	mu       sync.Mutex
	handlers map[string]map[string][]ServerEventHandler // namespace → event → handlers

	// Work from other servers queued for the loop and not yet done. A
	// busy loop and a chatty cluster would otherwise grow the queue
	// without end; past MaxRemoteQueued, Deliver… refuses (ErrBusy).
	queued atomic.Int64
}

// MaxRemoteQueued is how many messages from other servers may wait for
// the event loop at once.
const MaxRemoteQueued = 4096

// ErrBusy is what Deliver… returns when MaxRemoteQueued messages from
// other servers are waiting for the loop already: this one is dropped.
var ErrBusy = errors.New("server: too many messages from other servers waiting for the event loop; dropped")

// state is the adapter state, made on first use.
func (srv *Server) state() *adapterState {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.adapter == nil {
		srv.adapter = &adapterState{handlers: make(map[string]map[string][]ServerEventHandler)}
	}
	return srv.adapter
}

// remote queues f, work that came from another server, for the loop, or
// refuses it when too much such work is waiting.
func (srv *Server) remote(f func()) error {
	st := srv.state()
	if st.queued.Add(1) > MaxRemoteQueued {
		st.queued.Add(-1)
		return ErrBusy
	}
	srv.run(func() {
		st.queued.Add(-1)
		f()
	})
	return nil
}

// ServerEventHandler runs for an event another server sent with
// serverSideEmit: io.on(event, (…args, callback) => …) in Node. reply is
// a no-op when the sender wants no answer; otherwise its first call
// answers (one value), later ones are ignored.
type ServerEventHandler func(args []json.RawMessage, reply func(v any) error)

// SetAdapter connects the server to other servers. Call it before Serve,
// after the namespaces the program uses were made (Of), or call Of later:
// a new namespace is announced to the adapter too.
func (srv *Server) SetAdapter(a Adapter) {
	st := srv.state()
	srv.mu.Lock()
	st.a = a
	names := make([]string, 0, len(srv.namespaces))
	for name := range srv.namespaces {
		names = append(names, name)
	}
	srv.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		a.AddNamespace(name)
	}
}

// adapterNow is the adapter, or nil.
func (srv *Server) adapterNow() Adapter {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.adapter == nil {
		return nil
	}
	return srv.adapter.a
}

// namespaceAdded tells the adapter about a namespace Of just made.
func (srv *Server) namespaceAdded(name string) {
	if a := srv.adapterNow(); a != nil {
		a.AddNamespace(name)
	}
}

// Local is the same receivers on this server only: io.local.emit(…).
// What is emitted through it is not passed to other servers.
func (e Emitter) Local() Emitter {
	e.local = true
	return e
}

// Local is everyone connected to "/" on this server only: io.local.
func (srv *Server) Local() Emitter { return Emitter{srv: srv, local: true} }

// Local is everyone in this namespace on this server only.
func (n *Namespace) Local() Emitter { return Emitter{srv: n.srv, nsp: n, local: true} }

// publish passes a broadcast just queued here to the other servers,
// unless it is local. The packet was encoded already: its text is read
// back into event and arguments, so that what the others get is exactly
// what this server's clients get.
func (e Emitter) publish(pkt *transport.Packet, atts []*transport.Packet) {
	if e.local {
		return
	}
	a := e.srv.adapterNow()
	if a == nil {
		return
	}
	p, err := wire.ParseSocketIO(pkt.Text())
	if err != nil {
		return // cannot happen: we encoded it
	}
	b := AdapterBroadcast{Namespace: e.namespace().name, Event: p.Event, Args: p.Args,
		Rooms: e.rooms, Except: e.exceptRooms}
	if e.except != nil {
		b.Except = append(b.Except[:len(b.Except):len(b.Except)], e.except.id)
	}
	for _, att := range atts {
		b.Attachments = append(b.Attachments, att.Text())
	}
	a.Publish(b) // a full queue is the adapter's to count and report
}

// namespaceNamed is the namespace of that name ("/admin"), or nil.
func (srv *Server) namespaceNamed(name string) *Namespace {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.namespaces[name]
}

// run queues f for the loop goroutine, in order with the emits.
func (srv *Server) run(f func()) { srv.enqueue(serverOp{kind: opRun, run: f}) }

// DeliverBroadcast hands this server a broadcast from another server: its
// clients that match get the event, and it goes no further. Any
// goroutine. An event this server could not send (too large, a bad
// argument, an unknown namespace) is refused with the reason.
func (srv *Server) DeliverBroadcast(b AdapterBroadcast) error {
	n := srv.namespaceNamed(b.Namespace)
	if n == nil {
		return fmt.Errorf("server: a broadcast for namespace %q, which this server does not have", b.Namespace)
	}
	if wire.IsReserved(b.Event) {
		return fmt.Errorf("server: a broadcast of the reserved event %q", b.Event)
	}
	if len(b.Attachments) > srv.opts.MaxAttachments {
		return fmt.Errorf("server: a broadcast with %d attachments", len(b.Attachments))
	}
	wp := wire.Packet{Engine: wire.Message, Socket: wire.Event, Namespace: n.wire, Event: b.Event, Args: b.Args, AckID: wire.NoAck}
	if len(b.Attachments) > 0 {
		wp.Socket, wp.Attachments = wire.BinaryEvent, len(b.Attachments)
	}
	pkt, err := transport.EncodePacket(func(dst []byte) ([]byte, error) { return wire.AppendPacket(dst, wp) })
	if err == nil {
		err = srv.checkSize(pkt)
	}
	if err != nil {
		return fmt.Errorf("server: a broadcast from another server: %w", err)
	}
	var atts []*transport.Packet
	for _, a := range b.Attachments {
		atts = append(atts, transport.NewPacket(a))
	}
	e := Emitter{srv: srv, nsp: n, rooms: b.Rooms, exceptRooms: b.Except, local: true}
	return srv.remote(func() { srv.broadcast(e, pkt, atts) })
}

// OnServerSideEmit registers a handler for an event other servers send
// to "/" with serverSideEmit: io.on("event", …) in Node.
func (srv *Server) OnServerSideEmit(event string, h ServerEventHandler) {
	srv.main.OnServerSideEmit(event, h)
}

// OnServerSideEmit registers a handler for an event other servers send
// to this namespace with serverSideEmit. Call it before Serve.
func (n *Namespace) OnServerSideEmit(event string, h ServerEventHandler) {
	st := n.srv.state()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.handlers[n.name] == nil {
		st.handlers[n.name] = make(map[string][]ServerEventHandler)
	}
	st.handlers[n.name][event] = append(st.handlers[n.name][event], h)
}

// DeliverServerSideEmit runs this server's handlers for an event another
// server sent. reply is nil when the sender wants no answer; otherwise
// it is called at most once, with the first handler's answer (none when
// no handler answers, as in socket.io: the sender then times out). Any
// goroutine; the handlers run on the loop.
func (srv *Server) DeliverServerSideEmit(nsp, event string, args []json.RawMessage, reply func(json.RawMessage)) error {
	st := srv.state()
	st.mu.Lock()
	hs := st.handlers[nsp][event]
	st.mu.Unlock()
	if len(hs) == 0 {
		return nil
	}
	return srv.remote(func() {
		answered := false
		answer := func(v any) error {
			if reply == nil || answered {
				return nil
			}
			js, err := json.Marshal(v)
			if err != nil {
				return err
			}
			answered = true
			reply(js)
			return nil
		}
		for _, h := range hs {
			h(args, answer)
		}
	})
}

// ServerSideEmit sends an event to the other servers of "/", not to any
// client: io.serverSideEmit(event, …).
func (srv *Server) ServerSideEmit(event string, args ...any) error {
	return srv.main.ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from
// each other server: io.timeout(ms).serverSideEmitWithAck(…). cb runs on
// the loop, once, with the answers (and an error when some server did
// not answer within timeout).
func (srv *Server) ServerSideEmitWithAck(event string, timeout time.Duration, cb func(answers []json.RawMessage, err error), args ...any) error {
	return srv.main.ServerSideEmitWithAck(event, timeout, cb, args...)
}

// ServerSideEmit sends an event to the other servers of this namespace.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	return n.serverSideEmit(event, 0, nil, args)
}

// ServerSideEmitWithAck: see Server.ServerSideEmitWithAck.
func (n *Namespace) ServerSideEmitWithAck(event string, timeout time.Duration, cb func(answers []json.RawMessage, err error), args ...any) error {
	if cb == nil {
		return errors.New("server: ServerSideEmitWithAck needs a callback")
	}
	if timeout <= 0 {
		return errors.New("server: ServerSideEmitWithAck needs a timeout")
	}
	return n.serverSideEmit(event, timeout, cb, args)
}

func (n *Namespace) serverSideEmit(event string, timeout time.Duration, cb func([]json.RawMessage, error), args []any) error {
	if event == "" || wire.IsReserved(event) {
		return fmt.Errorf("server: %q cannot be emitted to other servers", event)
	}
	raw, err := rawArgs(args)
	if err != nil {
		return err
	}
	srv := n.srv
	a := srv.adapterNow()
	if a == nil {
		if cb != nil {
			srv.run(func() { cb([]json.RawMessage{}, nil) }) // no other server, no answer to wait for
		}
		return nil
	}
	var answers func([]json.RawMessage, error)
	if cb != nil {
		answers = func(got []json.RawMessage, err error) { srv.run(func() { cb(got, err) }) }
	}
	return a.ServerSideEmit(n.name, event, raw, timeout, answers)
}

// rawArgs turns emit arguments into JSON values (json.RawMessage ones
// are kept as they are). Bytes do not cross servers in a server-side
// emit here.
func rawArgs(args []any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		if hasBytes([]any{a}) {
			return nil, errors.New("server: binary arguments are not sent to other servers")
		}
		js, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("server: argument %d: %w", i+1, err)
		}
		out[i] = js
	}
	return out, nil
}

// selection is the Emitter's receivers as a Selection, the socket
// left out by Broadcast() included.
func (e Emitter) selection() Selection {
	sel := Selection{Rooms: e.rooms, Except: e.exceptRooms}
	if e.except != nil {
		sel.Except = append(sel.Except[:len(sel.Except):len(sel.Except)], e.except.id)
	}
	return sel
}

// SocketsJoin makes the receivers join the rooms, on every server:
// io.in(room).socketsJoin(rooms).
func (e Emitter) SocketsJoin(rooms ...string) error {
	e.srv.run(func() {
		for _, s := range e.srv.selected(e) {
			for _, r := range rooms {
				s.Join(r)
			}
		}
	})
	if a := e.srv.adapterNow(); a != nil && !e.local {
		return a.SocketsJoin(e.namespace().name, e.selection(), rooms)
	}
	return nil
}

// SocketsLeave makes the receivers leave the rooms, on every server.
func (e Emitter) SocketsLeave(rooms ...string) error {
	e.srv.run(func() {
		for _, s := range e.srv.selected(e) {
			for _, r := range rooms {
				s.Leave(r)
			}
		}
	})
	if a := e.srv.adapterNow(); a != nil && !e.local {
		return a.SocketsLeave(e.namespace().name, e.selection(), rooms)
	}
	return nil
}

// DisconnectSockets disconnects the receivers, on every server; with
// close, their whole connection ends (for a socket of "/" it does anyway).
func (e Emitter) DisconnectSockets(close bool) error {
	e.srv.run(func() {
		for _, s := range e.srv.selected(e) {
			s.disconnectFor(close)
		}
	})
	if a := e.srv.adapterNow(); a != nil && !e.local {
		return a.DisconnectSockets(e.namespace().name, e.selection(), close)
	}
	return nil
}

// FetchSockets lists the receivers, on every server:
// io.in(room).fetchSockets(). cb runs on the loop, once; err says when a
// server did not answer within timeout (the list then holds the others').
func (e Emitter) FetchSockets(timeout time.Duration, cb func([]RemoteSocket, error)) error {
	if cb == nil {
		return errors.New("server: FetchSockets needs a callback")
	}
	srv := e.srv
	srv.run(func() {
		local := srv.fetched(e)
		a := srv.adapterNow()
		if a == nil || e.local {
			cb(local, nil)
			return
		}
		err := a.FetchSockets(e.namespace().name, e.selection(), timeout, func(remote []RemoteSocket, err error) {
			srv.run(func() { cb(append(local, remote...), err) })
		})
		if err != nil {
			cb(local, err)
		}
	})
	return nil
}

// disconnectFor is Disconnect, with close ending the whole connection
// of a socket of another namespace.
func (s *Socket) disconnectFor(close bool) {
	if close && s.nsp != nil {
		s.session().Disconnect()
		return
	}
	s.Disconnect()
}

// selected is the connected sockets the Emitter reaches here, each
// once. Loop goroutine only.
func (srv *Server) selected(e Emitter) []*Socket {
	n := e.namespace()
	var out []*Socket
	if len(e.rooms) == 0 {
		for _, t := range n.sockets {
			if srv.receives(e, t) {
				out = append(out, t)
			}
		}
		return out
	}
	srv.gen++
	pick := func(t *Socket) {
		if t.gen != srv.gen && srv.receives(e, t) {
			t.gen = srv.gen
			out = append(out, t)
		}
	}
	for _, room := range e.rooms {
		for t := range n.rooms[room] {
			pick(t)
		}
		if t := n.byID[room]; t != nil {
			pick(t)
		}
	}
	return out
}

// fetched describes the selected sockets. Loop goroutine only.
func (srv *Server) fetched(e Emitter) []RemoteSocket {
	out := []RemoteSocket{}
	for _, s := range srv.selected(e) {
		auth := s.Auth()
		if len(auth) == 0 {
			auth = json.RawMessage("{}")
		}
		hs, _ := json.Marshal(map[string]any{
			"address": s.Peer(), "auth": auth, "headers": map[string]string{}, "query": map[string]string{},
			"secure": false, "xdomain": false, "url": "/socket.io/",
		})
		out = append(out, RemoteSocket{ID: s.id, Rooms: append([]string{s.id}, s.Rooms()...), Handshake: hs})
	}
	return out
}

// selector is the Emitter another server's Selection stands for here.
func (srv *Server) selector(nsp string, sel Selection) (Emitter, bool) {
	n := srv.namespaceNamed(nsp)
	if n == nil {
		return Emitter{}, false
	}
	return Emitter{srv: srv, nsp: n, rooms: sel.Rooms, exceptRooms: sel.Except, local: true}, true
}

// DeliverSocketsJoin applies another server's socketsJoin to this
// server's sockets. Any goroutine.
func (srv *Server) DeliverSocketsJoin(nsp string, sel Selection, rooms []string) error {
	return srv.deliverToSockets(nsp, sel, func(s *Socket) {
		for _, r := range rooms {
			s.Join(r)
		}
	})
}

// DeliverSocketsLeave applies another server's socketsLeave here.
func (srv *Server) DeliverSocketsLeave(nsp string, sel Selection, rooms []string) error {
	return srv.deliverToSockets(nsp, sel, func(s *Socket) {
		for _, r := range rooms {
			s.Leave(r)
		}
	})
}

// DeliverDisconnectSockets applies another server's disconnectSockets
// here.
func (srv *Server) DeliverDisconnectSockets(nsp string, sel Selection, close bool) error {
	return srv.deliverToSockets(nsp, sel, func(s *Socket) { s.disconnectFor(close) })
}

// deliverToSockets runs f, on the loop, for each socket sel picks here.
func (srv *Server) deliverToSockets(nsp string, sel Selection, f func(*Socket)) error {
	e, ok := srv.selector(nsp, sel)
	if !ok {
		return nil // a namespace this server does not have: none of its sockets
	}
	return srv.remote(func() {
		for _, s := range srv.selected(e) {
			f(s)
		}
	})
}

// DeliverFetchSockets answers another server's fetchSockets: done gets
// this server's matching sockets, on the loop goroutine.
func (srv *Server) DeliverFetchSockets(nsp string, sel Selection, done func([]RemoteSocket)) error {
	e, ok := srv.selector(nsp, sel)
	if !ok {
		done([]RemoteSocket{})
		return nil
	}
	return srv.remote(func() { done(srv.fetched(e)) })
}

// DeliverRooms answers another server's allRooms: done gets every room
// of the namespace here, socket ids included (as socket.io counts them),
// on the loop goroutine.
func (srv *Server) DeliverRooms(nsp string, done func([]string)) error {
	n := srv.namespaceNamed(nsp)
	if n == nil {
		done([]string{})
		return nil
	}
	return srv.remote(func() {
		rooms := make([]string, 0, len(n.rooms)+len(n.sockets))
		for r := range n.rooms {
			rooms = append(rooms, r)
		}
		for _, s := range n.sockets {
			rooms = append(rooms, s.id)
		}
		sort.Strings(rooms)
		done(rooms)
	})
}

// DeliverBroadcastWithAck hands this server another server's broadcast
// whose clients answer (io.timeout(ms).emit(event, …, callback) in
// Node): count hears how many local clients got it, at once; ack hears
// each client's answer (its first value), as it comes within timeout.
// Both run on the loop goroutine. Arguments with bytes are not carried
// here.
func (srv *Server) DeliverBroadcastWithAck(b AdapterBroadcast, timeout time.Duration, count func(int), ack func(json.RawMessage)) error {
	if len(b.Attachments) > 0 {
		return errors.New("server: a broadcast with acks and binary attachments from another server is not supported")
	}
	if b.Event == "" || wire.IsReserved(b.Event) {
		return fmt.Errorf("server: a broadcast with acks of the event %q", b.Event)
	}
	if timeout <= 0 {
		return errors.New("server: a broadcast with acks needs a timeout")
	}
	e, ok := srv.selector(b.Namespace, Selection{Rooms: b.Rooms, Except: b.Except})
	if !ok {
		return fmt.Errorf("server: a broadcast for namespace %q, which this server does not have", b.Namespace)
	}
	args := make([]any, len(b.Args))
	for i, a := range b.Args {
		args[i] = a
	}
	return srv.remote(func() {
		sockets := srv.selected(e)
		count(len(sockets))
		for _, s := range sockets {
			s.EmitWithAck(b.Event, timeout, func(answer []json.RawMessage, err error) {
				if err != nil {
					return // no answer in time: the asker's own timeout says so
				}
				first := json.RawMessage("null")
				if len(answer) > 0 {
					first = answer[0]
				}
				ack(first)
			}, args...)
		}
	})
}
