package main

// -mode epoll: the echo service on socklab's event loop (internal/reactor),
// all clients served by one goroutine that never waits anywhere but in
// epoll_wait. The listening socket and every connection are non-blocking:
// a call that cannot finish now returns EAGAIN instead of waiting, and
// epoll says when to try again.
//
//	Terminal A:  ./bin/tcpserver -mode epoll
//	Terminal B:  printf 'hello\n' | ./bin/tcpclient
//	             ./bin/tcpclient -q -conns 10000 -hold 5s   # C10K
//
// See: lessons/07-event-loop.md; man 7 epoll, man 2 epoll_wait, man 2 fcntl.

import (
	"bytes"
	"flag"

	"socklab/internal/reactor"
	"socklab/internal/sys"
)

// The event loop's limits (lesson 7 breaks them on purpose).
var (
	maxConns  = flag.Int("max-conns", 0, "with -mode epoll: close new connections at once beyond this many (0: no limit but ulimit -n)")
	maxOutput = flag.Int("max-output", 1<<20, "with -mode epoll: bytes queued for a client that does not read; from half of it the server stops reading from that client")
)

func serveEpoll(listenFD int) {
	if noClose {
		sys.Fatalf("-no-close works with -mode iterative and -mode threads; the event loop always closes")
	}
	if *maxOutput < 2 || *maxConns < 0 {
		sys.Fatalf("-max-output must be at least 2 bytes and -max-conns 0 or more")
	}
	// epoll_create1 and eventfd2: the loop's own two descriptors.
	loop, err := reactor.New(echoLoop{}, reactor.Options{
		MaxConns:  *maxConns,
		MaxOutput: *maxOutput,
		ReadSize:  4096, // the same read size as the other modes, so their traces compare
	})
	if err != nil {
		sys.Fatal("starting the event loop", err)
	}
	// fcntl(O_NONBLOCK) and epoll_ctl(EPOLL_CTL_ADD) for the listening socket.
	if err := loop.Serve(listenFD); err != nil {
		sys.Fatal("watching the listening socket", err)
	}
	// epoll_wait, then accept4/read/write for whatever is ready, forever.
	if err := loop.Run(); err != nil {
		sys.Fatal("event loop", err)
	}
}

// echoLoop is the echo service as event-loop callbacks. Each runs when
// the loop has something for it, and returns at once.
type echoLoop struct{}

func (echoLoop) OnOpen(c *reactor.Conn) {
	if sys.Tracing() {
		sys.Note("peer %s connected: fd %d (%d open)", sys.Addr(c.Peer()), c.FD(), c.Loop().NumConns())
	}
}

// OnData echoes what arrived. in is the loop's read buffer, shared by
// every connection and reused by the next read, while Write keeps what
// it is given until the kernel takes it: so the reply is a copy.
func (echoLoop) OnData(c *reactor.Conn, in []byte) int {
	reply := bytes.Clone(in)
	if upper {
		toUpper(reply)
	}
	if err := c.Write(reply); err != nil {
		// ErrOutputFull: more than -max-output bytes waiting for a
		// client that does not read. The loop stopped reading from it at
		// half of that, so only an echo bigger than the rest gets here.
		if sys.Tracing() {
			sys.Note("fd %d: %v: disconnecting it", c.FD(), err)
		}
		c.Abort()
	}
	return len(in) // an echo server uses every byte at once
}

func (echoLoop) OnClose(c *reactor.Conn, err error) {
	if !sys.Tracing() {
		return
	}
	why := "it closed its side"
	if err != nil {
		why = sys.Describe(err)
	}
	sys.Note("peer %s left: %s; %d open", sys.Addr(c.Peer()), why, c.Loop().NumConns())
}
