//go:build !linux && !darwin && !freebsd

package reactor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// poller elsewhere: socklab's event loop knows epoll (Linux) and kqueue
// (macOS, FreeBSD) only.
type poller struct{}

var errNoPoller = errors.New("the event loop runs on Linux (epoll), macOS and FreeBSD (kqueue) only")

func newPoller() (*poller, error)                                 { return nil, errNoPoller }
func (p *poller) add(fd int, want interest) error                 { return errNoPoller }
func (p *poller) modify(fd int, old, want interest) error         { return errNoPoller }
func (p *poller) wait(msec int) ([]event, error)                  { return nil, errNoPoller }
func (p *poller) wake() error                                     { return errNoPoller }
func (p *poller) drainWake()                                      {}
func (p *poller) accept(listenFD int) (int, unix.Sockaddr, error) { return -1, nil, errNoPoller }
func (p *poller) close()                                          {}
