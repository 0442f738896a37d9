package sys

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loop's calls on Linux: epoll_create1, epoll_ctl, epoll_wait
// and eventfd2. They are written like calls.go (pause, call, print), and
// they make the system calls themselves rather than through x/sys's
// helpers for two reasons a learner can check with strace:
//
//   - x/sys's EpollWait is really epoll_pwait on every architecture;
//     we make epoll_wait where the kernel has it (amd64, 386, arm, …),
//     so the trace says the name the man page and the lesson use;
//   - the loop calls them thousands of times a second, so they take and
//     fill caller-owned memory and allocate nothing when tracing is off.
//
// The epoll_event's data field is always the descriptor itself (strace
// shows it as data={u32=5, u64=5}): when epoll_wait reports an event, the
// loop knows at once which socket it is about.

// EpollCreate1 is epoll_create1(2): make an epoll instance, a list kept by
// the kernel of the descriptors to watch. It is itself a descriptor.
func EpollCreate1(flags int) (int, error) {
	args := ""
	if tracing {
		args = epollCreateFlags(flags)
		pause("epoll_create1", args, -1)
	}
	fd, _, e := unix.RawSyscall(unix.SYS_EPOLL_CREATE1, uintptr(flags), 0, 0)
	err := errnoOf(e)
	if tracing {
		emit("epoll_create1", args, int(fd), err, -1)
	}
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// EpollCtl is epoll_ctl(2): add (EPOLL_CTL_ADD), change (EPOLL_CTL_MOD) or
// remove (EPOLL_CTL_DEL) fd in the watch list, with the events wanted
// (EPOLLIN: readable, EPOLLOUT: writable). The kernel hands fd back in
// every event it reports for it.
func EpollCtl(epfd, op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	evp := uintptr(unsafe.Pointer(&ev))
	if op == unix.EPOLL_CTL_DEL {
		evp = 0 // strace shows NULL; the kernel ignores the event for DEL
	}
	args := ""
	if tracing {
		shown := "NULL"
		if evp != 0 {
			shown = epollEvent(ev)
		}
		args = fmt.Sprintf("%s, %s, %s, %s", fdArg(epfd), epollOp(op), fdArg(fd), shown)
		pause("epoll_ctl", args, fd)
	}
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), evp, 0, 0)
	err := errnoOf(e)
	if tracing {
		emit("epoll_ctl", args, 0, err, -1)
	}
	return err
}

// EpollWait is epoll_wait(2): sleep until at least one watched descriptor
// is ready or msec milliseconds pass (-1: no limit), and fill events with
// what is ready. It returns how many events it filled.
//
// EINTR is printed with the usual note and then returned rather than
// retried here: a signal (Go's scheduler sends them to its own threads)
// can end the wait early, and the caller must work out a new timeout from
// its timers before waiting again.
func EpollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	if tracing {
		pause(epollWaitName, fmt.Sprintf("%s, …, %d, %d", fdArg(epfd), len(events), msec), epfd)
	}
	var evp unsafe.Pointer
	if len(events) > 0 {
		evp = unsafe.Pointer(&events[0])
	}
	n, err := epollWait(epfd, evp, len(events), msec)
	if tracing {
		shown := fmt.Sprintf("%p", evp) // the kernel wrote nothing: strace shows the pointer
		if err == nil {
			shown = epollEvents(events[:n])
		}
		emit(epollWaitName, fmt.Sprintf("%s, %s, %d, %d%s", fdArg(epfd), shown, len(events), msec, epollWaitTail), n, err, -1)
		if err == unix.EINTR {
			retryNote()
		}
	}
	return n, err
}

// Eventfd is eventfd2(2): a descriptor holding a 64-bit counter. Writing
// 8 bytes adds to it and makes it readable; reading 8 bytes takes the
// count and resets it. The event loop watches one, so that another
// goroutine can wake it from epoll_wait by writing to it.
func Eventfd(initval uint, flags int) (int, error) {
	args := ""
	if tracing {
		args = fmt.Sprintf("%d, %s", initval, eventfdFlags(flags))
		pause("eventfd2", args, -1)
	}
	fd, _, e := unix.RawSyscall(unix.SYS_EVENTFD2, uintptr(initval), uintptr(flags), 0)
	err := errnoOf(e)
	if tracing {
		emit("eventfd2", args, int(fd), err, -1)
	}
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// epollEvents: strace shows at most -s elements of an array, then "...".
func epollEvents(evs []unix.EpollEvent) string {
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
		b.WriteString(epollEvent(ev))
	}
	b.WriteByte(']')
	return b.String()
}

// epollEvent formats one struct epoll_event. The data union is 8 bytes
// right after the event mask; we put the descriptor in its low half.
func epollEvent(ev unix.EpollEvent) string {
	u64 := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
	return fmt.Sprintf("{events=%s, data={u32=%d, u64=%d}}", epollFlags(ev.Events), uint32(ev.Fd), u64)
}

// epollFlagNames is in the order strace prints the bits.
var epollFlagNames = []bitName{
	{unix.EPOLLIN, "EPOLLIN"}, {unix.EPOLLPRI, "EPOLLPRI"}, {unix.EPOLLOUT, "EPOLLOUT"},
	{unix.EPOLLRDNORM, "EPOLLRDNORM"}, {unix.EPOLLRDBAND, "EPOLLRDBAND"},
	{unix.EPOLLWRNORM, "EPOLLWRNORM"}, {unix.EPOLLWRBAND, "EPOLLWRBAND"}, {unix.EPOLLMSG, "EPOLLMSG"},
	{unix.EPOLLERR, "EPOLLERR"}, {unix.EPOLLHUP, "EPOLLHUP"}, {unix.EPOLLRDHUP, "EPOLLRDHUP"},
	{unix.EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"}, {unix.EPOLLWAKEUP, "EPOLLWAKEUP"},
	{unix.EPOLLONESHOT, "EPOLLONESHOT"}, {uint64(uint32(unix.EPOLLET)), "EPOLLET"},
}

// epollFlags formats an event mask: EPOLLIN|EPOLLOUT, or 0.
func epollFlags(m uint32) string { return flagNames(uint64(m), epollFlagNames) }

func epollOp(op int) string {
	switch op {
	case unix.EPOLL_CTL_ADD:
		return "EPOLL_CTL_ADD"
	case unix.EPOLL_CTL_MOD:
		return "EPOLL_CTL_MOD"
	case unix.EPOLL_CTL_DEL:
		return "EPOLL_CTL_DEL"
	}
	return itoa(op)
}

func epollCreateFlags(f int) string {
	switch f {
	case 0:
		return "0"
	case unix.EPOLL_CLOEXEC:
		return "EPOLL_CLOEXEC"
	}
	return fmt.Sprintf("%#x", f)
}

func eventfdFlags(f int) string {
	return flagNames(uint64(f), []bitName{{unix.EFD_SEMAPHORE, "EFD_SEMAPHORE"}, {unix.EFD_CLOEXEC, "EFD_CLOEXEC"}, {unix.EFD_NONBLOCK, "EFD_NONBLOCK"}})
}

func init() {
	about["eventfd2"] = "make an eventfd: a counter another thread can bump to wake the event loop"
}
