//go:build linux || freebsd

package miniio

import "golang.org/x/sys/unix"

// clientSocketType asks for a stream socket that is closed in any program
// this one starts (SOCK_CLOEXEC, as Go's net package sets it): a test or
// tool that starts a server must not hand it a copy of our socket, which
// would keep the connection open after we close ours.
const clientSocketType = unix.SOCK_STREAM | unix.SOCK_CLOEXEC

// clientCloseOnExec has nothing to do here: the flag came with socket(2).
func clientCloseOnExec(fd int) {}
