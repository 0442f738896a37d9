package reactor

import "golang.org/x/sys/unix"

// interest is what the loop wants the kernel to watch a descriptor for.
type interest uint8

const (
	wantRead  interest = 1 << iota // EPOLLIN / EVFILT_READ
	wantWrite                      // EPOLLOUT / EVFILT_WRITE
)

// event is one readiness report, the same on every system.
type event struct {
	fd       int
	readable bool // data, end of file or an error is waiting to be read
	writable bool // there is room to write, or an error to learn by writing
	hangup   bool // the kernel says the connection is over (EPOLLHUP/EPOLLERR, EV_EOF)
	wake     bool // another goroutine called Post or Stop
}

// pollerAPI is all the loop needs from the operating system.
// poller_linux.go implements it with epoll and an eventfd, poller_bsd.go
// with kqueue and an EVFILT_USER event.
type pollerAPI interface {
	// add starts watching fd; modify changes what is watched (old is what
	// was watched until now). Closing a descriptor stops the watching by
	// itself, so there is no remove.
	add(fd int, want interest) error
	modify(fd int, old, want interest) error
	// wait blocks until something is ready or msec milliseconds pass (-1:
	// no limit). The slice is reused by the next call.
	wait(msec int) ([]event, error)
	// wake makes a wait in progress (or the next one) return; it is the
	// only method other goroutines call. drainWake resets it.
	wake() error
	drainWake()
	// accept takes one connection off a listening socket, and makes it
	// non-blocking.
	accept(listenFD int) (int, unix.Sockaddr, error)
	close()
}

var _ pollerAPI = (*poller)(nil)

// batchSize is how many events one wait returns at most. More ready
// sockets than that are simply reported by the next wait.
const batchSize = 128
