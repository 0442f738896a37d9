package sys

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The wrappers for the calls every socket program makes. Each one:
//  1. with -step, says what is about to happen and waits for Enter;
//  2. makes the real call through x/sys/unix;
//  3. when tracing, prints it in strace's notation with the real result.
// Calls that can be interrupted by a signal before they do anything
// (EINTR) are made again, and the interrupted attempt is printed too: a
// retry is never hidden.

// Socket is socket(2): ask the kernel for a new endpoint. The result is a
// file descriptor, a small number like any open file's.
func Socket(domain, typ, proto int) (int, error) {
	args := ""
	if tracing {
		args = family(domain) + ", " + sockType(typ) + ", " + sockProto(domain, proto)
		pause("socket", args, -1)
	}
	fd, err := unix.Socket(domain, typ, proto)
	if tracing {
		emit("socket", args, fd, err, fd)
	}
	if err == nil {
		rememberKind(fd, domain, typ)
	}
	return fd, err
}

// SetsockoptInt is setsockopt(2) with an int value, e.g. SO_REUSEADDR = 1.
func SetsockoptInt(fd, lvl, opt, value int) error {
	args := ""
	if tracing {
		args = fmt.Sprintf("%s, %s, %s, [%d], 4", fdArg(fd), level(lvl), option(lvl, opt), value)
		pause("setsockopt", args, fd)
	}
	err := unix.SetsockoptInt(fd, lvl, opt, value)
	if tracing {
		emit("setsockopt", args, 0, err, fd)
	}
	return err
}

// GetsockoptInt is getsockopt(2) for an int option, e.g. SO_ERROR.
func GetsockoptInt(fd, lvl, opt int) (int, error) {
	if tracing {
		pause("getsockopt", fmt.Sprintf("%s, %s, %s, …", fdArg(fd), level(lvl), option(lvl, opt)), fd)
	}
	v, err := unix.GetsockoptInt(fd, lvl, opt)
	if tracing {
		val := fmt.Sprintf("[%d]", v)
		if err != nil {
			val = "0x0" // strace shows the pointer when the call fails
		}
		emit("getsockopt", fmt.Sprintf("%s, %s, %s, %s, [4]", fdArg(fd), level(lvl), option(lvl, opt), val), 0, err, fd)
	}
	return v, err
}

// Bind is bind(2): give the socket its local address and port.
func Bind(fd int, sa unix.Sockaddr) error {
	args := ""
	if tracing {
		args = fmt.Sprintf("%s, %s, %d", fdArg(fd), Sockaddr(sa), SockaddrLen(sa))
		pause("bind", args, fd)
	}
	err := unix.Bind(fd, sa)
	if err == nil {
		remember(fd, sa, nil)
	}
	if tracing {
		emit("bind", args, 0, err, fd)
	}
	return err
}

// Listen is listen(2): turn a bound stream socket into one that waits for
// connections, with room for backlog of them queued before accept.
func Listen(fd, backlog int) error {
	args := ""
	if tracing {
		args = fmt.Sprintf("%s, %d", fdArg(fd), backlog)
		pause("listen", args, fd)
	}
	err := unix.Listen(fd, backlog)
	if tracing {
		emit("listen", args, 0, err, fd)
	}
	return err
}

// Accept is accept4(2) with no flags: take the next finished connection
// off the listening socket's queue. It returns a NEW descriptor for that
// one connection; the listening socket keeps listening.
func Accept(fd int) (int, unix.Sockaddr, error) { return Accept4(fd, 0) }

