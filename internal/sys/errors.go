package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrnoName is the errno's C name, as strace and the man pages spell it:
// ECONNREFUSED, EADDRINUSE, EAGAIN.
func ErrnoName(e unix.Errno) string {
	if e == unix.EAGAIN {
		return "EAGAIN" // the same number as EWOULDBLOCK; strace says EAGAIN
	}
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(e))
}

// ErrnoText is the C library's message for the errno, as strace prints it
// in parentheses. Go's own messages are the same words in lower case.
func ErrnoText(e unix.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// hints says, for the errors a learner meets, what usually causes them and
// what to try. One line each.
var hints = map[unix.Errno]string{
	unix.EADDRINUSE:    "another process holds this port (see `ss -tlnp`), or old connections sit in TIME_WAIT and SO_REUSEADDR was not set on both the old socket and the new one",
	unix.EADDRNOTAVAIL: "this machine has no such address; use 127.0.0.1, ::1, or an address `ip addr` lists",
	unix.ECONNREFUSED:  "nothing is listening at that address and port; start the server first, or check the port",
	unix.ECONNRESET:    "the peer closed the connection abruptly (it died, or closed with unread data), and its kernel answered with RST",
	unix.EPIPE:         "the peer has closed the connection, so there is no one to write to",
	unix.EACCES:        "permission denied: ports below 1024 need root (or CAP_NET_BIND_SERVICE); for a unix socket, check the file's permissions",
	unix.EPERM:         "the operation is not permitted for this user",
	unix.EMFILE:        "this process has too many open files; raise the limit with `ulimit -n 65536`",
	unix.ENFILE:        "the whole system has too many open files; close some programs or raise fs.file-max",
	unix.ETIMEDOUT:     "the peer did not answer in time (no route, a firewall dropping packets, or a dead host)",
	unix.EHOSTUNREACH:  "there is no route to that host",
	unix.ENETUNREACH:   "there is no route to that network",
	unix.ENOENT:        "no such file: the socket path does not exist (is the server running?)",
	unix.EINVAL:        "an argument is not valid for this socket in its current state",
	unix.ENOTCONN:      "the socket is not connected",
	unix.EBADF:         "that file descriptor is not open (closed already?)",
	unix.EAFNOSUPPORT:  "this address family is not supported here (is IPv6 disabled?)",
	unix.EINTR:         "a signal arrived while the call was waiting; the call is simply made again",
	unix.EAGAIN:        "nothing to do right now on a non-blocking socket; wait until it is ready and try again",
	unix.EINPROGRESS:   "a non-blocking connect has started; wait until the socket is writable, then read SO_ERROR",
	unix.EMSGSIZE:      "the datagram is larger than the socket or the network allows",
	unix.ENOBUFS:       "the kernel ran out of buffer space; try again later or send less",
	unix.ENAMETOOLONG:  "the socket path is longer than sun_path allows (108 bytes on Linux)",
	unix.ECONNABORTED:  "the client gave up before the server accepted the connection",
}

// Hint returns a one-line hint for err, or "" when there is none.
func Hint(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return hints[e]
	}
	return ""
}

// Describe formats an error the way the trace does: "ECONNREFUSED
// (Connection refused)" for an errno, the message otherwise.
func Describe(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return ErrnoName(e) + " (" + ErrnoText(e) + ")"
	}
	return err.Error()
}

// Fatal prints "prog: what: ECONNREFUSED (Connection refused)" and a hint
// line on stderr, then exits with status 1. It is how every program ends
// on an error: a learner gets the errno as strace names it and a next
// step, never a Go stack trace.
func Fatal(what string, err error) {
	holdIfExiting() // a call that failed because the stop closed its socket: the stop's exit 0 wins
	fmt.Fprintln(os.Stderr, Failure(what, err))
	os.Exit(1)
}

// Failure is the text Fatal prints.
func Failure(what string, err error) string {
	var b strings.Builder
	b.WriteString(paint(errorColor, filepath.Base(os.Args[0])+": "+what+": "+Describe(err)))
	if h := Hint(err); h != "" {
		b.WriteString("\n" + paint(explainColor, "hint: "+h))
	}
	return b.String()
}

// Fatalf prints a usage-style error (bad flags, bad address) and exits 2.
func Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", filepath.Base(os.Args[0]), fmt.Sprintf(format, args...))
	os.Exit(2)
}
