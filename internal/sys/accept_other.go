//go:build !linux

package sys

import "golang.org/x/sys/unix"

// accept4 off Linux: macOS has only accept(2), so the flags are not
// supported there; socklab's programs pass them only on Linux.
func accept4(fd, flags int, r *rawAddr) (int, error) {
	if flags != 0 {
		return -1, unix.EINVAL
	}
	nfd, _, e := unix.Syscall(unix.SYS_ACCEPT, uintptr(fd), r.ptr(), r.lenPtr())
	if e != 0 {
		return -1, e
	}
	return int(nfd), nil
}
