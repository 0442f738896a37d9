package server

// The server's logic on the stand-in loop (server_fake_test.go): no
// sockets, a hand-moved clock. The tests with real sockets and real peers
// are in server_test.go and hostile_test.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// demoServer registers a few handlers like miniio serve's.
func demoServer(t *testing.T, opts ServerOptions) (*Server, *fakeLoop) {
	srv, loop := newFakeServer(t, opts)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(args []json.RawMessage, ack func(...any) error) {
			a := make([]any, len(args))
			for i, v := range args {
				a[i] = v
			}
			ack(a...)
		})
		s.On("bcast", func(args []json.RawMessage, ack func(...any) error) {
			s.Broadcast().Emit("msg", args[0])
		})
		s.On("all", func(args []json.RawMessage, ack func(...any) error) {
			srv.Emit("all", args[0])
		})
		s.On("join", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			json.Unmarshal(args[0], &room)
			s.Join(room)
			ack(s.Rooms())
		})
		s.On("leave", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			json.Unmarshal(args[0], &room)
			s.Leave(room)
		})
		s.On("room", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			json.Unmarshal(args[0], &room)
			s.To(room).Emit("room", args[1])
		})
	})
	return srv, loop
}

func TestServerOpenPacket(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{PingInterval: 3 * time.Second, PingTimeout: 2 * time.Second, MaxPayload: 1000})
	c := &fakeConn{srv: srv}
	c.s = openFake(srv, c, 5, "127.0.0.1:1")
	// The session id in OPEN is not the socket's id (Socket.ID), which
	// programs see: the session id stays between client and server.
	got := c.frames(t)
	var sid string
	if len(got) == 1 {
		sid, _, _ = strings.Cut(strings.TrimPrefix(got[0], `0{"sid":"`), `"`)
	}
	want := fmt.Sprintf(`0{"sid":"%s","pingInterval":3000,"pingTimeout":2000,"maxPayload":1000}`, sid)
	if len(got) != 1 || got[0] != want || len(sid) != 12 || sid == c.s.ID() {
		t.Fatalf("frames %q; want OPEN with a 12-character sid other than the socket's id %q", got, c.s.ID())
	}
}

func TestServerEchoAck(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{})
	c := join(t, srv)
	c.send(`4217["echo","hi",{"a":[1,2]}]`, `42["echo","no ack wanted"]`, `420["echo"]`)
	expectFrames(t, c, `4317["hi",{"a":[1,2]}]`, `430[]`)
}

func TestServerBroadcastScopes(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{})
	a, b, c := join(t, srv), join(t, srv), join(t, srv)

	a.send(`42["bcast","x"]`)
	expectFrames(t, a)
	expectFrames(t, b, `42["msg","x"]`)
	expectFrames(t, c, `42["msg","x"]`)

	b.send(`42["all",1]`)
	for _, x := range []*fakeConn{a, b, c} {
		expectFrames(t, x, `42["all",1]`)
	}
}

func TestServerRooms(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{})
	a, b, c := join(t, srv), join(t, srv), join(t, srv)
	a.send(`421["join","r"]`)
	expectFrames(t, a, `431[["r"]]`)
	b.send(`421["join","r"]`, `422["join","q"]`)
	expectFrames(t, b, `431[["r"]]`, `432[["q","r"]]`)

	// socket.to(room): the room minus the sender.
	a.send(`42["room","r","hi"]`)
	expectFrames(t, a)
	expectFrames(t, b, `42["room","hi"]`)
	expectFrames(t, c)

	// io.to(r).to(q): b is in both and gets it once; io.except(q).
	srv.To("r").To("q").Emit("x")
	srv.Except("q").Emit("y")
	srv.drainPosted()
	expectFrames(t, a, `42["x"]`, `42["y"]`)
	expectFrames(t, b, `42["x"]`)
	expectFrames(t, c, `42["y"]`)

	// To(id) reaches just that socket.
	srv.To(c.s.ID()).Emit("z")
	srv.drainPosted()
	expectFrames(t, a)
	expectFrames(t, c, `42["z"]`)

	// After leave, and after a disconnect, the room forgets them.
	b.send(`42["leave","r"]`)
	a.send(`41`)
	expectClosed(t, a, wire.ReasonClientDisconnect)
	if got := len(srv.main.rooms["r"]); got != 0 {
		t.Errorf("room r has %d members after everyone left", got)
	}
	if _, ok := srv.main.rooms["q"]; !ok {
		t.Errorf("room q gone while b is still in it")
	}
}

