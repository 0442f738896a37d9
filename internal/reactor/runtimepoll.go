package reactor

import (
	"time"

	"golang.org/x/sys/unix"
)

// startRuntimePoller makes the Go runtime open its own poller now, while
// descriptors are plentiful, and at high numbers.
//
// The runtime has an epoll descriptor of its own (plus an eventfd), which
// it opens the first time anything sets a Go timer — and the garbage
// collector's background scavenger sets one whenever it naps. If that
// first nap came while a busy server had used up every descriptor
// (EMFILE, the trap lesson 7 shows), the runtime could not open its epoll
// and would end the whole process: "fatal error: netpollinit failed".
//
// So the loop starts the runtime's poller itself, before serving. To keep
// the small descriptor numbers the lessons talk about (our epoll, our
// eventfd, the clients' sockets) it first fills the low numbers with
// /dev/null, lets the runtime take the next two, and closes the fillers.
// None of these calls touch a socket, so none is traced; strace shows
// them as openat("/dev/null"), epoll_create1 and eventfd2 from the
// runtime, then the closes.
func startRuntimePoller() {
	const fill = 64
	fillers := make([]int, 0, fill)
	for range fill {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break // a low descriptor limit: fill what we can
		}
		fillers = append(fillers, fd)
	}
	// Leave the last few free, so the runtime finds room even under a
	// limit as low as the tests' EMFILE cases use.
	spare := min(3, len(fillers))
	for _, fd := range fillers[len(fillers)-spare:] {
		unix.Close(fd)
	}
	fillers = fillers[:len(fillers)-spare]

	// A function timer goes into the runtime's timer heap at once, and
	// that is what starts the poller (a channel timer may wait until
	// someone blocks on it).
	time.AfterFunc(time.Hour, func() {}).Stop()

	for _, fd := range fillers {
		unix.Close(fd)
	}
}
