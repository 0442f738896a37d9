// Command udpecho is UDP's echo service, server and client in one program.
// It shows what changes when a socket carries datagrams instead of a byte
// stream:
//
//	serve:  socket(SOCK_DGRAM) → bind → recvfrom → sendto → recvfrom → …
//	send:   socket(SOCK_DGRAM) → sendto … → recvfrom …      (no connect, no accept, no FIN)
//
// Each datagram arrives whole or not at all, one recvfrom per datagram:
// the boundaries the sender made are kept, unlike TCP's bytes. Nothing
// promises it arrives, or says when it did not: send gives up after
// -timeout. Every socket call is printed on stderr as strace prints it.
//
// Run:
//
//	Terminal A:  ./bin/udpecho serve                    # on 127.0.0.1:7001
//	Terminal B:  ./bin/udpecho send hi 'a longer one' x # three datagrams, three replies
//
// Other ways to run it:
//
//	./bin/udpecho serve -addr '[::1]:7001'              # IPv6
//	./bin/udpecho serve -bufsize 4                      # break it: datagrams cut to 4 bytes, the rest lost
//	./bin/udpecho send -addr 127.0.0.1:7009 hi          # nobody there: silence, then a timeout
//	./bin/udpecho send -connect -addr 127.0.0.1:7009 hi # connected UDP: ECONNREFUSED instead
//
// Watch:
//
//	ss -uanp 'sport = :7001'     # the server's socket: UNCONN, because UDP has no connections
//
// Safety: serve never answers a datagram that claims to come from its
// own address and port (a forged source would make it answer itself
// forever, the old echo loop); it drops it with a note.
//
// See: lessons/08-udp.md; man 2 sendto, man 2 recvfrom, man 2 connect, man 7 udp.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// maxPayload is the most one UDP datagram can carry over IPv4: 65535
// bytes of IP packet minus 20 of IP header and 8 of UDP header. A buffer
// of maxDatagram bytes holds any datagram.
const (
	maxPayload  = 65507
	maxDatagram = 65536
)

