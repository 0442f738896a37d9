package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// Namespaces: several sockets on one connection.
//
// A page that calls io("/") and io("/admin") opens one connection and
// two sockets on it. Every packet names its namespace, written right
// after the type (`42/admin,["x"]`; the main namespace "/" is written as
// nothing), and the server hands it to that namespace's socket:
//
//	connection (one OPEN, one heartbeat, one CLOSE)
//	  ├── socket in "/"       id = the OPEN's sid   rooms of "/"
//	  └── socket in "/admin"  an id of its own      rooms of "/admin"
//
// Each namespace has its own connection handlers, middleware, connected
// sockets and rooms, so a room "lobby" in "/" and one in "/admin" are two
// rooms. The connection's record is the socket of "/" (what OnOpen,
// OnPacket and OnClose get, and what server.go calls the session); it
// exists from accept on, connected to "/" or not, and keeps the sockets
// of the other namespaces it joined.
//
// Leaving: `41/admin,` (or the server's Disconnect on that socket) ends
// the "/admin" socket only. `41` for "/" ends the connection and every
// socket on it, as it did before namespaces existed (socket.io would keep
// the other namespaces open; miniio's TCP clients only ever use "/", and
// for them leaving "/" is leaving).
//
// A CONNECT to a namespace nobody registered gets
// `44/random,{"message":"Invalid namespace"}` and the connection stays,
// as in socket.io; so does a CONNECT to another namespace that its
// middleware refuses. A refusal in "/" is followed by CLOSE (DESIGN.md:
// CONNECT_ERROR, then close), since "/" is what a miniio client came for.

// Namespace is one namespace of the server: socket.io's io.of("/admin").
// Get it with Server.Of; the Server's own OnConnection, Use, Emit, To and
// Except are those of the main namespace "/".
type Namespace struct {
	srv  *Server
	name string // "/" or "/admin"
	wire string // as written in packets: "" for "/"

	connectionHandlers []func(*Socket)
	middleware         []func(s *Socket, auth json.RawMessage) error

	// Owned by the loop goroutine.
	sockets []*Socket                       // connected ones: broadcasts go here
	byID    map[string]*Socket              // connected ones by id: To(id) reaches one socket
	rooms   map[string]map[*Socket]struct{} // room name → members
	// The event names the last connected socket registered handlers for,
	// shared by the next one as long as it registers the same (see On).
	handlerNames []string

	disconnectPacket *transport.Packet // `41/admin,`, the same for every socket
}

func newNamespace(srv *Server, name string) *Namespace {
	n := &Namespace{
		srv:   srv,
		name:  name,
		byID:  make(map[string]*Socket),
		rooms: make(map[string]map[*Socket]struct{}),
	}
	if name != "/" {
		n.wire = name
	}
	bye, err := wire.AppendDisconnectFrom(nil, n.wire)
	if err != nil {
		panic(fmt.Sprintf("server: Of(%q): %v", name, err))
	}
	n.disconnectPacket = transport.NewPacket(bye)
	return n
}

// Of returns the namespace of that name, made on first use:
// io.of("/admin"). A name without its leading '/' gets one; "" is "/".
// A name that cannot be written in a packet (a comma, a space, longer
// than wire.MaxNamespaceLen) is a mistake in the program, reported by a
// panic. Safe from any goroutine; register its handlers (OnConnection,
// Use) before Serve, as for the server's own.
func (srv *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	n, made := func() (*Namespace, bool) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if n := srv.namespaces[name]; n != nil {
			return n, false
		}
		n := newNamespace(srv, name)
		srv.namespaces[name] = n
		return n, true
	}()
	if made {
		srv.namespaceAdded(name) // the adapter subscribes to it (server_adapter.go)
	}
	return n
}

// lookup is the namespace a CONNECT names ("" is "/"), or nil when the
// program registered none of that name.
func (srv *Server) lookup(wireName string) *Namespace {
	if wireName == "" {
		return srv.main
	}
	srv.mu.Lock()
	n := srv.namespaces[wireName]
	srv.mu.Unlock()
	return n
}

// Name is the namespace's name, "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// OnConnection registers f to run for every socket that completes CONNECT
// to this namespace: nsp.on("connection", socket => …). Call it before
// Serve.
func (n *Namespace) OnConnection(f func(s *Socket)) {
	n.connectionHandlers = append(n.connectionHandlers, f)
}

// On is OnConnection spelled the socket.io way: On("connection", f).
// "connect" is accepted too, as in socket.io. Any other name is a mistake
// in the program, reported by a panic at start-up.
func (n *Namespace) On(event string, f func(s *Socket)) {
	if event != "connection" && event != "connect" {
		panic(fmt.Sprintf("server: On(%q) on namespace %s: a namespace only has the \"connection\" event; events come from sockets (Socket.On)", event, n.name))
	}
	n.OnConnection(f)
}

// Use adds a check that runs on every CONNECT to this namespace before
// the socket is let in, with the CONNECT's auth object (nil when the
// client sent none): nsp.use((socket, next) => …). An error refuses the
// client with CONNECT_ERROR and the error's text (`44/admin,{"message":…}`);
// in "/" the connection is then closed, in other namespaces it stays.
func (n *Namespace) Use(check func(s *Socket, auth json.RawMessage) error) {
	n.middleware = append(n.middleware, check)
}

