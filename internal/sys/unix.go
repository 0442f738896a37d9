package sys

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The calls of unix domain sockets (AF_UNIX): sockets between processes on
// one machine, named by a file path (or, on Linux, an abstract name), that
// can carry more than bytes: open file descriptors and the sender's
// identity. Linux-only pieces live in unix_linux.go, with unix_other.go
// saying "only on Linux" everywhere else.

// ErrOnlyLinux is wrapped by the errors of calls that only Linux has
// (abstract names, SO_PEERCRED, SO_PASSCRED).
var ErrOnlyLinux = errors.New("only on Linux")

// MaxUnixPath is the longest socket path this system takes: sun_path's
// size minus the closing NUL (107 bytes on Linux, 103 on macOS and FreeBSD).
var MaxUnixPath = len(unix.RawSockaddrUnix{}.Path) - 1

// UnixAddr is the address of a socket file at path. A path too long for
// sun_path is refused here, before any system call, rather than cut short
// into a different name.
func UnixAddr(path string) (unix.Sockaddr, error) {
	switch {
	case path == "":
		return nil, errors.New("the socket path is empty")
	case strings.IndexByte(path, 0) >= 0:
		return nil, fmt.Errorf("the socket path %q contains a NUL byte", path)
	case path[0] == '@':
		return nil, fmt.Errorf("the socket path %q starts with @, which means an abstract name; write ./%s for a file of that name", path, path)
	case len(path) > MaxUnixPath:
		return nil, fmt.Errorf("the socket path is %d bytes, but sun_path holds at most %d here: use a shorter path (a directory nearer the root, or a relative path)", len(path), MaxUnixPath)
	}
	return &unix.SockaddrUnix{Name: path}, nil
}

// PeerCred is who is at the other end of a unix socket, as the kernel
// recorded it: for a stream socket when it connected (or when socketpair
// made the pair); for a datagram, when it was sent.
type PeerCred struct {
	Pid, Uid, Gid int
}

func (c PeerCred) String() string {
	return fmt.Sprintf("{pid=%d, uid=%d, gid=%d}", c.Pid, c.Uid, c.Gid)
}

// Socketpair is socketpair(2): two sockets already connected to each
// other, like a pipe that works in both directions. A process keeps one
// end and gives the other to a child; whatever one end writes, the other
// reads.
func Socketpair(domain, typ, proto int) ([2]int, error) {
	args := ""
	if tracing {
		args = family(domain) + ", " + sockType(typ) + ", " + sockProto(domain, proto)
		pause("socketpair", args, -1)
	}
	fds := new([2]int32)
	_, _, e := unix.RawSyscall6(unix.SYS_SOCKETPAIR, uintptr(domain), uintptr(typ), uintptr(proto), uintptr(unsafe.Pointer(fds)), 0, 0)
	err := errnoOf(e)
	if tracing {
		pair := fmt.Sprintf("%p", fds) // strace shows the pointer when it failed
		if err == nil {
			pair = "[" + fdArg(int(fds[0])) + ", " + fdArg(int(fds[1])) + "]"
		}
		emit("socketpair", args+", "+pair, 0, err, -1)
	}
	if err != nil {
		return [2]int{-1, -1}, err
	}
	return [2]int{int(fds[0]), int(fds[1])}, nil
}

// OpenRead is openat(2) with O_RDONLY|O_CLOEXEC: open a file for reading.
// It is not a socket call, but the descriptor it returns is the one a
// program passes over a unix socket with SCM_RIGHTS, so it is traced.
func OpenRead(path string) (int, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC
	args := ""
	if tracing {
		args = fmt.Sprintf("AT_FDCWD, %s, O_RDONLY|O_CLOEXEC", quoteAll([]byte(path)))
		pause("openat", args, -1)
	}
	fd, err := unix.Openat(unix.AT_FDCWD, path, flags, 0)
	if tracing {
		emit("openat", args, fd, err, -1)
	}
	return fd, err
}

// Sendmsg is sendmsg(2): send p together with control messages (oob),
// such as open file descriptors built with unix.UnixRights. to is nil on
// a connected socket.
func Sendmsg(fd int, p, oob []byte, to unix.Sockaddr, flags int) (int, error) {
	name, nameLen, err := encodeSockaddr(to)
	if err != nil {
		return 0, err
	}
	for {
		args := ""
		if tracing {
			args = fmt.Sprintf("%s, {msg_name=%s, msg_namelen=%d, %s, %s, msg_flags=0}, %s",
				fdArg(fd), Sockaddr(to), nameLen, iovArg(p, len(p)), controlArg(oob, len(oob)), msgFlags(flags))
			pause("sendmsg", args, fd)
		}
		msg := new(unix.Msghdr)
		iov := new(unix.Iovec)
		msg.Name = (*byte)(name)
		msg.Namelen = nameLen
		setBuffers(msg, iov, p, oob)
		n, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(msg)), uintptr(flags))
		runtime.KeepAlive(p)
		runtime.KeepAlive(oob)
		err := errnoOf(e)
		if err != nil {
			n = ^uintptr(0)
		}
		if tracing {
			emit("sendmsg", args, int(n), err, fd)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		if err != nil {
			return 0, err
		}
		return int(n), nil
	}
}

