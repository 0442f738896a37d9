//go:build !linux && !freebsd

package miniio

import "golang.org/x/sys/unix"

// macOS's socket(2) takes no SOCK_CLOEXEC, so the flag is set right after
// it with fcntl(2) instead (see client_cloexec.go for why it is wanted).
const clientSocketType = unix.SOCK_STREAM

func clientCloseOnExec(fd int) { unix.CloseOnExec(fd) }
