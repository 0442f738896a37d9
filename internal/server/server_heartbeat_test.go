package server

import (
	"testing"
	"time"
)

// Each connection keeps its own PING schedule, although the server keeps
// them all on two queues with one timer each: sockets that connected at
// different times are pinged at different times, an answer moves only that
// socket's next PING, and a socket that leaves from the middle of a queue
// takes nobody else with it.
func TestServerHeartbeatOwnSchedules(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{PingInterval: 10 * time.Second, PingTimeout: 5 * time.Second, ConnectTimeout: time.Hour})
	at := func(sec int) { loop.advance(time.Duration(sec)*time.Second - loop.now) }
	quiet := func(cs ...*fakeConn) {
		t.Helper()
		for _, c := range cs {
			expectFrames(t, c)
		}
	}

	a := join(t, srv) // t=0: PING due at 10
	at(3)
	b := join(t, srv) // due at 13
	at(6)
	c := join(t, srv) // due at 16
	at(7)
	d := join(t, srv) // due at 17

	at(9)
	quiet(a, b, c, d)
	at(10)
	expectFrames(t, a, "2")
	quiet(b, c, d)
	at(11)
	a.send("3") // next PING at 21
	at(13)
	expectFrames(t, b, "2") // b never answers: timeout at 18
	quiet(a, c, d)
	at(14)
	d.send("1") // d says goodbye from the middle of the ping queue
	if !d.closed {
		t.Fatal("CLOSE from the client did not close the connection")
	}
	at(16)
	expectFrames(t, c, "2")
	quiet(a, b, d)
	at(17)
	c.send("3") // next PING at 27
	quiet(a, b, c, d)
	at(18)
	expectClosed(t, b, "ping timeout: no PONG within 5s")
	quiet(a, c, d)
	at(21)
	expectFrames(t, a, "2")
	quiet(c, d)
	at(22)
	a.send("3") // next at 32
	a.send("3") // a PONG nobody asked for changes nothing
	at(27)
	expectFrames(t, c, "2")
	quiet(a, d)
	at(28)
	c.send("3") // next at 38
	at(31)
	quiet(a)
	at(32)
	expectFrames(t, a, "2")
	at(32 + 4)
	if a.closed || c.closed {
		t.Fatal("a live socket was closed")
	}
	if got := srv.Stats().Connected; got != 2 {
		t.Fatalf("%d connected, want 2 (a and c)", got)
	}
}
