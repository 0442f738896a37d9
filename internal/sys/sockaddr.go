package sys

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// x/sys/unix's Accept4, Getsockname, Getpeername and Recvfrom decode the
// returned address with an extra getsockopt(SO_PROTOCOL) call for every
// IPv4 or IPv6 socket (to spot rare protocols such as L2TP). strace shows
// that hidden call, so this package makes those system calls itself and
// decodes the address here: every call the program makes is one the
// learner sees.

// rawAddr is the room the kernel writes an address into, and its length.
type rawAddr struct {
	any unix.RawSockaddrAny
	len uint32
}

func newRawAddr() *rawAddr {
	return &rawAddr{len: unix.SizeofSockaddrAny}
}

func (r *rawAddr) ptr() uintptr    { return uintptr(unsafe.Pointer(&r.any)) }
func (r *rawAddr) lenPtr() uintptr { return uintptr(unsafe.Pointer(&r.len)) }

// decode turns the kernel's bytes into a unix.Sockaddr. Ports arrive in
// network byte order (big-endian): the first byte is the high one.
func (r *rawAddr) decode() unix.Sockaddr {
	switch r.any.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.any))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return &unix.SockaddrInet4{Port: int(port[0])<<8 | int(port[1]), Addr: p.Addr}
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.any))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return &unix.SockaddrInet6{Port: int(port[0])<<8 | int(port[1]), ZoneId: p.Scope_id, Addr: p.Addr}
	case unix.AF_UNIX:
		if r.len == 0 {
			return nil
		}
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(&r.any))
		n := int(r.len) - 2 // the path's bytes: what the kernel filled in after the family
		if n <= 0 {
			return &unix.SockaddrUnix{} // an unnamed socket
		}
		if n > len(p.Path) {
			n = len(p.Path)
		}
		path := make([]byte, n)
		for i := range n {
			path[i] = byte(p.Path[i])
		}
		if path[0] == 0 {
			// An abstract name: a leading NUL, no file. Written @name.
			path[0] = '@'
			return &unix.SockaddrUnix{Name: string(path)}
		}
		for i, c := range path {
			if c == 0 {
				path = path[:i]
				break
			}
		}
		return &unix.SockaddrUnix{Name: string(path)}
	}
	return nil
}

func errnoOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// String is what strace shows for the address argument when the call
// failed and the kernel wrote nothing: the pointer.
func (r *rawAddr) String() string { return fmt.Sprintf("%p", &r.any) }

// nameCall makes getsockname or getpeername.
func nameCall(trap uintptr, fd int, r *rawAddr) error {
	_, _, e := unix.RawSyscall(trap, uintptr(fd), r.ptr(), r.lenPtr())
	return errnoOf(e)
}

// recvfrom is recvfrom(2); a connected socket may get no address back
// (r.len == 0).
func recvfrom(fd int, p []byte, flags int, r *rawAddr) (int, error) {
	var buf uintptr
	if len(p) > 0 {
		buf = uintptr(unsafe.Pointer(&p[0]))
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), buf, uintptr(len(p)), uintptr(flags), r.ptr(), r.lenPtr())
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
