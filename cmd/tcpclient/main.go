// Command tcpclient connects to a TCP server, sends it everything it reads
// on stdin, and prints everything the server sends back on stdout. It
// shows the client's side of TCP one system call at a time:
//
//	socket → connect → write … → shutdown(SHUT_WR) → read … until 0 → close
//
// Every socket call is printed on stderr as strace would print it, with
// its real result; stdout carries only the server's bytes, so
// `printf 'hello\n' | tcpclient > reply.txt` leaves exactly "hello\n" in
// reply.txt.
//
// Run:
//
//	Terminal A:  ./bin/tcpserver
//	Terminal B:  printf 'hello\n' | ./bin/tcpclient
//	             ./bin/tcpclient                   # type lines; Ctrl-D ends your side
//	             ./bin/tcpclient -addr '[::1]:7000'
//	             printf 'hello world\n' | ./bin/tcpclient -chunk 4   # one write per 4 bytes
//
// Watch:
//
//	ss -tan 'dport = :7000'      # our connection, its ephemeral port and state
//
// See: lessons/03-client-side.md, lessons/04-byte-stream.md,
// lessons/05-connection-life.md; man 2 connect, man 2 shutdown, man 7 tcp.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "server address: 127.0.0.1:7000, or [::1]:7000 for IPv6")
	chunk := flag.Int("chunk", 0, "send in pieces of at most N bytes, one write each, with a pause after each (0: as read from stdin)")
	pause := flag.Duration("pause", 500*time.Millisecond, "with -chunk: how long to wait after each piece")
	sys.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := sys.Configure(); err != nil {
		sys.Fatalf("%v", err)
	}
	if flag.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (the data to send comes from stdin; see -h)", flag.Arg(0))
	}
	if *chunk < 0 || *pause < 0 {
		sys.Fatalf("-chunk and -pause cannot be negative")
	}
	domain, server, err := sys.ParseAddr(*addr)
	if err != nil {
		sys.Fatalf("-addr: %v", err)
	}
	if *connsFlag != 0 {
		manyConns(domain, server) // many connections at once (conns.go); it exits
	}

	// 1. socket(2): a new TCP endpoint, file descriptor 3.
	fd, err := sys.Socket(domain, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 2. connect(2): the three-way handshake. We send SYN, the server's
	// kernel answers SYN-ACK, we answer ACK, and connect returns. The
	// server program has not even called accept yet: its kernel did all
	// of this. Nothing listening there: ECONNREFUSED (the answer was RST).
	if err := sys.Connect(fd, server); err != nil {
		sys.Fatal("connect "+sys.Addr(server), err)
	}

	// 3. getsockname(2): we never called bind, so connect gave us a
	// local address and an ephemeral port, picked by the kernel from
	// net.ipv4.ip_local_port_range. This asks which.
	local, err := sys.Getsockname(fd)
	if err != nil {
		sys.Fatal("getsockname", err)
	}
	sys.Note("connected: %s -> %s (the kernel picked port %d for us)", sys.Addr(local), sys.Addr(server), sys.PortOf(local))

	// 4. Both directions at once, as in UNP's str_cli: a goroutine
	// copies stdin to the socket while this one copies the socket to
	// stdout. One after the other would deadlock on big inputs: the
	// server echoes while we are still sending; if nobody reads the
	// echo, the buffers between us fill, the server's write waits for
	// room, it stops reading, and then our write waits forever too.
	// (The receiver lets the sender go first, so that the trace comes
	// out in the same order run after run: see sys.Turns.)
	go send(fd, *chunk, *pause)
	receive(fd)
	if !finSent.Load() {
		// The server finished first. TCP's two directions close one at
		// a time, so we may still send; but a server that closed for
		// good answers new data with RST, and the write after that
		// fails with EPIPE (lesson 5).
		sys.Note("the server closed its side first; still sending stdin%s", ctrlDHint())
	}
	turns.WaitForSender()

	// 5. close(2): both directions are done; give the descriptor back.
	if err := sys.Close(fd); err != nil {
		sys.Fatal("close", err)
	}
}

// ctrlDHint tells a person typing into the client how to end their side;
// a pipe (printf ... | tcpclient) ends by itself, and has no keyboard.
func ctrlDHint() string {
	if sys.IsTerminal(int(os.Stdin.Fd())) {
		return " (Ctrl-D to finish)"
	}
	return ""
}

// finSent is set just before we send our FIN, so the receiving side can
// tell whether the server's FIN answered ours or came first.
var finSent atomic.Bool

// turns keeps the sender and the receiver in the same order in the
// trace, run after run.
var turns = sys.NewTurns()

// send copies stdin to the socket, then says "no more data from me" with
// shutdown(SHUT_WR), which sends FIN while we can still read the reply.
// An error ends the whole program (sys.Fatal exits from any goroutine).
func send(fd, chunk int, pause time.Duration) {
	defer turns.SenderDone()
	buf := make([]byte, 4096)
	for {
		// Reading stdin is not a socket call, so it is not traced. If it
		// waits (a person typing, a slow pipe), the receiver starts.
		stuck := turns.MayStall()
		n, err := os.Stdin.Read(buf)
		stuck.Stop()
		for piece := range pieces(buf[:n], chunk) {
			stuck := turns.MayStall()
			err := writeAll(fd, piece)
			stuck.Stop()
			if err != nil {
				sys.Fatal("write", err) // EPIPE: the server is gone
			}
			if chunk > 0 {
				// Wait after each piece, so that it leaves on its own
				// instead of merged with the next, and its echo can
				// come back before anything else happens.
				turns.LetReceive()
				time.Sleep(pause)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sys.Fatal("reading stdin", err)
		}
	}
	// 4a. shutdown(2) SHUT_WR: our FIN. The server's read returns 0.
	finSent.Store(true)
	if err := sys.Shutdown(fd, unix.SHUT_WR); err != nil {
		sys.Fatal("shutdown", err)
	}
}

// receive copies the socket to stdout until the server is done sending:
// read returns 0 (end of file, the server's FIN). A reset (ECONNRESET)
// ends the program with the error.
func receive(fd int) {
	turns.ReceiverWaits()
	buf := make([]byte, 4096)
	for {
		n, err := sys.Read(fd, buf)
		if err != nil {
			sys.Fatal("read", err)
		}
		if n == 0 {
			return // end of file: the server closed or shut down its side
		}
		// A read returns whatever has arrived, which need not be what the
		// server wrote in one call: TCP carries bytes, not messages.
		if _, err := os.Stdout.Write(buf[:n]); err != nil {
			sys.Fatal("writing stdout", err)
		}
	}
}

// writeAll hands all of p to the kernel. A blocking socket's write
// usually takes everything, but it may take less (a short write, when a
// signal arrives part way through a large one); then the rest goes in
// another call.
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := sys.Write(fd, p)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("write took no bytes") // cannot happen on a socket; never loop forever
		}
		p = p[n:]
	}
	return nil
}

// pieces splits p into pieces of at most size bytes (all of p when size
// is 0).
func pieces(p []byte, size int) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(p) > 0 {
			n := len(p)
			if size > 0 && size < n {
				n = size
			}
			if !yield(p[:n]) {
				return
			}
			p = p[n:]
		}
	}
}
