// Command tcpserver is a TCP echo server: every byte a client sends comes
// back to it, unchanged (or in upper case with -upper). It shows the
// server's side of TCP one system call at a time:
//
//	socket → setsockopt(SO_REUSEADDR) → bind → listen → accept4 → read/write … → close
//
// Every call is printed on stderr as strace would print it, with its real
// result, so the trace is the lesson.
//
// Run:
//
//	Terminal A:  ./bin/tcpserver                      # listens on 127.0.0.1:7000
//	Terminal B:  printf 'hello\n' | ./bin/tcpclient
//
// Other ways to run it:
//
//	./bin/tcpserver -addr '[::1]:7000'   # IPv6
//	./bin/tcpserver -addr :7000          # every interface, IPv6 and IPv4 (dual stack)
//	./bin/tcpserver -upper               # reply in upper case
//	./bin/tcpserver -step                # stop before each call until Enter
//	./bin/tcpserver -no-reuseaddr        # break it: restart fails while old connections sit in TIME_WAIT
//	./bin/tcpserver -no-close            # break it: accepted sockets stay in CLOSE_WAIT
//
// Watch:
//
//	ss -tlnp 'sport = :7000'             # the listening socket and its queue
//	ss -tan 'sport = :7000 or dport = :7000'   # every connection and its state
//	ls -l /proc/$(pgrep -f '^./bin/tcpserver')/fd   # the sockets are files: 3, 4, …
//
// See: lessons/02-server-side.md, lessons/05-connection-life.md;
// man 2 socket, man 2 bind, man 2 listen, man 2 accept4, man 7 tcp, man 7 ipv6.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// modes are the ways tcpserver can serve its clients, picked with -mode.
// Each one gets the listening socket and serves until the program ends.
// A new mode is one more line here and a file of its own.
var modes = map[string]func(listenFD int){
	"iterative": serveIterative, // one client at a time (this file)
	"threads":   serveThreads,   // a goroutine, and so a thread, per client (threads.go)
	"epoll":     serveEpoll,     // every client on one event loop (epoll.go)
}

// The flags the serving code needs, set once in main before any client
// arrives.
var (
	upper   bool // reply in upper case instead of echoing
	noClose bool // never close an accepted socket (a bug, on purpose)
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "address to listen on: 127.0.0.1:7000, [::1]:7000, or :7000 for every interface")
	backlog := flag.Int("backlog", 128, "how many finished connections may wait for accept (listen's backlog)")
	mode := flag.String("mode", "iterative", "how to serve clients: "+strings.Join(modeNames(), ", "))
	noReuse := flag.Bool("no-reuseaddr", false, "do not set SO_REUSEADDR (break it: a restart then fails while old connections sit in TIME_WAIT)")
	flag.BoolVar(&upper, "upper", false, "reply in upper case (ASCII letters) instead of echoing")
	flag.BoolVar(&noClose, "no-close", false, "never close an accepted socket (break it: the connection stays in CLOSE_WAIT)")
	sys.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := sys.Configure(); err != nil {
		sys.Fatalf("%v", err)
	}
	if flag.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (tcpserver takes only flags; see -h)", flag.Arg(0))
	}
	// listen(2) takes a C int. A negative backlog is not an error to the
	// kernel: it quietly means "as many as allowed" (net.core.somaxconn),
	// and a number past a C int would be cut short on the way in, so the
	// trace would show a value the kernel never saw. Say so instead.
	if *backlog < 0 || *backlog > math.MaxInt32 {
		sys.Fatalf("-backlog %d: want a number from 0 to %d (the kernel caps it at net.core.somaxconn anyway)", *backlog, math.MaxInt32)
	}
	serve, ok := modes[*mode]
	if !ok {
		sys.Fatalf("unknown -mode %q: choose one of %s", *mode, strings.Join(modeNames(), ", "))
	}
	domain, local, err := sys.ParseAddr(*addr)
	if err != nil {
		sys.Fatalf("-addr: %v", err)
	}

	// 1. socket(2): a new TCP endpoint. The kernel answers with a file
	// descriptor, the lowest free number: 3, after stdin, stdout, stderr.
	listenFD, err := sys.Socket(domain, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 2. setsockopt(2) SO_REUSEADDR, see socket(7): without it, bind fails
	// with EADDRINUSE while connections from our last run still sit in
	// TIME_WAIT on this port. Every real server sets it (Go's net package
	// does too); -no-reuseaddr leaves it off so you can meet that error.
	if !*noReuse {
		if err := sys.SetsockoptInt(listenFD, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			sys.Fatal("setsockopt SO_REUSEADDR", err)
		}
	}

	// 2b. For ":7000" we listen on the IPv6 "any" address, ::. With
	// IPV6_V6ONLY off (ipv6(7)), the same socket also takes IPv4 clients:
	// they show up as IPv4-mapped addresses like ::ffff:127.0.0.1. Linux
	// has it off by default (sysctl net.ipv6.bindv6only), but a system
	// may change that default, so we say what we want, as Go's net does.
	if sys.DualStack(local) {
		if err := sys.SetsockoptInt(listenFD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			sys.Fatal("setsockopt IPV6_V6ONLY", err)
		}
	}

	// 3. bind(2): claim the address and port. Port numbers travel in
	// network byte order (big-endian), which is why strace writes
	// htons(7000): 7000 is 0x1b58, and the two bytes go out as 1b 58.
	if err := sys.Bind(listenFD, local); err != nil {
		sys.Fatal("bind "+sys.Addr(local), err)
	}
	if port := sys.PortOf(local); port != 0 {
		sys.Note("htons(%d): the port travels as the bytes %02x %02x, high byte first (network byte order)", port, port>>8, port&0xff)
	}

	// 4. listen(2): from now on the kernel answers clients' handshakes by
	// itself and queues the finished connections, up to backlog of them,
	// until we accept them.
	if err := sys.Listen(listenFD, *backlog); err != nil {
		sys.Fatal("listen", err)
	}
	closeOnSignal(listenFD)

	// Port 0 asks the kernel to pick a free port (the tests use it);
	// getsockname(2) tells which one it picked.
	if sys.PortOf(local) == 0 {
		bound, err := sys.Getsockname(listenFD)
		if err != nil {
			sys.Fatal("getsockname", err)
		}
		if sys.Tracing() {
			sys.Note("listening on %s", sys.Addr(bound))
		} else {
			fmt.Fprintf(os.Stderr, "# listening on %s\n", sys.Addr(bound)) // even with -q: who else would know the port?
		}
	}

	// 5. accept4(2), read(2), write(2), close(2): in the mode's own code.
	serve(listenFD)
}

