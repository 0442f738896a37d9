package sys

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The calls a datagram socket adds. With no connection for the kernel to
// remember the other end, every datagram carries its address: sendto says
// where it goes, recvfrom says where it came from.

// Sendto is sendto(2): send p as one datagram to the address to. On a
// connected socket to may be nil (strace shows NULL, 0): the kernel uses
// the address given to connect. A datagram goes whole or not at all, so
// the result is len(p) or an error (EMSGSIZE when it is too big).
func Sendto(fd int, p []byte, flags int, to unix.Sockaddr) (int, error) {
	raw, rawLen, err := encodeSockaddr(to)
	if err != nil {
		return 0, err // refused before any system call: nothing to print
	}
	for {
		args := ""
		if tracing {
			args = fmt.Sprintf("%s, %s, %d, %s, %s, %d", fdArg(fd), Quote(p), len(p), msgFlags(flags), Sockaddr(to), SockaddrLen(to))
			pause("sendto", args, fd)
		}
		n, err := sendto(fd, p, flags, raw, rawLen)
		if tracing {
			emit("sendto", args, n, err, fd)
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

// Recvfrom is recvfrom(2): take the next datagram into p and learn who
// sent it. One call, one datagram: the kernel never merges two, and never
// splits one. If the datagram is larger than p, the rest is thrown away;
// with MSG_TRUNC in flags the result is the datagram's real length (more
// than len(p)), which is how a program learns that it lost bytes. from is
// nil when the sender has no address (an unbound unix datagram socket).
func Recvfrom(fd int, p []byte, flags int) (n int, from unix.Sockaddr, err error) {
	for {
		if tracing {
			pause("recvfrom", fmt.Sprintf("%s, …, %d, %s, …", fdArg(fd), len(p), msgFlags(flags)), fd)
		}
		r := newRawAddr()
		n, err = recvfrom(fd, p, flags, r)
		from = nil
		if err == nil && r.len > 0 {
			from = r.decode()
		}
		if tracing {
			buf, addr, size := pointer(p), r.String(), "[112]"
			if err == nil {
				buf = Quote(p[:min(n, len(p))]) // strace shows what landed in the buffer
				size = lenInOut(unix.SizeofSockaddrAny, int(r.len))
				if from != nil {
					addr = Sockaddr(from)
				}
			}
			emit("recvfrom", fmt.Sprintf("%s, %s, %d, %s, %s, %s", fdArg(fd), buf, len(p), msgFlags(flags), addr, size), n, err, fd)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, from, err
	}
}

// SetsockoptTimeval is setsockopt(2) with a time, such as SO_RCVTIMEO: a
// blocking receive then gives up after d with EAGAIN instead of waiting
// forever. strace 6.1 shows the struct timeval as its raw 16 bytes.
func SetsockoptTimeval(fd, lvl, opt int, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	args := ""
	if tracing {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&tv)), unsafe.Sizeof(tv))
		args = fmt.Sprintf("%s, %s, %s, %s, %d", fdArg(fd), level(lvl), option(lvl, opt), Quote(raw), len(raw))
		pause("setsockopt", args, fd)
	}
	err := unix.SetsockoptTimeval(fd, lvl, opt, &tv)
	if tracing {
		emit("setsockopt", args, 0, err, fd)
	}
	return err
}

// sendto makes the system call itself: x/sys's Sendto does not return the
// byte count.
func sendto(fd int, p []byte, flags int, to unsafe.Pointer, toLen uint32) (int, error) {
	var buf unsafe.Pointer
	if len(p) > 0 {
		buf = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(buf), uintptr(len(p)), uintptr(flags), uintptr(to), uintptr(toLen))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// encodeSockaddr lays an address out the way the kernel reads it (struct
// sockaddr_in, sockaddr_in6, sockaddr_un). Ports go in network byte order:
// high byte first. nil becomes a NULL pointer and length 0.
func encodeSockaddr(sa unix.Sockaddr) (unsafe.Pointer, uint32, error) {
	r := new(unix.RawSockaddrAny)
	switch a := sa.(type) {
	case nil:
		return nil, 0, nil
	case *unix.SockaddrInet4:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(r))
		p.Family = unix.AF_INET
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		port[0], port[1] = byte(a.Port>>8), byte(a.Port)
		p.Addr = a.Addr
		setSockaddrLen(r, unix.SizeofSockaddrInet4)
		return unsafe.Pointer(r), unix.SizeofSockaddrInet4, nil
	case *unix.SockaddrInet6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(r))
		p.Family = unix.AF_INET6
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		port[0], port[1] = byte(a.Port>>8), byte(a.Port)
		p.Addr = a.Addr
		p.Scope_id = a.ZoneId
		setSockaddrLen(r, unix.SizeofSockaddrInet6)
		return unsafe.Pointer(r), unix.SizeofSockaddrInet6, nil
	case *unix.SockaddrUnix:
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(r))
		p.Family = unix.AF_UNIX
		name := []byte(a.Name)
		if len(name) > 0 && name[0] == '@' {
			name[0] = 0 // an abstract name: a leading NUL instead of a file
		}
		if len(name) > len(p.Path)-1 && !(len(name) == len(p.Path) && name[0] == 0) {
			return nil, 0, unix.EINVAL
		}
		for i, c := range name {
			p.Path[i] = int8(c)
		}
		n := uint32(SockaddrLen(a))
		setSockaddrLen(r, n)
		return unsafe.Pointer(r), n, nil
	}
	return nil, 0, unix.EAFNOSUPPORT
}
