package server

// Namespaces on the stand-in loop: CONNECT to one, refused ones, several
// on one connection, leaving one, rooms and broadcasts per namespace.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"socklab/internal/wire"
)

// nspServer has the handlers of socket.io's conformance profile: "auth"
// echoes the CONNECT's auth object, in "/" and in "/custom"; both echo
// "echo" as an ack and "room" joins a room.
func nspServer(t *testing.T, opts ServerOptions) (*Server, *fakeLoop) {
	srv, loop := newFakeServer(t, opts)
	handlers := func(s *Socket) {
		auth := s.Auth()
		if auth == nil {
			auth = json.RawMessage(`{}`)
		}
		s.Emit("auth", auth)
		s.On("echo", func(args []json.RawMessage, ack func(...any) error) { ack(raw(args)...) })
		s.On("room", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			json.Unmarshal(args[0], &room)
			s.Join(room)
			ack(s.Namespace().Name(), s.Rooms())
		})
	}
	srv.OnConnection(handlers)
	srv.Of("custom").OnConnection(handlers) // the '/' is added
	return srv, loop
}

func raw(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// joinNsp sends CONNECT for nsp on c and returns the new socket's id.
// Frames c got before are dropped.
func joinNsp(t *testing.T, c *fakeConn, connect, nsp string) string {
	t.Helper()
	c.frames(t)
	c.send(connect)
	f := c.frames(t)
	var sid string
	if len(f) == 0 || !sscan(strings.TrimPrefix(f[0], "40"+nsp+",")+"", `{"sid":%q}`, &sid) {
		t.Fatalf("%s answered %q, want 40%s,{\"sid\":…} first", connect, f, nsp)
	}
	c.pending = f[1:]
	return sid
}

func TestNamespaceConnect(t *testing.T) {
	srv, loop := nspServer(t, ServerOptions{ConnectTimeout: 5 * time.Second})
	for _, connect := range []string{`40/custom,{"token":"abc"}`, `40/custom,`, `40/custom`} {
		c := dial(t, srv)
		sid := joinNsp(t, c, connect, "/custom")
		if sid == c.s.ID() || len(sid) != 12 {
			t.Errorf("%s: socket id %q; want one of its own, not the connection's %q", connect, sid, c.s.ID())
		}
		want := `42/custom,["auth",{}]`
		if strings.Contains(connect, "token") {
			want = `42/custom,["auth",{"token":"abc"}]`
		}
		expectFrames(t, c, want)
		c.send(`42/custom,7["echo","hi"]`)
		expectFrames(t, c, `43/custom,7["hi"]`)
		// Joining a namespace is joining: the connect timeout is off.
		loop.advance(10 * time.Second)
		if c.closed {
			t.Fatalf("%s: closed by the connect timeout after joining /custom", connect)
		}
		// "/" was never joined: its events are refused.
		c.send(`42["echo"]`)
		expectClosed(t, c, "protocol error: EVENT before CONNECT")
	}
}

func TestNamespaceRefused(t *testing.T) {
	srv, loop := nspServer(t, ServerOptions{ConnectTimeout: 5 * time.Second})
	srv.Of("/admin").Use(TokenAuth("s3cret"))
	srv.Of("/admin").OnConnection(func(s *Socket) { s.Emit("hello") })
	c := dial(t, srv)
	c.send(`40/random`, `40/random,{"token":"x"}`, `40/admin,{"token":"wrong"}`)
	expectFrames(t, c,
		`44/random,{"message":"Invalid namespace"}`,
		`44/random,{"message":"Invalid namespace"}`,
		`44/admin,{"message":"not authorized"}`)
	if c.closed {
		t.Fatal("a refused namespace closed the connection")
	}
	c.send(`40/admin,{"token":"s3cret"}`)
	f := c.frames(t)
	if len(f) != 2 || !strings.HasPrefix(f[0], `40/admin,{"sid":"`) || f[1] != `42/admin,["hello"]` {
		t.Fatalf("right token: %q", f)
	}
	c.send(`40/admin,{"token":"s3cret"}`)
	expectClosed(t, c, "protocol error: second CONNECT to /admin")

	// Refusals do not count as joining: the connect timeout still runs.
	idle := dial(t, srv)
	idle.send(`40/random,`)
	idle.frames(t)
	loop.advance(6 * time.Second)
	expectClosed(t, idle, "connect timeout")
}

func TestNamespaceMultiplexed(t *testing.T) {
	srv, loop := nspServer(t, ServerOptions{})
	var custom *Socket
	srv.Of("/custom").OnConnection(func(s *Socket) { custom = s })
	c := join(t, srv)
	expectFrames(t, c, `42["auth",{}]`)
	sid := joinNsp(t, c, `40/custom,{"k":1}`, "/custom")
	expectFrames(t, c, `42/custom,["auth",{"k":1}]`)
	if sid == c.s.ID() || custom.ID() != sid || custom.Namespace().Name() != "/custom" || c.s.Namespace().Name() != "/" {
		t.Fatalf("ids: connection %s, custom %s (socket says %s)", c.s.ID(), sid, custom.ID())
	}
	if custom.Peer() != c.s.Peer() || custom.FD() != c.s.FD() {
		t.Fatal("the two sockets are not on the same connection")
	}
	c.send(`421["echo","main"]`, `42/custom,2["echo","custom"]`, `423["echo"]`)
	expectFrames(t, c, `431["main"]`, `43/custom,2["custom"]`, `433[]`)

	// The server asks, in /custom, and the answer comes back there.
	var got string
	custom.EmitWithAck("q", time.Second, func(args []json.RawMessage, err error) { got = fmt.Sprintf("%s %v", args[0], err) }, 1)
	loop.runPosted()
	expectFrames(t, c, `42/custom,0["q",1]`)
	c.send(`430["not this one"]`) // an ACK in "/" does not answer /custom's question
	c.send(`43/custom,0["yes"]`)
	if got != `"yes" <nil>` {
		t.Fatalf("ack callback got %q", got)
	}

	// One connection, one heartbeat: a single PING, whatever the number of
	// namespaces.
	loop.advance(srv.Options().PingInterval)
	expectFrames(t, c, "2")
	if srv.Stats().Conns != 1 || srv.Stats().Connected != 2 {
		t.Fatalf("stats %+v, want 1 connection and 2 sockets", srv.Stats())
	}
}

func TestNamespaceDisconnectOne(t *testing.T) {
	srv, _ := nspServer(t, ServerOptions{})
	var log []string
	srv.Of("/custom").OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r string) { log = append(log, "custom: "+r) })
		s.On("kick", func([]json.RawMessage, func(...any) error) { s.Disconnect() })
	})
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { log = append(log, "main: "+r) }) })
	c := join(t, srv)
	joinNsp(t, c, `40/custom,`, "/custom")
	c.frames(t)

	// The client leaves /custom: "/" goes on.
	c.send(`41/custom`)
	if c.closed || strings.Join(log, "|") != "custom: "+wire.ReasonClientDisconnect {
		t.Fatalf("after 41/custom: closed %v, log %q", c.closed, log)
	}
	c.send(`42["echo","still"]`, `421["echo","here"]`)
	expectFrames(t, c, `431["here"]`)

	// It comes back, with a new id; the server sends it away.
	joinNsp(t, c, `40/custom,`, "/custom")
	c.frames(t)
	c.send(`42/custom,["kick"]`)
	expectFrames(t, c, `41/custom,`)
	if c.closed || log[len(log)-1] != "custom: "+wire.ReasonServerDisconnect {
		t.Fatalf("after the server's Disconnect: closed %v, log %q", c.closed, log)
	}
	c.send(`42/custom,["echo"]`)
	expectClosed(t, c, "protocol error: EVENT before CONNECT to /custom")

	// Leaving "/" ends the connection and every socket on it.
	log = nil
	d := join(t, srv)
	joinNsp(t, d, `40/custom,`, "/custom")
	d.send(`41`)
	expectClosed(t, d, wire.ReasonClientDisconnect)
	if strings.Join(log, "|") != "custom: client namespace disconnect|main: client namespace disconnect" {
		t.Fatalf("log %q", log)
	}
	if srv.Stats().Connected != 0 || len(srv.Of("/custom").sockets) != 0 || len(srv.main.sockets) != 0 {
		t.Fatalf("sockets left: %+v", srv.Stats())
	}
}

