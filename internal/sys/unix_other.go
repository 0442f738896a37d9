//go:build !linux

package sys

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// No SCM_CREDENTIALS here (FreeBSD has SCM_CREDS, macOS LOCAL_PEERCRED:
// other shapes, not covered by socklab).
const scmCredentials = -1

// AbstractAddr: the abstract namespace exists only on Linux.
func AbstractAddr(name string) (unix.Sockaddr, error) {
	return nil, fmt.Errorf("abstract socket names (@%s): %w; use a socket path instead", name, ErrOnlyLinux)
}

// GetsockoptPeerCred: SO_PEERCRED exists only on Linux (macOS has
// LOCAL_PEERCRED, FreeBSD getpeereid). No system call is made.
func GetsockoptPeerCred(fd int) (PeerCred, error) {
	return PeerCred{}, fmt.Errorf("peer credentials (SO_PEERCRED): %w", ErrOnlyLinux)
}

// PassCred: SO_PASSCRED exists only on Linux.
func PassCred(fd int) error {
	return fmt.Errorf("sender credentials (SO_PASSCRED): %w", ErrOnlyLinux)
}

func credsOf(unix.SocketControlMessage) (PeerCred, bool) { return PeerCred{}, false }

// BSD addresses start with their own length.
func setSockaddrLen(r *unix.RawSockaddrAny, n uint32) { r.Addr.Len = uint8(n) }
