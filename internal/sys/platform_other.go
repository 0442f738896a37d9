//go:build !linux

package sys

import "golang.org/x/sys/unix"

// macOS's socket(2) takes no SOCK_CLOEXEC or SOCK_NONBLOCK: the types are
// plain, close-on-exec is set right after socket(2) with fcntl
// (CloseOnExecAfter), and the event loop makes its listening socket
// non-blocking with fcntl when it is handed over.
const (
	StreamCloexec         = unix.SOCK_STREAM
	StreamNonblockCloexec = unix.SOCK_STREAM
)

// CloseOnExecAfter sets close-on-exec on fd (fcntl F_SETFD FD_CLOEXEC).
func CloseOnExecAfter(fd int) { unix.CloseOnExec(fd) }
