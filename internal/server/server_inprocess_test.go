//go:build linux

package server

// The server in this process, on the real event loop: emits from other
// goroutines (through Post) interleaved with handlers on the loop, under
// the race detector; then Shutdown makes Serve return.

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

func TestServerInProcessEmitsFromGoroutines(t *testing.T) {
	sys.SetTracing(false)
	srv := NewServer(ServerOptions{})
	connected := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(args []json.RawMessage, ack func(...any) error) {
			ack(args[0])
		})
		connected <- s
	})
	fd, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := BoundAddr(fd)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fd) }()

	c := connectRaw(t, addr)
	s := <-connected

	// Four goroutines emit 250 events each while the client does echo
	// round trips through handlers on the loop.
	const perGoroutine = 250
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perGoroutine; i++ {
				var err error
				if i%2 == 0 {
					err = s.Emit("tick", g, i)
				} else {
					err = srv.To(s.ID()).Emit("tick", g, i)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, 4) // per goroutine, the next i expected: each one's emits arrive in order
	ticks, acks := 0, 0
	c.send(`420["echo",0]`)
	deadline := time.Now().Add(20 * time.Second)
	for ticks < 4*perGoroutine || acks < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d ticks and %d acks", ticks, acks)
		}
		text := c.readEvent()
		var g, i, n int
		switch {
		case sscan(text, `42["tick",%d,%d]`, &g, &i):
			if i != next[g] {
				t.Fatalf("goroutine %d: got tick %d, want %d", g, i, next[g])
			}
			next[g]++
			ticks++
		case sscan(text, `43%d[%d]`, &n, &i):
			acks++
			if acks < 20 {
				c.send(fmt.Sprintf(`42%d["echo",%d]`, acks, acks))
			}
		default:
			t.Fatalf("unexpected %q", text)
		}
	}
	wg.Wait()

	srv.Shutdown(time.Second)
	c.expectClose(wire.ReasonShuttingDown)
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

// Namespaces over real TCP frames, from a client that writes the
// packets by hand: "/" and "/custom" on one connection, a refused
// namespace, and a binary packet refused with its reason (the TCP frame
// carries text only).
func TestServerInProcessNamespaces(t *testing.T) {
	sys.SetTracing(false)
	srv := NewServer(ServerOptions{})
	echo := func(s *Socket) {
		s.On("echo", func(args []json.RawMessage, ack func(...any) error) {
			ack(s.Namespace().Name(), args[0])
		})
	}
	srv.OnConnection(echo)
	srv.Of("/custom").OnConnection(echo)
	fd, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := BoundAddr(fd)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fd) }()
	defer func() {
		srv.Shutdown(time.Second)
		<-served
	}()

	c := connectRaw(t, addr)
	c.send(`40/random,`)
	if got := c.readEvent(); got != `44/random,{"message":"Invalid namespace"}` {
		t.Fatalf("unknown namespace answered %q", got)
	}
	c.send(`40/custom,`)
	var sid string
	if got := c.readEvent(); !sscan(got, `40/custom,{"sid":%q}`, &sid) || len(sid) != 12 {
		t.Fatalf("CONNECT to /custom answered %q", got)
	}
	c.send(`42/custom,1["echo","a"]`)
	c.send(`422["echo","b"]`)
	if got := c.readEvent(); got != `43/custom,1["/custom","a"]` {
		t.Fatalf("ack in /custom: %q", got)
	}
	if got := c.readEvent(); got != `432["/","b"]` {
		t.Fatalf("ack in /: %q", got)
	}
	c.send(`451-/custom,["echo",{"_placeholder":true,"num":0}]`)
	c.expectClose("protocol error: BINARY_EVENT: binary attachments need WebSocket or long-polling")
}