func TestServerJoinThenEmitReachesSelf(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	srv.OnConnection(func(s *Socket) {
		s.Join("lobby")
		srv.To("lobby").Emit("welcome", s.ID())
	})
	a := join(t, srv)
	expectFrames(t, a, `42["welcome","`+a.s.ID()+`"]`)
}

func TestServerEmitFromAnotherGoroutine(t *testing.T) {
	srv, loop := demoServer(t, ServerOptions{})
	a := join(t, srv)
	done := make(chan struct{})
	go func() {
		a.s.Emit("tick", 1)
		srv.Emit("tock", 2)
		close(done)
	}()
	<-done
	expectFrames(t, a) // nothing until the loop runs
	loop.runPosted()
	expectFrames(t, a, `42["tick",1]`, `42["tock",2]`)
	if len(loop.posted) != 0 {
		t.Fatalf("posted work left over")
	}
}

func TestServerEmitWithAck(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	type result struct {
		args string
		err  error
	}
	var results []result
	cb := func(args []json.RawMessage, err error) {
		b, _ := json.Marshal(args)
		results = append(results, result{string(b), err})
	}
	var sock *Socket
	srv.OnConnection(func(s *Socket) { sock = s })
	a := join(t, srv)

	sock.EmitWithAck("q", time.Second, cb, "first")
	sock.EmitWithAck("q", time.Second, cb, "second")
	loop.runPosted()
	expectFrames(t, a, `420["q","first"]`, `421["q","second"]`)

	a.send(`430["yes",2]`)
	loop.advance(2 * time.Second) // id 1 times out
	a.send(`431["too late"]`)     // ignored
	a.send(`4399[]`)              // an id never used: ignored too
	if len(results) != 2 || results[0].args != `["yes",2]` || results[0].err != nil {
		t.Fatalf("results %+v", results)
	}
	if !errors.Is(results[1].err, wire.ErrAckTimeout) || !strings.Contains(results[1].err.Error(), `"q"`) {
		t.Fatalf("second result %+v, want an ack timeout naming the event", results[1])
	}

	// Waiting acks fail when the socket goes.
	sock.EmitWithAck("q", 0, cb, "third")
	loop.runPosted()
	a.send(`41`)
	if len(results) != 3 || !errors.Is(results[2].err, wire.ErrDisconnected) {
		t.Fatalf("after disconnect: %+v", results)
	}
}

func TestServerOnAnyAndDisconnectReason(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	var log []string
	srv.OnConnection(func(s *Socket) {
		s.OnAny(func(event string, args []json.RawMessage) {
			log = append(log, fmt.Sprintf("any %s %d", event, len(args)))
		})
		s.OnDisconnect(func(reason string) { log = append(log, "bye "+reason) })
	})
	a := join(t, srv)
	a.send(`42["x",1,2]`, `42["message","hi"]`)
	srv.closed(a.s, wire.ReasonTransportClose)
	want := "any x 2|any message 1|bye transport close"
	if got := strings.Join(log, "|"); got != want {
		t.Fatalf("log %q, want %q", got, want)
	}
}