// A connection that ends takes its sockets in every namespace with it,
// and their waiting acks fail.
func TestNamespaceConnectionEnds(t *testing.T) {
	srv, loop := nspServer(t, ServerOptions{})
	var sock *Socket
	var reasons []string
	srv.Of("/custom").OnConnection(func(s *Socket) {
		sock = s
		s.OnDisconnect(func(r string) { reasons = append(reasons, r) })
	})
	c := join(t, srv)
	joinNsp(t, c, `40/custom,`, "/custom")
	var ackErr error
	sock.EmitWithAck("q", 0, func(_ []json.RawMessage, err error) { ackErr = err })
	loop.runPosted()
	srv.handleClose(c.s, wire.ReasonTransportClose)
	if len(reasons) != 1 || reasons[0] != wire.ReasonTransportClose || !errors.Is(ackErr, wire.ErrDisconnected) {
		t.Fatalf("reasons %q, ack error %v", reasons, ackErr)
	}
	if sock.Emit("late") != nil {
		t.Fatal("an emit to an ended socket is dropped, not an error")
	}
	loop.runPosted()
}

// Rooms belong to a namespace, and so do the server's broadcasts.
func TestNamespaceRoomsAndBroadcasts(t *testing.T) {
	srv, _ := nspServer(t, ServerOptions{})
	custom := srv.Of("/custom")
	a, b := join(t, srv), join(t, srv)
	only := dial(t, srv) // in /custom only
	idA := joinNsp(t, a, `40/custom,`, "/custom")
	joinNsp(t, b, `40/custom,`, "/custom")
	joinNsp(t, only, `40/custom,`, "/custom")
	for _, c := range []*fakeConn{a, b, only} {
		c.frames(t)
	}

	a.send(`42/custom,1["room","r"]`)
	expectFrames(t, a, `43/custom,1["/custom",["r"]]`)
	b.send(`421["room","r"]`)
	expectFrames(t, b, `431["/",["r"]]`)

	srv.To("r").Emit("main-r")
	custom.To("r").Emit("custom-r")
	custom.Except("r").Emit("custom-not-r")
	srv.Emit("main-all")
	custom.Emit("custom-all")
	custom.To(idA).Emit("custom-to-a") // a socket's id is a room of its namespace
	srv.To(idA).Emit("main-to-a")      // ... and only of it
	srv.drainPosted()
	expectFrames(t, a, `42/custom,["custom-r"]`, `42["main-all"]`, `42/custom,["custom-all"]`, `42/custom,["custom-to-a"]`)
	expectFrames(t, b, `42["main-r"]`, `42/custom,["custom-not-r"]`, `42["main-all"]`, `42/custom,["custom-all"]`)
	expectFrames(t, only, `42/custom,["custom-not-r"]`, `42/custom,["custom-all"]`)

	// socket.broadcast in /custom: the others of /custom.
	var sa *Socket
	for _, s := range custom.sockets {
		if s.ID() == idA {
			sa = s
		}
	}
	sa.Broadcast().Emit("from-a")
	srv.drainPosted()
	expectFrames(t, a)
	expectFrames(t, b, `42/custom,["from-a"]`)
	expectFrames(t, only, `42/custom,["from-a"]`)

	a.send(`41/custom,`)
	if len(custom.rooms["r"]) != 0 || len(srv.main.rooms["r"]) != 1 {
		t.Fatalf("after a left /custom: /custom's room r has %d, /'s %d", len(custom.rooms["r"]), len(srv.main.rooms["r"]))
	}
}

// A broadcast in a namespace is still encoded once: every receiver's
// queue gets the same bytes.
func TestNamespaceBroadcastSharesOneFrame(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	custom := srv.Of("/custom")
	var conns []*keptConn
	for range 3 {
		c := &keptConn{}
		c.srv = srv
		fakeFD++
		c.s = openFake(srv, c, fakeFD, "127.0.0.1:5000")
		c.fakeConn.send("40/custom,")
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.kept = nil
	}
	custom.Emit("x", 1)
	srv.drainPosted()
	first := conns[0].kept[0]
	for i, c := range conns {
		if len(c.kept) != 1 || &c.kept[0][0] != &first[0] || string(c.kept[0][4:]) != `42/custom,["x",1]` {
			t.Fatalf("receiver %d got %q; want the one shared frame", i, c.kept)
		}
	}
}

func TestNamespaceNames(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	if srv.Of("/") != srv.main || srv.Of("") != srv.main || srv.Of("a") != srv.Of("/a") {
		t.Fatal("Of does not find the same namespace under its spellings")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "/a,b") {
			t.Fatalf("Of(\"/a,b\") did not panic naming the namespace: %v", r)
		}
	}()
	srv.Of("/a,b")
}