// Recvmsg is recvmsg(2): receive into p, with room in oob for control
// messages (descriptors, credentials), and the sender's address. n is the
// kernel's byte count, oobn how much of oob it filled, recvflags what it
// says about the message (MSG_TRUNC: the datagram did not fit in p;
// MSG_CTRUNC: the control messages did not fit in oob).
func Recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error) {
	for {
		if tracing {
			pause("recvmsg", fmt.Sprintf("%s, …, %s", fdArg(fd), msgFlags(flags)), fd)
		}
		r := newRawAddr()
		msg := new(unix.Msghdr)
		iov := new(unix.Iovec)
		msg.Name = (*byte)(unsafe.Pointer(&r.any))
		msg.Namelen = r.len
		setBuffers(msg, iov, p, oob)
		ret, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(msg)), uintptr(flags))
		runtime.KeepAlive(p)
		runtime.KeepAlive(oob)
		err = errnoOf(e)
		n, oobn, recvflags, from = -1, 0, 0, nil
		if err == nil {
			n, oobn, recvflags = int(ret), int(msg.Controllen), int(msg.Flags)
			r.len = msg.Namelen
			if r.len > 0 {
				from = r.decode()
			}
		}
		if tracing {
			// After a failure strace shows only the name length offered.
			args := fmt.Sprintf("%s, {msg_namelen=%d}, %s", fdArg(fd), unix.SizeofSockaddrAny, msgFlags(flags))
			if err == nil {
				name := r.String()
				if from != nil {
					name = Sockaddr(from)
				}
				args = fmt.Sprintf("%s, {msg_name=%s, msg_namelen=%d => %d, %s, %s, msg_flags=%s}, %s",
					fdArg(fd), name, unix.SizeofSockaddrAny, r.len, iovArg(p, n), controlArg(oob, oobn), msgFlags(recvflags), msgFlags(flags))
			}
			emit("recvmsg", args, n, err, fd)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, oobn, recvflags, from, err
	}
}

// setBuffers points the message header at p (one iovec) and oob.
func setBuffers(msg *unix.Msghdr, iov *unix.Iovec, p, oob []byte) {
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = iov
		msg.SetIovlen(1)
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
}

// iovArg is strace's msg_iov for one buffer of which n bytes were used.
func iovArg(p []byte, n int) string {
	if len(p) == 0 {
		return "msg_iov=NULL, msg_iovlen=0"
	}
	return fmt.Sprintf("msg_iov=[{iov_base=%s, iov_len=%d}], msg_iovlen=1", Quote(p[:max(0, min(n, len(p)))]), len(p))
}

// controlArg is strace's msg_control and msg_controllen for the first n
// bytes of oob: [{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}].
func controlArg(oob []byte, n int) string {
	if n == 0 {
		return "msg_controllen=0"
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:n])
	if err != nil {
		return fmt.Sprintf("msg_control=%s, msg_controllen=%d", pointer(oob), n)
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf("{cmsg_len=%d, cmsg_level=%s, cmsg_type=%s, cmsg_data=%s}",
			m.Header.Len, level(int(m.Header.Level)), cmsgType(int(m.Header.Level), int(m.Header.Type)), cmsgData(m))
	}
	return fmt.Sprintf("msg_control=[%s], msg_controllen=%d", strings.Join(parts, ", "), n)
}

func cmsgType(lvl, typ int) string {
	if lvl == unix.SOL_SOCKET {
		switch typ {
		case unix.SCM_RIGHTS:
			return "SCM_RIGHTS"
		case scmCredentials:
			return "SCM_CREDENTIALS"
		}
	}
	return itoa(typ)
}

// cmsgData shows the descriptors of SCM_RIGHTS as a list, the sender of
// SCM_CREDENTIALS as {pid=…, uid=…, gid=…}, anything else as bytes.
func cmsgData(m unix.SocketControlMessage) string {
	if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_RIGHTS {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil {
			s := make([]string, len(fds))
			for i, fd := range fds {
				s[i] = fdArg(fd)
			}
			return "[" + strings.Join(s, ", ") + "]"
		}
	}
	if c, ok := credsOf(m); ok {
		return c.String()
	}
	return Quote(m.Data)
}

// Rights returns the descriptors that arrived in SCM_RIGHTS control
// messages: new descriptors in this process, for the files the sender had
// open.
func Rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_RIGHTS {
			got, err := unix.ParseUnixRights(&m)
			if err != nil {
				return fds, err
			}
			fds = append(fds, got...)
		}
	}
	return fds, nil
}

// Creds returns the sender's credentials from an SCM_CREDENTIALS control
// message (Linux, with SO_PASSCRED on); ok is false when there is none.
func Creds(oob []byte) (c PeerCred, ok bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return c, false
	}
	for _, m := range msgs {
		if c, ok := credsOf(m); ok {
			return c, true
		}
	}
	return c, false
}