// Emit sends the event to every socket connected to this namespace:
// nsp.emit(…).
func (n *Namespace) Emit(event string, args ...any) error {
	return Emitter{srv: n.srv, nsp: n}.Emit(event, args...)
}

// To is the members of the room in this namespace: nsp.to(room).
func (n *Namespace) To(room string) Emitter { return Emitter{srv: n.srv, nsp: n}.To(room) }

// Except is everyone in this namespace but the room's members.
func (n *Namespace) Except(room string) Emitter { return Emitter{srv: n.srv, nsp: n}.Except(room) }

// namespace is the socket's namespace (nil in the field means "/", which
// saves every connection a pointer).
func (s *Socket) namespace() *Namespace {
	if s.nsp == nil {
		return s.srv.main
	}
	return s.nsp
}

// Namespace is the namespace the socket is connected to: socket.nsp.
func (s *Socket) Namespace() *Namespace { return s.namespace() }

// session is the record of the socket's connection: the socket of "/",
// which is s itself for a socket of "/".
func (s *Socket) session() *Socket {
	if s.nsp == nil {
		return s
	}
	return s.c.Context.(*Socket)
}

// child is the session's socket in the namespace written as wireName, or
// nil when it has none (any more).
func (s *Socket) child(wireName string) *Socket {
	if s.rare == nil {
		return nil
	}
	for _, c := range s.rare.children {
		if c.nsp.wire == wireName {
			return c
		}
	}
	return nil
}

// connectTo handles a CONNECT to a namespace other than "/": a socket of
// its own on this connection, or a refusal that leaves the connection
// as it is.
func (s *Socket) connectTo(wireName string, auth json.RawMessage) {
	n := s.srv.lookup(wireName)
	if n == nil {
		s.refuse(wireName, "Invalid namespace")
		return
	}
	if s.child(wireName) != nil {
		s.closeWith(wire.ReasonProtocolError + ": second CONNECT to " + wireName)
		return
	}
	c := &Socket{srv: s.srv, c: s.c, nsp: n, index: -1, id: newID()}
	for _, check := range n.middleware {
		if err := check(c, auth); err != nil {
			s.refuse(wireName, err.Error())
			return
		}
		if s.state >= stateClosing {
			return // the check ended the connection itself
		}
	}
	stop(&s.connectTimer)
	r := s.rarePart()
	r.children = append(r.children, c)
	c.admit(auth)
}

// refuse sends CONNECT_ERROR for the namespace written as wireName.
func (s *Socket) refuse(wireName, message string) {
	text, err := wire.AppendConnectErrorTo(nil, wireName, message)
	if err != nil { // cannot happen: the name came from a packet that parsed
		s.closeWith(wire.ReasonProtocolError + ": " + err.Error())
		return
	}
	s.send(transport.NewPacket(text))
}

// admit makes a socket that passed its namespace's middleware connected:
// in the namespace's lists, told its id, handed to the connection
// handlers.
func (s *Socket) admit(auth json.RawMessage) {
	n := s.namespace()
	if len(auth) > 0 {
		s.rarePart().auth = append(json.RawMessage(nil), auth...)
	}
	s.state = stateConnected
	// The connection handlers are about to register this socket's event
	// handlers. Sockets of one namespace usually register the same events
	// in the same order, so the socket starts with the list of names the
	// last socket ended up with (shared, not copied: On copies it only
	// where this socket differs) and room for as many functions. Ten
	// handlers then cost an idle connection 80 bytes (one function each)
	// instead of 240 for a name and a function each, and growing by
	// doubling would have kept room for sixteen.
	if s.handlerFns == nil && len(n.handlerNames) > 0 {
		s.handlerNames = n.handlerNames
		s.handlerFns = make([]eventHandler, 0, len(n.handlerNames))
	}
	s.index = int32(len(n.sockets))
	n.sockets = append(n.sockets, s)
	n.byID[s.id] = s
	s.srv.connected.Add(1)
	welcome, _ := wire.AppendConnectTo(nil, n.wire, json.RawMessage(`{"sid":`+strconv.Quote(s.id)+`}`))
	s.send(transport.NewPacket(welcome))
	for _, h := range n.connectionHandlers {
		if s.state != stateConnected {
			return
		}
		h(s)
	}
	// The next socket starts from this one's names, cut to their length so
	// that nobody can append into this socket's spare room.
	k := len(s.handlerFns)
	n.handlerNames = s.handlerNames[:k:k]
}

// leaveNamespace ends a socket of a namespace other than "/", and only
// it: the connection and its other sockets go on.
func (s *Socket) leaveNamespace(reason string) {
	if s.state >= stateClosing {
		return
	}
	s.state = stateClosing
	sess := s.session()
	if r := sess.rare; r != nil {
		for i, c := range r.children {
			if c == s {
				r.children = append(r.children[:i], r.children[i+1:]...)
				break
			}
		}
	}
	s.detach(reason)
	s.state = stateClosed
}
