//go:build linux && !(386 || amd64 || arm || mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || s390x || sparc64)

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Newer architectures (arm64, riscv64, loong64) never had epoll_wait: the
// kernel offers only epoll_pwait, which also takes a signal mask. With no
// mask (NULL) it is the same call, and strace shows it as
// epoll_pwait(5, [...], 128, -1, NULL, 8).
const (
	epollWaitName = "epoll_pwait"
	epollWaitTail = ", NULL, 8"
)

func epollWait(epfd int, events unsafe.Pointer, n, msec int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(events), uintptr(n), uintptr(msec), 0, 8)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
