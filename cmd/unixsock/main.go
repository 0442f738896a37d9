// Command unixsock shows unix domain sockets (AF_UNIX): sockets between
// processes on the same machine, named by a file path instead of an
// address and port. They speak the same calls as TCP and UDP, and carry
// two things a network cannot: who the other process is (SO_PEERCRED),
// and open file descriptors (SCM_RIGHTS).
//
//	serve:   socket(AF_UNIX) → bind(path) → listen → accept4 → getsockopt(SO_PEERCRED) → read/write … → close
//	send:    socket(AF_UNIX) → connect(path) → write … → shutdown(SHUT_WR) → read … → close
//	pair:    socketpair → a child process inherits one end → read/write between parent and child
//	sendfd:  openat(FILE) → sendmsg(SCM_RIGHTS) ;  recvfd: recvmsg → read(the descriptor that arrived)
//
// Every call is printed on stderr as strace prints it.
//
// Run (the socket files go in ./run, a directory only you can enter):
//
//	mkdir -p -m 700 run
//	Terminal A:  ./bin/unixsock serve -path run/echo.sock
//	Terminal B:  printf 'hello\n' | ./bin/unixsock send -path run/echo.sock
//
// Other ways to run it:
//
//	./bin/unixsock serve -abstract socklab-echo     # Linux: a name with no file (@socklab-echo)
//	./bin/unixsock serve -dgram -path run/dgram.sock  # datagrams; credentials via SCM_CREDENTIALS
//	./bin/unixsock send -dgram -path run/dgram.sock hi there
//	./bin/unixsock pair                             # socketpair shared with a child process
//	./bin/unixsock recvfd -path run/fd.sock         # Terminal A: wait for a descriptor
//	./bin/unixsock sendfd -path run/fd.sock go.mod  # Terminal B: send an open file
//
// Watch:
//
//	ss -xlp                    # listening unix sockets: path or @name, and the process
//	ls -l run/                 # a socket file: srw------- (the s is for socket)
//
// Safety, for the socket file: serve and recvfd never remove anything that
// is not a socket; a socket file with no server behind it (a non-blocking
// connect says ECONNREFUSED) is stale and replaced, while EAGAIN (a live
// server with a full queue) stops us; the file is created 0600 (-mode)
// and removed on exit, Ctrl-C and SIGTERM included, but only if the path
// still names the file we made; a path too long for sun_path is refused
// before any system call.
//
// Safety, against peers: serve -dgram closes any descriptor a sender
// attaches and never waits to reply (MSG_DONTWAIT); recvfd says what kind
// of file it received (fstat) and reads at most -max-bytes, for at most
// -read-timeout.
//
// See: lessons/09-unix-sockets.md; man 7 unix, man 2 socketpair,
// man 2 sendmsg, man 3 cmsg.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