// serveIterative serves one client at a time: accept one, echo until it
// is done, close it, accept the next. While one client is being served,
// the others wait in the listening socket's queue (lesson 6).
func serveIterative(listenFD int) {
	for {
		connFD, peer, err := sys.Accept(listenFD)
		if err == unix.ECONNABORTED {
			continue // the client gave up while it waited in the queue: take the next one
		}
		if err != nil {
			sys.Fatal("accept4", err)
		}
		sys.Note("peer %s connected", sys.Addr(peer))
		if err := echo(connFD); err != nil {
			sys.Note("connection with %s ended: %s", sys.Addr(peer), sys.Describe(err))
		}
		finish(connFD)
	}
}

// echo sends back everything the client sends until it says it is done
// (read returns 0) or the connection fails.
func echo(connFD int) error {
	buf := make([]byte, 4096)
	for {
		n, err := sys.Read(connFD, buf)
		if err != nil {
			return err // ECONNRESET: the client vanished without a goodbye
		}
		if n == 0 {
			return nil // end of file: the client sent FIN (shutdown or close)
		}
		reply := buf[:n]
		if upper {
			toUpper(reply)
		}
		if err := writeAll(connFD, reply); err != nil {
			return err // EPIPE or ECONNRESET: the client is gone
		}
	}
}

// finish closes a connection's socket, which sends our FIN; with
// -no-close it leaves the socket open: the client's FIN has arrived, ours
// never goes, and the connection stays in CLOSE_WAIT for as long as this
// process lives. That is how a forgotten close looks on a real server.
func finish(connFD int) {
	if noClose {
		sys.Note("-no-close: not closing fd %d; `ss -tan state close-wait` shows it", connFD)
		return
	}
	if err := sys.Close(connFD); err != nil {
		sys.Note("close: %s", sys.Describe(err))
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

// toUpper turns ASCII a–z into A–Z in place. Only ASCII: a multi-byte
// UTF-8 letter may be split between two reads, and a byte stream does not
// say where characters begin.
func toUpper(p []byte) {
	for i, c := range p {
		if 'a' <= c && c <= 'z' {
			p[i] = c - 'a' + 'A'
		}
	}
}

// closeOnSignal makes Ctrl-C (SIGINT) and SIGTERM close the listening
// socket, traced, and exit 0. The main goroutine is then usually blocked
// in accept4; closing the descriptor from another thread does not wake
// it on Linux, so that accept4 never returns: we exit under it (strace
// shows it "<unfinished ...>"). If it was just between two calls,
// ExitOnStopSignal keeps it (and every connection's thread) from
// starting another. Connections still open are closed by the kernel when
// the process exits.
func closeOnSignal(listenFD int) {
	sys.ExitOnStopSignal(func(sig os.Signal) {
		sys.Note("%s: closing the listening socket", sys.SignalName(sig))
		sys.Close(listenFD)
	})
}

func modeNames() []string {
	var names []string
	for name := range modes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