func TestServerParseErrors(t *testing.T) {
	cases := []struct {
		name, text, reason string
	}{
		{"unknown packet type", `9`, `parse error: unknown packet type`},
		{"malformed JSON", `42["chat",`, `parse error: malformed JSON`},
		{"name not a string", `42[17,"x"]`, `parse error: event name is not a string`},
		{"reserved name", `42["disconnect"]`, `parse error: reserved event name`},
		{"ack id out of range", `4299999999999["x"]`, `parse error: ack id out of range`},
		{"binary on TCP frames", `451-["x",{"_placeholder":true,"num":0}]`, `protocol error: BINARY_EVENT: binary attachments need WebSocket or long-polling`},
		{"event in a namespace not joined", `42/admin,["x"]`, `protocol error: EVENT before CONNECT to /admin`},
		{"upgrade", `5`, `protocol error: UPGRADE outside an upgrade`},
		{"ping from client", `2`, `protocol error: PING`},
		{"second connect", `40`, `protocol error: second CONNECT`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := demoServer(t, ServerOptions{})
			var reason string
			srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { reason = r }) })
			good := join(t, srv)
			bad := join(t, srv)
			bad.send(tc.text)
			expectClosed(t, bad, tc.reason)
			if !strings.HasPrefix(reason, tc.reason) {
				t.Errorf("OnDisconnect got %q", reason)
			}
			// The well-behaved neighbour is untouched.
			good.send(`421["echo","still here"]`)
			expectFrames(t, good, `431["still here"]`)
		})
	}
}

func TestServerEventBeforeConnect(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{})
	c := dial(t, srv)
	c.send(`42["echo"]`)
	expectClosed(t, c, "protocol error: EVENT before CONNECT")
}

func TestServerFrameLimits(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{MaxPayload: 100})
	c := join(t, srv)
	c.sendRaw([]byte{0, 0, 0, 101}) // just the prefix: refused before any body
	expectClosed(t, c, "payload too large: frame of 101 bytes exceeds maxPayload 100")

	c = join(t, srv)
	c.sendRaw([]byte{0, 0, 0, 0})
	expectClosed(t, c, "parse error: empty frame")

	// A frame in pieces is waited for, not refused: the server keeps each
	// piece (it uses all the input it is given), in one buffer of the
	// frame's announced size.
	c = join(t, srv)
	frame := []byte("\x00\x00\x00\x0d" + `421["echo",1]`)
	for _, piece := range [][]byte{frame[:3], frame[3:10], frame[10:]} {
		if n := srv.handleData(c.s, piece); n != len(piece) {
			t.Fatalf("consumed %d of a piece of %d bytes", n, len(piece))
		}
		if piece[len(piece)-1] != ']' {
			if got := c.s.c.InputHeld(); got != len(frame) && got != 4 {
				t.Fatalf("holding %d bytes for a frame of %d", got, len(frame))
			}
		}
	}
	expectFrames(t, c, `431[1]`)
	if srv.tr.InputHeld() != 0 {
		t.Fatalf("input budget still holds %d bytes after the frame", srv.tr.InputHeld())
	}
}

// A frame whose prefix came must be finished within FrameTimeout; and
// unfinished frames together stay under InputBudget, the largest holder
// going first.
func TestServerUnfinishedFrames(t *testing.T) {
	srv, loop := demoServer(t, ServerOptions{MaxPayload: 1000, InputBudget: 2500, FrameTimeout: 5 * time.Second, ConnectTimeout: time.Hour})
	slow := join(t, srv)
	slow.sendRaw([]byte{0, 0, 0x03, 0xe8, '4'}) // 1000 bytes announced, one sent
	loop.advance(4 * time.Second)
	if slow.closed {
		t.Fatal("closed before the frame timeout")
	}
	loop.advance(2 * time.Second)
	expectClosed(t, slow, "frame timeout: 5 of the frame's 1004 bytes came within 5s")

	big := join(t, srv)
	big.sendRaw([]byte{0, 0, 0x03, 0xe8, '4'}) // 1004 held
	small := join(t, srv)
	small.sendRaw([]byte{0, 0, 0x01, 0x00, '4'}) // 260 held
	third := join(t, srv)
	third.sendRaw([]byte{0, 0, 0x03, 0xe7, '4'}) // 1003: 2267 in all, under 2500
	if big.closed || small.closed || third.closed {
		t.Fatal("closed under the budget")
	}
	fourth := join(t, srv)
	fourth.sendRaw([]byte{0, 0, 0x01, 0x00, '4'}) // 2527: over; big goes
	expectClosed(t, big, "input budget: the server holds 2527 bytes of unfinished input, over its budget of 2500; this connection held the most (1004)")
	if small.closed || third.closed || fourth.closed {
		t.Fatal("more than the largest holder closed")
	}
	if srv.tr.InputHeld() != 260+1003+260 {
		t.Fatalf("input budget holds %d bytes, want %d", srv.tr.InputHeld(), 260+1003+260)
	}
}