const usage = `unixsock: unix domain sockets

  unixsock serve  -path FILE | -abstract NAME [-dgram] [-mode 0600]   echo server; shows each peer's pid, uid, gid
  unixsock send   -path FILE | -abstract NAME                         stdin to the socket, the reply to stdout
  unixsock send   -path FILE | -abstract NAME -dgram MSG...           one datagram per MSG, one reply each
  unixsock pair                                                       socketpair shared with a child process
  unixsock sendfd -path FILE | -abstract NAME FILE_TO_SEND            pass an open file (SCM_RIGHTS)
  unixsock recvfd -path FILE | -abstract NAME [-mode 0600]            receive one and read through it (bounded:
                 [-max-bytes 1048576] [-read-timeout 5s])

All take -q, -explain, -step and -color. "unixsock serve -h" lists a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		serve(args)
	case "send":
		send(args)
	case "pair":
		pair(args)
	case pairChildCommand:
		pairChild(args)
	case "sendfd":
		sendfd(args)
	case "recvfd":
		recvfd(args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		sys.Fatalf("unknown command %q: use serve, send, pair, sendfd or recvfd (unixsock -h)", os.Args[1])
	}
}

// endpoint is where a socket lives: a file path, or a Linux abstract name.
type endpoint struct {
	addr unix.Sockaddr
	path string // the socket file; "" for an abstract name
	name string // for people: run/echo.sock or @socklab-echo
}

// addressFlags adds -path and -abstract to fs; the returned function
// checks them after parsing, before any system call.
func addressFlags(fs *flag.FlagSet) func() endpoint {
	path := fs.String("path", "", "socket file, e.g. run/echo.sock")
	abstract := fs.String("abstract", "", "Linux abstract name (no file), e.g. socklab-echo; shown as @socklab-echo")
	return func() endpoint {
		switch {
		case *path != "" && *abstract != "":
			sys.Fatalf("give -path or -abstract, not both")
		case *abstract != "":
			sa, err := sys.AbstractAddr(*abstract)
			if err != nil {
				sys.Fatalf("-abstract: %v", err)
			}
			return endpoint{addr: sa, name: "@" + *abstract}
		case *path != "":
			sa, err := sys.UnixAddr(*path)
			if err != nil {
				sys.Fatalf("-path: %v", err)
			}
			return endpoint{addr: sa, path: *path, name: *path}
		}
		sys.Fatalf("where is the socket? give -path FILE (e.g. -path run/echo.sock) or -abstract NAME")
		return endpoint{}
	}
}

// modeFlag adds -mode: the socket file's permissions, in octal.
func modeFlag(fs *flag.FlagSet) func() uint32 {
	text := fs.String("mode", "0600", "permissions of the socket file, in octal; connecting needs write permission")
	return func() uint32 {
		mode, err := strconv.ParseUint(*text, 8, 32)
		if err != nil || mode > 0o777 {
			sys.Fatalf("-mode %q: want permissions in octal, from 0000 to 0777, like 0600 or 0660", *text)
		}
		return uint32(mode)
	}
}

func parse(fs *flag.FlagSet, args []string) {
	sys.RegisterFlags(fs)
	fs.Parse(args)
	if err := sys.Configure(); err != nil {
		sys.Fatalf("%v", err)
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("unixsock serve", flag.ExitOnError)
	where := addressFlags(fs)
	modeOf := modeFlag(fs)
	dgram := fs.Bool("dgram", false, "datagram socket (SOCK_DGRAM) instead of a stream")
	parse(fs, args)
	if fs.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (serve takes only flags; see unixsock serve -h)", fs.Arg(0))
	}
	ep, mode := where(), modeOf()
	typ := unix.SOCK_STREAM
	if *dgram {
		typ = unix.SOCK_DGRAM
	}

	// 0. Before bind can create the socket file, make sure nothing that
	// matters is in the way (path.go).
	clearTheWay(ep, typ)

	// 1. socket(2) with AF_UNIX: the same call as for TCP, another
	// family. The protocol is 0: a unix socket has only one.
	fd, err := sys.Socket(unix.AF_UNIX, typ, 0)
	if err != nil {
		fatal("socket", err)
	}

	closeOnSignal(fd)

	// 2. bind(2) creates the socket file (path.go sets its permissions).
	bindSocket(fd, ep, mode)

	if *dgram {
		serveDatagrams(fd)
		return
	}

	// 3. listen(2), as for TCP.
	if err := sys.Listen(fd, 16); err != nil {
		fatal("listen", err)
	}

	// 4. One client at a time: accept4, ask who it is, echo, close.
	for {
		conn, _, err := sys.Accept(fd)
		if err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			fatal("accept4", err)
		}
		// 4a. getsockopt(2) SO_PEERCRED: the client's pid, uid and gid,
		// as the kernel recorded them when it connected. A TCP server
		// only learns an address and port; this is the process itself,
		// and it cannot lie about it. Servers use it to decide what the
		// client may do (uid 0 may do anything, say).
		showPeer(conn)
		if err := echo(conn); err != nil {
			sys.Note("connection ended: %s", sys.Describe(err))
		}
		if err := sys.Close(conn); err != nil {
			sys.Note("close: %s", sys.Describe(err))
		}
	}
}

// serveDatagrams answers each datagram with the same bytes, sent back to
// the sender's own address. A datagram socket has no connection, so no
// single peer for SO_PEERCRED; instead SO_PASSCRED asks the kernel to
// attach the sender's credentials to every message (SCM_CREDENTIALS),
// which recvmsg hands over with the data.
func serveDatagrams(fd int) {
	if err := sys.PassCred(fd); err != nil {
		sys.Note("%v: senders will not be identified", err)
	}
	buf := make([]byte, 65536)
	// Room for the credentials and for descriptors a sender may attach
	// uninvited; what does not fit, the kernel closes (MSG_CTRUNC).
	oob := make([]byte, unix.CmsgSpace(64)+unix.CmsgSpace(maxFDs*4))
	for {
		// 3. recvmsg(2): the datagram, its sender's address, and the
		// control messages. Asking for control messages means taking
		// all of them: any sender may attach descriptors (SCM_RIGHTS),
		// and the kernel installs them in this process. Kept, they
		// would pile up until we run out (EMFILE). MSG_CMSG_CLOEXEC
		// marks them close-on-exec at once; closeRights closes them.
		n, oobn, flags, from, err := sys.Recvmsg(fd, buf, oob, sys.MsgCmsgCloexec)
		if err != nil {
			fatal("recvmsg", err)
		}
		closeRights(oob[:oobn])
		who := "a sender"
		if c, ok := sys.Creds(oob[:oobn]); ok {
			who = fmt.Sprintf("pid %d%s, uid %d, gid %d", c.Pid, command(c.Pid), c.Uid, c.Gid)
		}
		addr := "none"
		if !unnamed(from) {
			addr = sys.Addr(from)
		}
		sys.Note("a datagram of %d bytes from %s, address %s", n, who, addr)
		if flags&unix.MSG_TRUNC != 0 {
			sys.Note("MSG_TRUNC: it was larger than our %d-byte buffer; the rest is lost", len(buf))
		}
		if unnamed(from) {
			// An unbound datagram socket can send but has no name to
			// reply to: nothing can reach it.
			sys.Note("the sender has no address (it did not bind), so there is no way to reply")
			continue
		}
		// 4. sendto(2) with MSG_DONTWAIT: the reply goes to the sender's
		// address. A unix datagram waits in the receiver's queue (a few
		// datagrams long, net.unix.max_dgram_qlen); a sender that never
		// reads its replies fills it, and a blocking sendto would then
		// wait for it forever while every other client goes unanswered.
		// So the reply is sent only if there is room now.
		_, err = sys.Sendto(fd, buf[:min(n, len(buf))], unix.MSG_DONTWAIT, from)
		switch err {
		case nil:
		case unix.EAGAIN:
			sys.Note("EAGAIN: %s does not read its replies (its queue is full): this one is dropped, not waited for", sys.Addr(from))
		default:
			sys.Note("reply to %s failed: %s", sys.Addr(from), sys.Describe(err))
		}
	}
}

// closeRights closes every descriptor that came in SCM_RIGHTS control
// messages: this server takes data, not open files.
func closeRights(oob []byte) {
	fds, _ := sys.Rights(oob)
	if len(fds) == 0 {
		return
	}
	sys.Note("%d descriptor(s) came with the datagram (SCM_RIGHTS): not wanted here, so closed", len(fds))
	for _, f := range fds {
		if err := sys.Close(f); err != nil {
			sys.Note("close: %s", sys.Describe(err))
		}
	}
}

// unnamed reports whether a sender has no address to reply to.
func unnamed(sa unix.Sockaddr) bool {
	u, ok := sa.(*unix.SockaddrUnix)
	return sa == nil || (ok && u.Name == "")
}

// showPeer prints who is at the other end of a connected stream socket.
func showPeer(fd int) {
	c, err := sys.GetsockoptPeerCred(fd)
	if err != nil {
		sys.Note("peer credentials: %s", sys.Describe(err))
		return
	}
	sys.Note("peer: pid %d%s, uid %d, gid %d", c.Pid, command(c.Pid), c.Uid, c.Gid)
}

// command is " (name)" for a process id, from /proc/PID/comm (Linux), or
// " (exited)" when the peer is already gone (a sendfd client may send and
// exit before we look). Reading it is file I/O, not a socket call, so it
// is not traced; it uses plain open/read/close rather than os.ReadFile,
// which would make the Go runtime open its own epoll descriptors and
// shift the numbers of the sockets that follow.
func command(pid int) string {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/comm", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return " (exited)"
	}
	defer unix.Close(fd)
	raw := make([]byte, 64)
	n, err := unix.Read(fd, raw)
	if err != nil || n < 2 {
		return " (exited)"
	}
	return " (" + string(raw[:n-1]) + ")"
}

// echo sends back everything the client sends until it is done (read
// returns 0) or the connection fails.
func echo(fd int) error {
	buf := make([]byte, 4096)
	for {
		n, err := sys.Read(fd, buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // end of file: the client shut down its side or closed
		}
		if err := writeAll(fd, buf[:n]); err != nil {
			return err
		}
	}
}

// writeAll hands all of p to the kernel, in more than one write if the
// kernel takes less than all of it at once.
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
