package reactor

import (
	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// poller on Linux: an epoll instance, and an eventfd in its watch list as
// the doorbell other goroutines ring.
type poller struct {
	epfd   int
	wakeFD int
	raw    []unix.EpollEvent // what epoll_wait fills, reused every turn
	ready  []event
}

func newPoller() (*poller, error) {
	epfd, err := sys.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so a wake-up when the counter is somehow full (it
	// holds 2^64-2) fails with EAGAIN instead of blocking the poster.
	wakeFD, err := sys.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		sys.Close(epfd)
		return nil, err
	}
	if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakeFD, unix.EPOLLIN); err != nil {
		sys.Close(wakeFD)
		sys.Close(epfd)
		return nil, err
	}
	return &poller{
		epfd:   epfd,
		wakeFD: wakeFD,
		raw:    make([]unix.EpollEvent, batchSize),
		ready:  make([]event, 0, batchSize),
	}, nil
}

// epollMask: level-triggered (no EPOLLET). EPOLLERR and EPOLLHUP are
// always reported; they need not be asked for.
func epollMask(want interest) uint32 {
	var m uint32
	if want&wantRead != 0 {
		m |= unix.EPOLLIN
	}
	if want&wantWrite != 0 {
		m |= unix.EPOLLOUT
	}
	return m
}

func (p *poller) add(fd int, want interest) error {
	return sys.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, epollMask(want))
}

func (p *poller) modify(fd int, old, want interest) error {
	return sys.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, epollMask(want))
}

func (p *poller) wait(msec int) ([]event, error) {
	n, err := sys.EpollWait(p.epfd, p.raw, msec)
	if err != nil {
		return nil, err
	}
	p.ready = p.ready[:0]
	for _, e := range p.raw[:n] {
		fd := int(e.Fd)
		p.ready = append(p.ready, event{
			fd:       fd,
			readable: e.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0,
			writable: e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0,
			hangup:   e.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0,
			wake:     fd == p.wakeFD,
		})
	}
	return p.ready, nil
}

// wake adds 1 to the eventfd's counter, which makes it readable.
func (p *poller) wake() error {
	one := [8]byte{1} // a 64-bit 1 in the machine's byte order (little-endian here)
	_, err := sys.Write(p.wakeFD, one[:])
	if err == unix.EAGAIN {
		return nil // the counter is full: the loop is being woken anyway
	}
	return err
}

// drainWake reads the counter back to 0, so the eventfd stops being
// readable (level-triggered: otherwise every wait would return at once).
func (p *poller) drainWake() {
	var count [8]byte
	sys.Read(p.wakeFD, count[:])
}

// accept uses accept4's flags so the new socket is non-blocking from its
// first moment, without a separate fcntl call.
func (p *poller) accept(listenFD int) (int, unix.Sockaddr, error) {
	return sys.Accept4(listenFD, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

func (p *poller) close() {
	sys.Close(p.wakeFD)
	sys.Close(p.epfd)
}
