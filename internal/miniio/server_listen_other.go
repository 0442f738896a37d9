//go:build !linux

package miniio

import "golang.org/x/sys/unix"

// macOS and FreeBSD have no SOCK_NONBLOCK; the event loop makes the
// listening socket non-blocking with fcntl when it is handed over.
const listenType = unix.SOCK_STREAM
