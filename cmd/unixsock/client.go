package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// send is the client: for a stream, stdin goes to the socket and the
// reply to stdout, as tcpclient does over TCP; with -dgram, each argument
// is one datagram.
func send(args []string) {
	fs := flag.NewFlagSet("unixsock send", flag.ExitOnError)
	where := addressFlags(fs)
	dgram := fs.Bool("dgram", false, "send datagrams (SOCK_DGRAM), one per MSG argument, and print one reply each")
	timeout := fs.Duration("timeout", 2*time.Second, "with -dgram: how long to wait for each send and each reply")
	parse(fs, args)
	ep := where()
	if *dgram {
		sendDatagrams(ep, fs.Args(), *timeout)
		return
	}
	if fs.NArg() > 0 {
		sys.Fatalf("unexpected argument %q: a stream's data comes from stdin (or use -dgram MSG...)", fs.Arg(0))
	}

	// 1. socket(2): a unix stream socket.
	fd, err := sys.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 2. connect(2). Nothing goes over a wire: the kernel looks the name
	// up (a file path is checked like any file: it must exist, and we
	// need write permission on it) and joins us to the listening socket.
	// ENOENT: no such file. ECONNREFUSED: a socket file, but no server
	// has it open any more.
	if err := sys.Connect(fd, ep.addr); err != nil {
		connectFailed("connect", ep, err, false)
	}

	// 2a. getsockopt(2) SO_PEERCRED works from this side too: the
	// server's pid, uid and gid, from when it called listen.
	showPeer(fd)

	// 3. Both directions at once, as in tcpclient (UNP's str_cli): a
	// goroutine copies stdin to the socket while this one copies the
	// socket to stdout, so big inputs cannot deadlock (the echo must be
	// read while we still send). The receiver lets the sender go first,
	// which keeps the trace in the same order run after run (sys.Turns).
	go sendStdin(fd)
	receive(fd)
	turns.WaitForSender()

	// 4. close(2).
	if err := sys.Close(fd); err != nil {
		sys.Fatal("close", err)
	}
}

