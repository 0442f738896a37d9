//go:build darwin || freebsd

package sys

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// The event loop's calls on macOS and FreeBSD: kqueue and kevent.
// There is no strace there; the lines follow the same name(args) = result
// shape, with kevent's structs written field by field as truss and
// ktrace/kdump show them. socklab's tests run on Linux, so this notation
// is not checked against a tracer the way the Linux one is.

// Kqueue is kqueue(2): make a kernel event queue, the BSD counterpart of
// epoll_create1. It is itself a descriptor.
func Kqueue() (int, error) {
	if tracing {
		pause("kqueue", "", -1)
	}
	fd, err := unix.Kqueue()
	if tracing {
		emit("kqueue", "", fd, err, -1)
	}
	return fd, err
}

// Kevent is kevent(2): apply the changes (watch this descriptor for
// reading, stop watching it for writing, …) and then, when events has
// room, wait for events until timeout passes (nil: no limit). One call
// does the work of epoll_ctl and epoll_wait.
//
// EINTR is printed with the usual note and returned: the caller works out
// a new timeout before waiting again.
func Kevent(kq int, changes, events []unix.Kevent_t, timeout *unix.Timespec) (int, error) {
	if tracing {
		pause("kevent", fmt.Sprintf("%s, %s, %d, …", fdArg(kq), kevents(changes), len(changes)), kq)
	}
	n, err := unix.Kevent(kq, changes, events, timeout)
	if tracing {
		got := "[]"
		if err == nil && n > 0 {
			got = kevents(events[:n])
		}
		emit("kevent", fmt.Sprintf("%s, %s, %d, %s, %d, %s", fdArg(kq), kevents(changes), len(changes),
			got, len(events), timespec(timeout)), n, err, -1)
		if err == unix.EINTR {
			retryNote()
		}
	}
	if n < 0 {
		n = 0
	}
	return n, err
}

func kevents(evs []unix.Kevent_t) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, ev := range evs {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == StringLimit {
			b.WriteString("...")
			break
		}
		fmt.Fprintf(&b, "{ident=%d, filter=%s, flags=%s, fflags=%#x, data=%d}",
			ev.Ident, kfilter(ev.Filter), kflags(ev.Flags), ev.Fflags, ev.Data)
	}
	b.WriteByte(']')
	return b.String()
}

func kfilter(f int16) string {
	switch f {
	case unix.EVFILT_READ:
		return "EVFILT_READ"
	case unix.EVFILT_WRITE:
		return "EVFILT_WRITE"
	case unix.EVFILT_USER:
		return "EVFILT_USER"
	}
	return itoa(int(f))
}

func kflags(f uint16) string {
	return flagNames(uint64(f), []bitName{
		{unix.EV_ADD, "EV_ADD"}, {unix.EV_DELETE, "EV_DELETE"}, {unix.EV_ENABLE, "EV_ENABLE"},
		{unix.EV_DISABLE, "EV_DISABLE"}, {unix.EV_ONESHOT, "EV_ONESHOT"}, {unix.EV_CLEAR, "EV_CLEAR"},
		{unix.EV_EOF, "EV_EOF"}, {unix.EV_ERROR, "EV_ERROR"},
	})
}

func timespec(ts *unix.Timespec) string {
	if ts == nil {
		return "NULL"
	}
	return fmt.Sprintf("{tv_sec=%d, tv_nsec=%d}", ts.Sec, ts.Nsec)
}

func init() {
	about["kqueue"] = "make a kernel event queue: the list of descriptors to watch"
	about["kevent"] = "change what the queue watches, and wait until something watched is ready"
}