// One connection gets transport.TurnPackets packets (or transport.TurnTime of handlers) per
// turn of the loop: the rest waits for the next turn, and reading from
// it pauses meanwhile.
func TestServerHandlerBudgetPerTurn(t *testing.T) {
	srv, loop := demoServer(t, ServerOptions{})
	c := join(t, srv)
	texts := make([]string, transport.TurnPackets+100)
	for i := range texts {
		texts[i] = fmt.Sprintf(`42%d["echo",%d]`, i, i)
	}
	c.send(texts...)
	if got := len(c.frames(t)); got != transport.TurnPackets {
		t.Fatalf("%d acks in the first turn, want %d", got, transport.TurnPackets)
	}
	if !c.paused {
		t.Fatal("reading not paused while input waits")
	}
	loop.runPosted() // the next turn
	f := c.frames(t)
	if len(f) != 100 || f[99] != fmt.Sprintf(`43%d[%d]`, transport.TurnPackets+99, transport.TurnPackets+99) {
		t.Fatalf("next turn: %d acks, last %q", len(f), f[len(f)-1])
	}
	if c.paused || srv.tr.InputHeld() != 0 {
		t.Fatalf("after the backlog: paused %v, input held %d", c.paused, srv.tr.InputHeld())
	}
}

func TestServerConnectTimeout(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{ConnectTimeout: 5 * time.Second})
	c := dial(t, srv)
	ok := dial(t, srv)
	ok.send("40")
	loop.advance(4 * time.Second)
	if c.closed {
		t.Fatal("closed before the timeout")
	}
	loop.advance(2 * time.Second)
	expectClosed(t, c, "connect timeout: no CONNECT within 5s")
	if ok.closed {
		t.Fatal("a connected socket was closed by the connect timeout")
	}
}

func TestServerHeartbeat(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{PingInterval: 10 * time.Second, PingTimeout: 5 * time.Second, ConnectTimeout: time.Hour})
	var reason string
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { reason = r }) })
	alive, dead := join(t, srv), join(t, srv)
	for round := 0; round < 3; round++ {
		loop.advance(10 * time.Second)
		expectFrames(t, alive, "2")
		alive.send("3")
		if round == 0 {
			expectFrames(t, dead, "2") // dead never answers
		}
	}
	expectClosed(t, dead, "ping timeout: no PONG within 5s")
	if !strings.HasPrefix(reason, wire.ReasonPingTimeout) {
		t.Fatalf("disconnect reason %q", reason)
	}
	if alive.closed {
		t.Fatal("the live socket was closed")
	}
}

func TestServerSlowConsumer(t *testing.T) {
	srv, loop := demoServer(t, ServerOptions{MaxOutput: 1000})
	sender, fast, slow := join(t, srv), join(t, srv), join(t, srv)
	slow.stuck = true
	var reason string
	sender.s.OnDisconnect(func(r string) { reason = r })
	slow.s.OnDisconnect(func(r string) { reason = r })
	for i := 0; i < 100; i++ {
		sender.send(fmt.Sprintf(`42["bcast","%040d"]`, i))
	}
	if len(fast.frames(t)) != 100 {
		t.Fatal("the fast receiver missed messages")
	}
	expectClosed(t, slow, "slow consumer: more than 1000 bytes")
	if slow.queued > 1200 {
		t.Errorf("%d bytes queued for the slow consumer, cap 1000", slow.queued)
	}
	if !strings.HasPrefix(reason, wire.ReasonSlowConsumer) {
		t.Errorf("reason %q", reason)
	}
	if slow.aborted {
		t.Fatal("aborted at once; it should get a chance to read its CLOSE")
	}
	loop.advance(closeLinger)
	if !slow.aborted {
		t.Fatal("not cut off after the linger time")
	}
}

