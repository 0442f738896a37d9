package reactor

import "golang.org/x/sys/unix"

// connState is where a connection is in its life.
type connState uint8

const (
	open    connState = iota
	closing           // no more reading; closes once the output queue is empty
	closed            // descriptor closed, OnClose called
)

// Conn is one connection (or, inside the loop, one listening socket).
// Its methods are for the loop's goroutine only.
type Conn struct {
	// Context is the protocol's own state for this connection; the loop
	// never looks at it.
	Context any

	loop     *Loop
	fd       int
	listenFD int // the listening socket it was accepted on (-1 for a listener)
	peer     unix.Sockaddr
	born     uint64   // the turn it was accepted in (see Loop.handle)
	in       []byte   // input not used yet; nil while there is none
	out      [][]byte // queued output, in order; out[0] may be partly sent
	outLen   int      // bytes in out
	interest interest // what epoll watches it for now
	state    connState
	listener bool
	queued   bool // on this turn's flush list
	paused   bool // not reading until the output queue drains
	held     bool // not reading: the protocol asked (PauseReading)
	closeErr error
	// closeTimer bounds a Close that waits for the queue to drain.
	closeTimer *Timer
}

// Write queues p to be sent at the end of this turn, together with
// everything else queued for this connection (one write or writev call).
// p is kept, not copied, until the kernel has taken it: do not change it
// afterwards. Writing past MaxOutput bytes queued returns ErrOutputFull
// and queues nothing; writing to a connection that is closing or closed
// returns ErrClosed.
func (c *Conn) Write(p []byte) error {
	if c.state != open {
		return ErrClosed
	}
	if len(p) == 0 {
		return nil
	}
	if c.outLen+len(p) > c.loop.opt.MaxOutput {
		return ErrOutputFull
	}
	c.out = append(c.out, p)
	c.outLen += len(p)
	if c.interest&wantWrite == 0 {
		// Not waiting for room: flush at the end of this turn. (While
		// waiting, EPOLLOUT schedules the flush when there is room; a
		// write before that would only get EAGAIN.)
		c.loop.schedule(c)
	}
	return nil
}

// Close closes the connection once everything queued has been sent:
// reading stops now, and the descriptor is closed when the queue is
// empty, or after Options.CloseTimeout if the peer does not read.
// OnClose then gets ErrClosed.
func (c *Conn) Close() { c.loop.closeAfterFlush(c, ErrClosed) }

// Abort closes the connection now; queued output is dropped. OnClose
// gets ErrAborted (before Abort returns).
func (c *Conn) Abort() { c.loop.finish(c, ErrAborted) }

// PauseReading stops reading from c until ResumeReading: for a protocol
// that already holds more input than it will handle this turn, so that
// the rest waits in the kernel's buffer (and the peer's TCP window
// closes) instead of in ours.
func (c *Conn) PauseReading() { c.setHeld(true) }

// ResumeReading undoes PauseReading.
func (c *Conn) ResumeReading() { c.setHeld(false) }

func (c *Conn) setHeld(held bool) {
	if c.state == open && c.held != held {
		c.held = held
		c.loop.updateInterest(c)
	}
}

// FD is the connection's descriptor number (after close: the number it
// had).
func (c *Conn) FD() int { return c.fd }

// ListenFD is the listening socket the connection was accepted on: a
// program that listens on two ports (miniio serve: TCP frames and HTTP)
// tells its connections apart by it.
func (c *Conn) ListenFD() int { return c.listenFD }

// Peer is the address of the other end, as accept returned it.
func (c *Conn) Peer() unix.Sockaddr { return c.peer }

// OutputLen is how many bytes are queued and not yet taken by the kernel.
func (c *Conn) OutputLen() int { return c.outLen }

// Loop is the loop the connection belongs to.
func (c *Conn) Loop() *Loop { return c.loop }

// advance drops the n bytes the kernel took from the front of the queue.
func (c *Conn) advance(n int) {
	c.outLen -= n
	i := 0
	for i < len(c.out) && n >= len(c.out[i]) {
		n -= len(c.out[i])
		c.out[i] = nil
		i++
	}
	if n > 0 {
		c.out[i] = c.out[i][n:] // a short write ended inside this buffer
	}
	if i > 0 {
		k := copy(c.out, c.out[i:])
		clear(c.out[k:])
		c.out = c.out[:k]
	}
	if len(c.out) == 0 && cap(c.out) > 64 {
		c.out = nil // a burst is over: give its large queue back
	}
}
