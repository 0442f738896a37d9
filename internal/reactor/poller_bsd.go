//go:build darwin || freebsd

package reactor

import (
	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// poller on macOS and FreeBSD: a kqueue. kqueue watches (descriptor,
// filter) pairs: EVFILT_READ and EVFILT_WRITE are separate entries, so
// "stop watching for writing" deletes one entry. The doorbell is an
// EVFILT_USER event, which needs no descriptor at all.
//
// Honest note: socklab's tests run on Linux only. This file is compiled
// for macOS and FreeBSD in CI (go vet, go build) but has not been run by
// the test suite.
type poller struct {
	kq      int
	changes [2]unix.Kevent_t // scratch for add/modify
	raw     []unix.Kevent_t
	ready   []event
	timeout unix.Timespec
}

// wakeIdent names the EVFILT_USER event; any number would do.
const wakeIdent = 0

func newPoller() (*poller, error) {
	kq, err := sys.Kqueue()
	if err != nil {
		return nil, err
	}
	p := &poller{kq: kq, raw: make([]unix.Kevent_t, batchSize), ready: make([]event, 0, batchSize)}
	// EV_CLEAR: the event resets itself once reported (no drain needed).
	unix.SetKevent(&p.changes[0], wakeIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := sys.Kevent(kq, p.changes[:1], nil, nil); err != nil {
		sys.Close(kq)
		return nil, err
	}
	return p, nil
}

func (p *poller) add(fd int, want interest) error { return p.modify(fd, 0, want) }

func (p *poller) modify(fd int, old, want interest) error {
	ch := p.changes[:0]
	for _, f := range []struct {
		bit    interest
		filter int
	}{{wantRead, unix.EVFILT_READ}, {wantWrite, unix.EVFILT_WRITE}} {
		var k unix.Kevent_t
		switch {
		case want&f.bit != 0 && old&f.bit == 0:
			unix.SetKevent(&k, fd, f.filter, unix.EV_ADD)
		case want&f.bit == 0 && old&f.bit != 0:
			unix.SetKevent(&k, fd, f.filter, unix.EV_DELETE)
		default:
			continue
		}
		ch = append(ch, k)
	}
	if len(ch) == 0 {
		return nil
	}
	_, err := sys.Kevent(p.kq, ch, nil, nil)
	return err
}

func (p *poller) wait(msec int) ([]event, error) {
	var ts *unix.Timespec
	if msec >= 0 {
		p.timeout = unix.NsecToTimespec(int64(msec) * 1e6)
		ts = &p.timeout
	}
	n, err := sys.Kevent(p.kq, nil, p.raw, ts)
	if err != nil {
		return nil, err
	}
	p.ready = p.ready[:0]
	for _, k := range p.raw[:n] {
		ev := event{fd: int(k.Ident), hangup: k.Flags&(unix.EV_EOF|unix.EV_ERROR) != 0}
		switch k.Filter {
		case unix.EVFILT_READ:
			ev.readable = true
		case unix.EVFILT_WRITE:
			ev.writable = true
		case unix.EVFILT_USER:
			ev = event{fd: -1, wake: true}
		}
		p.ready = append(p.ready, ev)
	}
	return p.ready, nil
}

func (p *poller) wake() error {
	var k [1]unix.Kevent_t
	unix.SetKevent(&k[0], wakeIdent, unix.EVFILT_USER, 0)
	k[0].Fflags = unix.NOTE_TRIGGER
	_, err := sys.Kevent(p.kq, k[:], nil, nil)
	return err
}

func (p *poller) drainWake() {}

// macOS has no accept4 either: accept, then fcntl.
func (p *poller) accept(listenFD int) (int, unix.Sockaddr, error) {
	fd, peer, err := sys.Accept(listenFD)
	if err != nil {
		return fd, peer, err
	}
	if err := sys.SetNonblock(fd); err != nil {
		sys.Close(fd)
		return -1, nil, err
	}
	return fd, peer, nil
}

func (p *poller) close() { sys.Close(p.kq) }
