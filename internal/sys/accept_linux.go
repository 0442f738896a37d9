package sys

import "golang.org/x/sys/unix"

func accept4(fd, flags int, r *rawAddr) (int, error) {
	nfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), r.ptr(), r.lenPtr(), uintptr(flags), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(nfd), nil
}
