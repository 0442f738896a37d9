//go:build linux && (386 || amd64 || arm || mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || s390x || sparc64)

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// This architecture has the plain epoll_wait system call, so that is the
// one we make (and the one strace shows).
const (
	epollWaitName = "epoll_wait"
	epollWaitTail = ""
)

func epollWait(epfd int, events unsafe.Pointer, n, msec int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), uintptr(events), uintptr(n), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
