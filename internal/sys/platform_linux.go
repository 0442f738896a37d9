package sys

import "golang.org/x/sys/unix"

// The socket types socklab's programs ask socket(2) for, where the
// platform lets the flags ride along in the type argument (Linux).
const (
	// StreamCloexec is a TCP socket closed in any program this one
	// starts, as Go's net package makes them: a tool or test that starts
	// a server must not hand it a copy of our socket, which would keep
	// the connection open after we close ours.
	StreamCloexec = unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	// StreamNonblockCloexec is that, non-blocking too: what an event loop
	// listens on (it calls accept until EAGAIN, and on a blocking socket
	// the last call would wait).
	StreamNonblockCloexec = unix.SOCK_STREAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
)

// CloseOnExecAfter sets close-on-exec on fd where socket(2) could not
// (see platform_other.go); on Linux the flag came with socket(2).
func CloseOnExecAfter(fd int) {}