// Accept4 is accept4(2) with flags (SOCK_NONBLOCK, SOCK_CLOEXEC).
func Accept4(fd, flags int) (int, unix.Sockaddr, error) {
	for {
		if tracing {
			pause("accept4", fmt.Sprintf("%s, …, %s", fdArg(fd), acceptFlags(flags)), fd)
		}
		r := newRawAddr()
		nfd, err := accept4(fd, flags, r)
		var peer unix.Sockaddr
		if err == nil {
			peer = r.decode()
			remember(nfd, nil, peer)
		}
		if tracing {
			addr, size := r.String(), "[112]"
			if err == nil {
				addr, size = Sockaddr(peer), lenInOut(unix.SizeofSockaddrAny, int(r.len))
			}
			emit("accept4", fmt.Sprintf("%s, %s, %s, %s", fdArg(fd), addr, size, acceptFlags(flags)), nfd, err, nfd)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		return nfd, peer, err
	}
}

// Connect is connect(2): ask the kernel to reach the server's address.
// For TCP this is the three-way handshake; it returns when it is done.
func Connect(fd int, sa unix.Sockaddr) error {
	for {
		args := ""
		if tracing {
			args = fmt.Sprintf("%s, %s, %d", fdArg(fd), Sockaddr(sa), SockaddrLen(sa))
			pause("connect", args, fd)
		}
		err := unix.Connect(fd, sa)
		if err == nil || err == unix.EINPROGRESS {
			remember(fd, nil, sa)
		}
		if tracing {
			emit("connect", args, 0, err, fd)
		}
		// A signal can cut a blocking connect short (the kernel restarts
		// it by itself unless the socket has a send timeout). The
		// handshake goes on meanwhile; on Linux, calling connect again
		// on a blocking socket waits for it to finish and returns 0 (or
		// its error), so the retry is the same call, as for read.
		if err == unix.EINTR {
			retryNote()
			continue
		}
		return err
	}
}

// Read is read(2): copy up to len(p) bytes that have arrived into p.
// 0 means the peer closed its side (end of file); it is not an error.
func Read(fd int, p []byte) (int, error) {
	for {
		if tracing {
			pause("read", fmt.Sprintf("%s, …, %d", fdArg(fd), len(p)), fd)
		}
		n, err := unix.Read(fd, p)
		if tracing {
			place := ticket() // at once: our place in the trace is when the call returned
			buf := pointer(p)
			if err == nil {
				buf = Quote(p[:n])
			}
			printAt(place, callLine("read", fmt.Sprintf("%s, %s, %d", fdArg(fd), buf, len(p)), n, err, fd))
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		if n < 0 {
			n = 0 // x/sys returns -1 with the error; callers count bytes
		}
		return n, err
	}
}

// Write is write(2): hand p to the kernel to send. It may take fewer
// bytes than offered (a short write); the caller sends the rest.
func Write(fd int, p []byte) (int, error) {
	for {
		args := ""
		if tracing {
			args = fmt.Sprintf("%s, %s, %d", fdArg(fd), Quote(p), len(p))
			pause("write", args, fd)
		}
		n, err := unix.Write(fd, p)
		if tracing {
			place := ticket() // at once: the peer may answer before we print
			printAt(place, callLine("write", args, n, err, fd))
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// Shutdown is shutdown(2): close one direction of the connection. SHUT_WR
// sends FIN ("I'm done sending") while still letting us read the reply.
func Shutdown(fd, how int) error {
	args := ""
	if tracing {
		args = fdArg(fd) + ", " + shutdownHow(how)
		pause("shutdown", args, fd)
	}
	var place uint64
	if tracing {
		place = ticket() // before the call: the peer answers our FIN while it runs
	}
	err := unix.Shutdown(fd, how)
	if err == nil {
		rememberFIN(fd, how)
	}
	if tracing {
		printAt(place, callLine("shutdown", args, 0, err, fd))
	}
	return err
}

// Close is close(2): give the descriptor back. For the last descriptor of
// a connected socket this also ends the connection (FIN, or RST when
// unread data is left behind).
func Close(fd int) error {
	args := ""
	if tracing {
		args = fdArg(fd)
		pause("close", args, fd)
	}
	var place uint64
	if tracing {
		place = ticket() // before the call: the peer answers our FIN while it runs
	}
	err := unix.Close(fd)
	forget(fd)
	if tracing {
		printAt(place, callLine("close", args, 0, err, -1))
	}
	return err
}

// Getsockname is getsockname(2): which local address and port the socket
// has, e.g. the ephemeral port the kernel picked at connect.
func Getsockname(fd int) (unix.Sockaddr, error) {
	if tracing {
		pause("getsockname", fdArg(fd)+", …", fd)
	}
	r := newRawAddr()
	var sa unix.Sockaddr
	err := nameCall(unix.SYS_GETSOCKNAME, fd, r)
	if err == nil {
		sa = r.decode()
		remember(fd, sa, nil) // after a bind to port 0, the port the kernel picked
	}
	if tracing {
		addr, size := r.String(), "[112]"
		if err == nil {
			addr, size = Sockaddr(sa), lenInOut(unix.SizeofSockaddrAny, int(r.len))
		}
		emit("getsockname", fmt.Sprintf("%s, %s, %s", fdArg(fd), addr, size), 0, err, fd)
	}
	return sa, err
}

// Getpeername is getpeername(2): the address of the other end.
func Getpeername(fd int) (unix.Sockaddr, error) {
	if tracing {
		pause("getpeername", fdArg(fd)+", …", fd)
	}
	r := newRawAddr()
	var sa unix.Sockaddr
	err := nameCall(unix.SYS_GETPEERNAME, fd, r)
	if err == nil {
		sa = r.decode()
	}
	if tracing {
		addr, size := r.String(), "[112]"
		if err == nil {
			addr, size = Sockaddr(sa), lenInOut(unix.SizeofSockaddrAny, int(r.len))
		}
		emit("getpeername", fmt.Sprintf("%s, %s, %s", fdArg(fd), addr, size), 0, err, fd)
	}
	return sa, err
}

// retryNote follows an EINTR line, so the learner sees why the same call
// appears twice.
func retryNote() {
	if !tracing {
		return // -q: the interrupted call was not printed either
	}
	printRaw(paint(explainColor, "# interrupted by a signal before anything happened: making the same call again") + "\n")
}