const usage = `udpecho: UDP echo, server and client

  udpecho serve [-addr HOST:PORT] [-bufsize N]
  udpecho send  [-addr HOST:PORT] [-connect] [-timeout 2s] MSG...

Both take -q, -explain, -step and -color. "udpecho serve -h" lists a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "send":
		send(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		sys.Fatalf("unknown command %q: use serve or send (udpecho -h)", os.Args[1])
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("udpecho serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7001", "address to receive on: 127.0.0.1:7001, [::1]:7001, or :7001 for every interface")
	bufsize := fs.Int("bufsize", maxDatagram, "receive buffer size in bytes; a bigger datagram is cut to fit and the rest is lost")
	sys.RegisterFlags(fs)
	fs.Parse(args)
	if err := sys.Configure(); err != nil {
		sys.Fatalf("%v", err)
	}
	if fs.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (serve takes only flags; see udpecho serve -h)", fs.Arg(0))
	}
	if *bufsize < 1 || *bufsize > 1<<20 {
		sys.Fatalf("-bufsize must be from 1 to %d bytes, not %d", 1<<20, *bufsize)
	}
	domain, local, err := sys.ParseAddr(*addr)
	if err != nil {
		sys.Fatalf("-addr: %v", err)
	}

	// 1. socket(2) with SOCK_DGRAM: a datagram socket. There will be no
	// listen and no accept: this one socket talks to every sender.
	fd, err := sys.Socket(domain, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 1b. ":7001" is IPv6's "any" address; with IPV6_V6ONLY off (ipv6(7))
	// the socket receives IPv4 datagrams too, from ::ffff:127.0.0.1.
	if sys.DualStack(local) {
		if err := sys.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			sys.Fatal("setsockopt IPV6_V6ONLY", err)
		}
	}

	// 2. bind(2): the well-known port senders will address. No
	// SO_REUSEADDR: UDP has no TIME_WAIT to wait out.
	if err := sys.Bind(fd, local); err != nil {
		bindFailed(local, err)
	}
	closeOnSignal(fd)
	self := local // our own address, to spot a datagram that claims to come from it
	if sys.PortOf(local) == 0 {
		// Port 0: the kernel picked one (the tests use this).
		bound, err := sys.Getsockname(fd)
		if err != nil {
			sys.Fatal("getsockname", err)
		}
		sys.Note("receiving on %s", sys.Addr(bound))
		self = bound
	}

	// With the default buffer every datagram fits. A smaller one (-bufsize)
	// may cut one short, and recvfrom would not say so: the rest is thrown
	// away and the result is what fit. MSG_TRUNC (udp(7)) makes recvfrom
	// return the datagram's real length instead, so we can tell what was lost.
	buf := make([]byte, *bufsize)
	flags := 0
	if *bufsize < maxDatagram {
		flags = unix.MSG_TRUNC
	}
	for {
		// 3. recvfrom(2): wait for the next datagram, whoever sends it.
		// One call returns exactly one datagram, and the sender's address.
		n, from, err := sys.Recvfrom(fd, buf, flags)
		if err != nil {
			sys.Fatal("recvfrom", err)
		}
		kept := min(n, len(buf))
		sys.Note("a datagram of %s from %s", bytesText(n), sys.Addr(from))
		if n > len(buf) {
			sys.Note("truncated: the buffer holds %d bytes, so %d of the %d were lost (recvfrom returned the real size because of MSG_TRUNC)", len(buf), n-kept, n)
		}
		if from == nil {
			continue // cannot happen for UDP: every datagram has a source address
		}
		if fromSelf(self, from) {
			// 3b. A source address is only what the sender wrote in the
			// packet: anyone able to forge one can name us as the sender.
			// Answering would send the datagram to ourselves, we would
			// answer that too, and so on forever at full speed: the old
			// echo/chargen loop. Never answer our own address.
			sys.Note("it claims to come from our own address %s: dropped, not answered (the reply would come back to us, forever)", sys.Addr(from))
			continue
		}

		// 4. sendto(2): the reply goes to the address recvfrom gave us.
		// The socket itself remembers no peer.
		if _, err := sys.Sendto(fd, buf[:kept], 0, from); err != nil {
			// One unreachable sender must not stop the service.
			sys.Note("reply to %s failed: %s", sys.Addr(from), sys.Describe(err))
		}
	}
}

func send(args []string) {
	fs := flag.NewFlagSet("udpecho send", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7001", "server address: 127.0.0.1:7001, or [::1]:7001 for IPv6")
	connect := fs.Bool("connect", false, "connect the socket first (connected UDP): write/read instead of sendto/recvfrom, and ICMP errors are reported")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for each reply before giving up")
	sys.RegisterFlags(fs)
	fs.Parse(args)
	if err := sys.Configure(); err != nil {
		sys.Fatalf("%v", err)
	}
	msgs := fs.Args()
	if len(msgs) == 0 {
		sys.Fatalf("nothing to send: give each datagram as an argument, e.g. udpecho send hi 'hello there'")
	}
	if *timeout <= 0 {
		sys.Fatalf("-timeout must be more than 0, not %v", *timeout)
	}
	for _, m := range msgs {
		if len(m) > maxPayload {
			sys.Fatalf("a datagram of %d bytes is too big for UDP (at most %d)", len(m), maxPayload)
		}
	}
	domain, server, err := sys.ParseAddr(*addr)
	if err != nil {
		sys.Fatalf("-addr: %v", err)
	}
	if sys.PortOf(server) == 0 {
		sys.Fatalf("-addr: the server's port cannot be 0")
	}

	// 1. socket(2): a datagram socket. No bind: the first sendto gives it
	// an ephemeral port, as connect does for TCP.
	fd, err := sys.Socket(domain, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 2. setsockopt(2) SO_RCVTIMEO, see socket(7): a receive that waits
	// longer than this fails with EAGAIN. UDP tells us nothing when a
	// datagram is lost, so without a timeout we could wait forever.
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, *timeout); err != nil {
		sys.Fatal("setsockopt SO_RCVTIMEO", err)
	}
	sys.Note("SO_RCVTIMEO is a struct timeval {tv_sec, tv_usec} = %v; strace shows its 16 raw bytes", *timeout)

	// 3 and 4, in one of two ways: connected (connect, write, read) or
	// not (sendto, recvfrom). Either way one datagram per message, all
	// sent before any reply is read: the replies then wait in our
	// socket's receive queue, and each receive takes exactly one of
	// them, the edges intact.
	if *connect {
		exchangeConnected(fd, server, msgs, *timeout)
	} else {
		exchangeUnconnected(fd, server, msgs, *timeout)
	}

	// 5. close(2). There is no FIN to send: the server never knew a
	// "connection" existed.
	if err := sys.Close(fd); err != nil {
		sys.Fatal("close", err)
	}
}

// exchangeConnected is -connect: connect(2) on a datagram socket sends
// nothing, there is no handshake. The kernel just records the peer:
// write goes there, only its datagrams are received, and, the point of
// it here, errors the network reports about it (ICMP "port unreachable")
// come back to us as ECONNREFUSED on a later call.
func exchangeConnected(fd int, server unix.Sockaddr, msgs []string, timeout time.Duration) {
	if err := sys.Connect(fd, server); err != nil {
		sys.Fatal("connect "+sys.Addr(server), err)
	}
	for _, m := range msgs {
		// write(2) works, as on a file: the address is the connected one.
		if _, err := sys.Write(fd, []byte(m)); err != nil {
			failSend("write", err, server, true)
		}
	}
	buf := make([]byte, maxDatagram)
	for i := range msgs {
		n, err := sys.Read(fd, buf)
		if err == unix.EAGAIN {
			noReply(timeout, i, len(msgs), server, true)
		}
		if err != nil {
			failSend("read", err, server, true)
		}
		fmt.Printf("%s\n", buf[:n])
	}
}

// exchangeUnconnected sends each datagram with sendto(2), naming the
// server every time, and takes the replies with recvfrom(2), which names
// each one's sender. An unconnected socket takes datagrams from anyone
// who knows its port, so a reply is checked to be the server's.
func exchangeUnconnected(fd int, server unix.Sockaddr, msgs []string, timeout time.Duration) {
	for _, m := range msgs {
		if _, err := sys.Sendto(fd, []byte(m), 0, server); err != nil {
			failSend("sendto", err, server, false)
		}
	}
	buf := make([]byte, maxDatagram)
	strangers := 0
	for i := 0; i < len(msgs); {
		n, from, err := sys.Recvfrom(fd, buf, 0)
		if err == unix.EAGAIN {
			noReply(timeout, i, len(msgs), server, false)
		}
		if err != nil {
			failSend("recvfrom", err, server, false)
		}
		if from != nil && !replyFrom(server, from) {
			sys.Note("a datagram from %s, not from the server: ignored", sys.Addr(from))
			if strangers++; strangers > 100 {
				fmt.Fprintln(os.Stderr, "udpecho: more than 100 datagrams from others than the server; giving up")
				os.Exit(1)
			}
			continue
		}
		fmt.Printf("%s\n", buf[:n])
		i++
	}
}

// noReply ends the program when a receive timed out (SO_RCVTIMEO:
// EAGAIN). On loopback nothing is lost, but nothing says so either.
func noReply(timeout time.Duration, got, want int, server unix.Sockaddr, connected bool) {
	fmt.Fprintf(os.Stderr, "udpecho: no reply within %v (%d of %d replies arrived)\n", timeout, got, want)
	hint := "UDP promises nothing and reports nothing: the datagram or its reply was lost, or nothing listens at " + sys.Addr(server)
	if !connected {
		hint += "; -connect would hear the kernel's \"port unreachable\""
	}
	fmt.Fprintln(os.Stderr, "hint: "+hint)
	os.Exit(1)
}

// failSend ends the program on a send or receive error. ECONNREFUSED on
// UDP has a story worth telling: it is the ICMP message from the other
// machine's kernel, delivered late.
func failSend(what string, err error, server unix.Sockaddr, connected bool) {
	if errors.Is(err, unix.ECONNREFUSED) && connected {
		fmt.Fprintln(os.Stderr, sys.Failure(what, err))
		fmt.Fprintf(os.Stderr, "why: an earlier datagram reached %s, where no socket was bound; that kernel answered with ICMP \"port unreachable\", and because our socket is connected, the error came back on this call\n", sys.Addr(server))
		os.Exit(1)
	}
	if errors.Is(err, unix.EACCES) {
		// Not about ports or files here: the kernel refuses a datagram to
		// a broadcast address (255.255.255.255, or a network's .255)
		// unless the socket asked for it with SO_BROADCAST (socket(7)),
		// so that one program cannot flood a whole network by mistake.
		// (Not sys.Failure: its general hint for EACCES is about ports.)
		fmt.Fprintf(os.Stderr, "udpecho: %s: %s\n", what, sys.Describe(err))
		fmt.Fprintf(os.Stderr, "why: %s is a broadcast address; sending there needs the SO_BROADCAST option, which udpecho does not set\n", sys.Addr(server))
		os.Exit(1)
	}
	sys.Fatal(what, err)
}

// bindFailed ends the program on a failed bind. EADDRINUSE gets a hint of
// its own: the general one is TCP's (TIME_WAIT, ss -tlnp), and UDP has no
// TIME_WAIT; the port is simply held by another UDP socket.
func bindFailed(local unix.Sockaddr, err error) {
	if errors.Is(err, unix.EADDRINUSE) {
		fmt.Fprintf(os.Stderr, "udpecho: bind %s: %s\n", sys.Addr(local), sys.Describe(err))
		fmt.Fprintln(os.Stderr, "hint: another UDP socket holds this port (`ss -ulnp` shows which process); UDP has no TIME_WAIT, so the port is free as soon as that socket is closed")
		os.Exit(1)
	}
	sys.Fatal("bind "+sys.Addr(local), err)
}

func bytesText(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// replyFrom reports whether a datagram from `from` is the server's
// answer: same port, and the same address unless we sent to the
// "any" address (0.0.0.0 or ::), which the kernel delivers on loopback
// and the reply then comes from a real address.
func replyFrom(server, from unix.Sockaddr) bool {
	switch s := server.(type) {
	case *unix.SockaddrInet4:
		f, ok := from.(*unix.SockaddrInet4)
		return ok && f.Port == s.Port && (f.Addr == s.Addr || s.Addr == [4]byte{})
	case *unix.SockaddrInet6:
		f, ok := from.(*unix.SockaddrInet6)
		return ok && f.Port == s.Port && (f.Addr == s.Addr || s.Addr == [16]byte{})
	}
	return false
}

// fromSelf reports whether a datagram's source is our own socket: our
// port, and our address, or any address when we are bound to all of them
// (0.0.0.0 or ::, where the loop can come in on any local address; an
// IPv4 sender on a dual-stack socket shows up as ::ffff:a.b.c.d).
func fromSelf(self, from unix.Sockaddr) bool {
	if sys.PortOf(from) != sys.PortOf(self) {
		return false
	}
	switch s := self.(type) {
	case *unix.SockaddrInet4:
		f, ok := from.(*unix.SockaddrInet4)
		return ok && (f.Addr == s.Addr || s.Addr == [4]byte{})
	case *unix.SockaddrInet6:
		f, ok := from.(*unix.SockaddrInet6)
		return s.Addr == [16]byte{} || (ok && f.Addr == s.Addr)
	}
	return false
}

// closeOnSignal makes Ctrl-C (SIGINT) and SIGTERM close the socket,
// traced, and exit 0. The main goroutine is then blocked in recvfrom and
// never returns from it (strace shows it "<unfinished ...>"); if it was
// just between two calls, ExitOnStopSignal keeps it from starting the
// next one on the closed descriptor.
func closeOnSignal(fd int) {
	sys.ExitOnStopSignal(func(sig os.Signal) {
		sys.Note("%s: closing the socket", sys.SignalName(sig))
		sys.Close(fd)
	})
}
