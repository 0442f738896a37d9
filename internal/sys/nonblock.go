package sys

import "golang.org/x/sys/unix"

// SetNonblock is fcntl(fd, F_SETFL, O_RDWR|O_NONBLOCK): from now on, a
// call on fd that would have to wait (accept with no one queued, read
// with nothing arrived, write with the send buffer full) fails at once
// with EAGAIN instead. An event loop needs that: it must never wait
// anywhere but in epoll_wait.
//
// On Linux a socket can be made non-blocking from the start (the
// SOCK_NONBLOCK flag of socket and accept4); this call is for a socket
// made without it, and for macOS, which has no such flag. (A socket's
// access mode is always O_RDWR; F_SETFL ignores it, but strace prints
// it, so we pass it too.)
func SetNonblock(fd int) error {
	args := ""
	if tracing {
		args = fdArg(fd) + ", F_SETFL, O_RDWR|O_NONBLOCK"
		pause("fcntl", args, fd)
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_RDWR|unix.O_NONBLOCK)
	if tracing {
		emit("fcntl", args, 0, err, fd)
	}
	return err
}

func init() {
	about["fcntl"] = "make the descriptor non-blocking: calls that would wait return EAGAIN instead"
}