func TestServerTokenAuth(t *testing.T) {
	srv, _ := demoServer(t, ServerOptions{})
	srv.Use(TokenAuth("s3cret"))
	for _, bad := range []string{`40`, `40{"token":"wrong"}`, `40{"token":7}`, `40{"token":"s3cret!"}`, `40{"Token":"s3cret"}`, `40{"token":"s3cret","token":"s3cret"}`} {
		c := dial(t, srv)
		c.send(bad)
		f := c.frames(t)
		if len(f) != 2 || f[0] != `44{"message":"not authorized"}` || f[1] != `1{"reason":"not authorized"}` {
			t.Fatalf("%s: got %q", bad, f)
		}
		if !c.closed {
			t.Fatalf("%s: not closed", bad)
		}
	}
	c := dial(t, srv)
	c.send(`40{"token":"s3cret"}`)
	if f := c.frames(t); len(f) != 1 || !strings.HasPrefix(f[0], `40{"sid":`) {
		t.Fatalf("right token: got %q", f)
	}
}

func TestServerMaxConns(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{MaxConns: 2})
	a, _ := join(t, srv), join(t, srv)
	c := &fakeConn{srv: srv}
	c.s = openFake(srv, c, 99, "127.0.0.1:9")
	expectClosed(t, c, "server full: 2 connections already")
	srv.handleClose(c.s, wire.ReasonTransportClose)
	srv.handleClose(a.s, wire.ReasonTransportClose)
	join(t, srv) // room again
}

func TestServerShutdown(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	var reasons []string
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { reasons = append(reasons, r) }) })
	a, b := join(t, srv), dial(t, srv)
	srv.Shutdown(time.Second)
	loop.runPosted()
	expectClosed(t, a, wire.ReasonShuttingDown)
	expectClosed(t, b, wire.ReasonShuttingDown)
	if len(reasons) != 1 || reasons[0] != wire.ReasonShuttingDown {
		t.Fatalf("reasons %q", reasons)
	}
	late := &fakeConn{srv: srv}
	late.s = openFake(srv, late, 50, "x")
	expectClosed(t, late, wire.ReasonShuttingDown)
	srv.handleClose(a.s, wire.ReasonTransportClose)
	srv.handleClose(b.s, wire.ReasonTransportClose)
	if loop.stopped {
		t.Fatal("stopped with a connection still open")
	}
	srv.handleClose(late.s, wire.ReasonTransportClose)
	if !loop.stopped {
		t.Fatal("not stopped after the last connection closed")
	}
}

func TestServerDisconnect(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	var reason string
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r string) { reason = r })
		s.On("kick", func([]json.RawMessage, func(...any) error) { s.Disconnect() })
	})
	a := join(t, srv)
	a.send(`42["kick"]`)
	expectFrames(t, a, `41`, `1{"reason":"server namespace disconnect"}`)
	if reason != wire.ReasonServerDisconnect || !a.closed {
		t.Fatalf("reason %q closed %v", reason, a.closed)
	}
}

func TestServerAckOnce(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	var errs []error
	srv.OnConnection(func(s *Socket) {
		s.On("x", func(args []json.RawMessage, ack func(...any) error) {
			errs = append(errs, ack(1), ack(2), ack(make(chan int)))
		})
	})
	a := join(t, srv)
	a.send(`425["x"]`, `42["x"]`)
	expectFrames(t, a, `435[1]`)
	if errs[0] != nil || errs[1] == nil || errs[2] == nil || errs[3] == nil {
		t.Fatalf("errors %v", errs)
	}
}

func TestServerClientClose(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	var reason string
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { reason = r }) })
	a := join(t, srv)
	a.send(`1{"reason":"bye"}`)
	if reason != wire.ReasonTransportClose || !a.closed {
		t.Fatalf("reason %q closed %v", reason, a.closed)
	}
	expectFrames(t, a)
}