// connectFailed ends the program on a failed connect (or a datagram's
// sendto, which meets the same errors), saying what it means for a unix
// socket.
func connectFailed(call string, ep endpoint, err error, dgram bool) {
	fmt.Fprintln(os.Stderr, sys.Failure(call+" "+ep.name, err))
	var st unix.Stat_t
	switch {
	case errors.Is(err, unix.ECONNREFUSED) && ep.path != "" &&
		unix.Stat(ep.path, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFSOCK:
		// The kernel says ECONNREFUSED for any file that is not a
		// socket, too: the refusal is about the file, not a server.
		fmt.Fprintf(os.Stderr, "why: %s is %s, not a socket file: only a socket can be connected to (ls -l shows a socket with an s first)\n", ep.path, kindOf(uint32(st.Mode)))
	case errors.Is(err, unix.ECONNREFUSED) && dgram:
		fmt.Fprintf(os.Stderr, "why: no datagram socket has %s: the file is stale, or a stream server has it (it refuses datagrams)\n", ep.name)
	case errors.Is(err, unix.ECONNREFUSED) && ep.path != "":
		fmt.Fprintf(os.Stderr, "why: %s is a socket file, but no server has it open: a stale file from a server that is gone\n", ep.path)
	case errors.Is(err, unix.ECONNREFUSED):
		fmt.Fprintf(os.Stderr, "why: no socket is bound to the abstract name %s\n", ep.name)
	case errors.Is(err, unix.EPROTOTYPE):
		fmt.Fprintf(os.Stderr, "why: the socket at %s is of the other type (stream or datagram): add or remove -dgram\n", ep.name)
	case errors.Is(err, unix.EACCES):
		fmt.Fprintf(os.Stderr, "why: connecting needs write permission on the socket file and the right to enter every directory above it (ls -ld %s %s)\n", filepath.Dir(ep.path), ep.path)
	}
	os.Exit(1)
}

// turns keeps the sender and the receiver in the same order in the
// trace, run after run.
var turns = sys.NewTurns()

// sendStdin writes stdin to the socket, then shutdown(SHUT_WR): "no more
// data from me", and the server's read returns 0.
func sendStdin(fd int) {
	defer turns.SenderDone()
	buf := make([]byte, 4096)
	for {
		// Reading stdin is not a socket call, so it is not traced. If it
		// waits (a person typing), the receiver starts meanwhile.
		stuck := turns.MayStall()
		n, err := os.Stdin.Read(buf)
		stuck.Stop()
		if n > 0 {
			stuck := turns.MayStall()
			werr := writeAll(fd, buf[:n])
			stuck.Stop()
			if werr != nil {
				sys.Fatal("write", werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sys.Fatal("reading stdin", err)
		}
	}
	if err := sys.Shutdown(fd, unix.SHUT_WR); err != nil {
		sys.Fatal("shutdown", err)
	}
}

// receive copies the socket to stdout until the server is done (read
// returns 0).
func receive(fd int) {
	turns.ReceiverWaits()
	buf := make([]byte, 4096)
	for {
		n, err := sys.Read(fd, buf)
		if err != nil {
			sys.Fatal("read", err)
		}
		if n == 0 {
			return
		}
		if _, err := os.Stdout.Write(buf[:n]); err != nil {
			sys.Fatal("writing stdout", err)
		}
	}
}

// sendDatagrams sends each message as one datagram, then reads one reply
// per message, as udpecho send does over UDP.
func sendDatagrams(ep endpoint, msgs []string, timeout time.Duration) {
	if len(msgs) == 0 {
		sys.Fatalf("nothing to send: with -dgram, give each datagram as an argument: unixsock send -dgram -path P hi there")
	}
	if timeout <= 0 {
		sys.Fatalf("-timeout must be more than 0, not %v", timeout)
	}
	if runtime.GOOS != "linux" {
		sys.Fatalf("-dgram replies need this socket to have a name; binding to none (autobind) gives it one: %v", sys.ErrOnlyLinux)
	}

	// 1. socket(2): a unix datagram socket.
	fd, err := sys.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		sys.Fatal("socket", err)
	}

	// 2. bind(2) with no name at all (length 2, just the family): Linux
	// "autobinds" the socket to a fresh abstract name. Without a name of
	// our own, the server would have no address to send the reply to:
	// unlike UDP, a unix datagram socket gets no name by sending.
	if err := sys.Bind(fd, &unix.SockaddrUnix{}); err != nil {
		sys.Fatal("bind", err)
	}
	if me, err := sys.Getsockname(fd); err == nil {
		sys.Note("the kernel named this socket %s", sys.Addr(me))
	}

	// 3. SO_RCVTIMEO: give up waiting for a reply after timeout. And
	// SO_SNDTIMEO: sending can wait too, when the server's queue is full
	// (a server that does not keep up, or is stuck), so give up on that
	// after timeout as well; both fail with EAGAIN.
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, timeout); err != nil {
		sys.Fatal("setsockopt SO_RCVTIMEO", err)
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, timeout); err != nil {
		sys.Fatal("setsockopt SO_SNDTIMEO", err)
	}

	// 4. sendto(2) each datagram to the server's name, then one recvfrom
	// per reply: each takes exactly one datagram.
	for _, m := range msgs {
		_, err := sys.Sendto(fd, []byte(m), 0, ep.addr)
		if err == unix.EAGAIN {
			fmt.Fprintf(os.Stderr, "unixsock: the server's queue stayed full for %v: it is not reading (stuck, or busy elsewhere)\n", timeout)
			os.Exit(1)
		}
		if err != nil {
			connectFailed("sendto", ep, err, true) // ENOENT, ECONNREFUSED: the same causes as for connect
		}
	}
	buf := make([]byte, 65536)
	for i := range msgs {
		n, _, err := sys.Recvfrom(fd, buf, 0)
		if err == unix.EAGAIN {
			fmt.Fprintf(os.Stderr, "unixsock: no reply within %v (%d of %d replies arrived)\n", timeout, i, len(msgs))
			os.Exit(1)
		}
		if err != nil {
			sys.Fatal("recvfrom", err)
		}
		fmt.Printf("%s\n", buf[:n])
	}

	// 5. close(2).
	if err := sys.Close(fd); err != nil {
		sys.Fatal("close", err)
	}
}
