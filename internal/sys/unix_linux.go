package sys

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

const scmCredentials = unix.SCM_CREDENTIALS

// AbstractAddr is the address of a name in Linux's abstract namespace:
// no file on disk, written @name (strace, ss -x). The name disappears with
// the last socket bound to it, so there is nothing to clean up; anyone on
// the machine (in the same network namespace) may connect, since there is
// no file whose permissions could say otherwise.
func AbstractAddr(name string) (unix.Sockaddr, error) {
	max := len(unix.RawSockaddrUnix{}.Path) - 1 // the leading NUL takes one byte
	switch {
	case name == "":
		return nil, fmt.Errorf("the abstract name is empty")
	case len(name) > max:
		return nil, fmt.Errorf("the abstract name is %d bytes, but at most %d fit in sun_path", len(name), max)
	}
	return &unix.SockaddrUnix{Name: "@" + name}, nil
}

// GetsockoptPeerCred is getsockopt(SO_PEERCRED): the pid, uid and gid of
// the process at the other end of a connected unix stream socket, as the
// kernel saw it at connect (or socketpair). The peer cannot lie about it.
func GetsockoptPeerCred(fd int) (PeerCred, error) {
	if tracing {
		pause("getsockopt", fdArg(fd)+", SOL_SOCKET, SO_PEERCRED, …", fd)
	}
	cred := new(unix.Ucred)
	size := uint32(unix.SizeofUcred)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERCRED,
		uintptr(unsafe.Pointer(cred)), uintptr(unsafe.Pointer(&size)), 0)
	err := errnoOf(e)
	c := PeerCred{Pid: int(cred.Pid), Uid: int(cred.Uid), Gid: int(cred.Gid)}
	if tracing {
		val := fmt.Sprintf("%p", cred)
		if err == nil {
			val = c.String()
		}
		emit("getsockopt", fmt.Sprintf("%s, SOL_SOCKET, SO_PEERCRED, %s, [%d]", fdArg(fd), val, size), 0, err, fd)
	}
	return c, err
}

// PassCred turns SO_PASSCRED on: from now on every message received on
// fd comes with an SCM_CREDENTIALS control message saying who sent it.
// This is how a datagram socket, which has no single peer, learns its
// senders (read them with Recvmsg and Creds).
func PassCred(fd int) error {
	return SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
}

func credsOf(m unix.SocketControlMessage) (PeerCred, bool) {
	if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_CREDENTIALS {
		return PeerCred{}, false
	}
	u, err := unix.ParseUnixCredentials(&m)
	if err != nil {
		return PeerCred{}, false
	}
	return PeerCred{Pid: int(u.Pid), Uid: int(u.Uid), Gid: int(u.Gid)}, true
}

// Linux's struct sockaddr has no length byte.
func setSockaddrLen(*unix.RawSockaddrAny, uint32) {}
