package server

import (
	"fmt"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// ListenBacklog is listen(2)'s backlog for the server: how many finished
// connections may wait for accept. The kernel caps it at
// /proc/sys/net/core/somaxconn.
const ListenBacklog = 1024

// Listen makes the listening socket Serve wants: socket, SO_REUSEADDR
// (so a restarted server can bind while old connections sit in
// TIME_WAIT), bind, listen. addr is "127.0.0.1:7070", "[::1]:7070" or
// ":7070" (every address: reachable from the network). Each call goes
// through the traced layer, so with tracing on they are printed.
func Listen(addr string) (int, error) {
	domain, sa, err := sys.ParseAddr(addr)
	if err != nil {
		return -1, err
	}
	// socket(2): non-blocking where socket(2) can say so (Linux); the
	// event loop makes it non-blocking with fcntl otherwise.
	fd, err := sys.Socket(domain, sys.StreamNonblockCloexec, 0) // 0: the protocol the type implies, TCP
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	// setsockopt(2) SO_REUSEADDR: bind even while connections of an
	// earlier server on this port sit in TIME_WAIT.
	if err := sys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		sys.Close(fd)
		return -1, fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	// bind(2): the address clients connect to.
	if err := sys.Bind(fd, sa); err != nil {
		sys.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", addr, err)
	}
	// listen(2): from now on the kernel completes handshakes for us and
	// queues the connections for accept.
	if err := sys.Listen(fd, ListenBacklog); err != nil {
		sys.Close(fd)
		return -1, fmt.Errorf("listen: %w", err)
	}
	return fd, nil
}

// BoundAddr is the address a listening socket got, "127.0.0.1:41234":
// the way to learn the port after listening on port 0.
func BoundAddr(fd int) (string, error) {
	sa, err := sys.Getsockname(fd)
	if err != nil {
		return "", err
	}
	return sys.Addr(sa), nil
}
