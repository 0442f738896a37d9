package reactor

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// Handler is the protocol on top of the loop. Its methods run on the
// loop's goroutine, one at a time, and must not block.
type Handler interface {
	// OnOpen: a new connection was accepted. It may Write, Close or Abort.
	OnOpen(c *Conn)
	// OnData: in is all the input not used so far (valid only during the
	// call). Return how many bytes were used; the rest is kept for later.
	OnData(c *Conn, in []byte) int
	// OnClose: the connection is gone and its descriptor closed. err says
	// why: nil when the peer closed cleanly, ErrClosed after Close,
	// ErrAborted after Abort, an errno such as ECONNRESET, or one of this
	// package's limits.
	OnClose(c *Conn, err error)
}

// Options are the loop's limits. Zero values take the defaults.
type Options struct {
	// MaxConns: connections above this many are accepted and closed at
	// once (the client sees its connection end without a word). 0: no
	// limit but the descriptor limit (ulimit -n).
	MaxConns int
	// MaxOutput: bytes queued per connection. Past it Write returns
	// ErrOutputFull; from half of it the loop stops reading from that
	// connection until its queue is empty. Default 1 MiB.
	MaxOutput int
	// MaxInput: bytes of unused input per connection (half a message).
	// Past it the connection is closed with ErrInputFull. Default 1 MiB.
	MaxInput int
	// ReadSize: how much one read asks for; one buffer of this size is
	// shared by every connection. Default 64 KiB.
	ReadSize int
	// CloseTimeout: how long Close waits for the queue to drain (the peer
	// may never read) before dropping it. Default 10 s.
	CloseTimeout time.Duration
}

func (o *Options) fill() {
	if o.MaxOutput <= 0 {
		o.MaxOutput = 1 << 20
	}
	if o.MaxInput <= 0 {
		o.MaxInput = 1 << 20
	}
	if o.ReadSize <= 0 {
		o.ReadSize = 64 << 10
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 10 * time.Second
	}
}

// The reasons OnClose can give besides an errno, and Write's refusals.
var (
	ErrClosed       = errors.New("connection closed by this side")
	ErrAborted      = errors.New("connection aborted by this side")
	ErrOutputFull   = errors.New("output queue full: the peer is not reading")
	ErrInputFull    = errors.New("too much input without a complete message")
	ErrCloseTimeout = errors.New("queued output not sent before the close timeout")
	ErrStopped      = errors.New("event loop stopped")
	ErrHangup       = errors.New("connection hung up")
)

// acceptBatch bounds the accepts per turn, so a flood of new connections
// cannot starve the ones already open.
const acceptBatch = 64

// acceptRetry is how soon the loop looks at the listening sockets again
// after running out of descriptors, if no connection closed meanwhile.
const acceptRetry = time.Second

// Loop is one event loop. Make it with New, give it listening sockets
// with Serve, and drive it with Run.
type Loop struct {
	h   Handler
	opt Options
	p   *poller

	conns     []*Conn // by descriptor number; nil when not ours
	listeners []*Conn
	count     int    // open connections (not listeners)
	turn      uint64 // how many waits have returned
	readBuf   []byte // shared by every connection
	flushList []*Conn
	timers    timerHeap
	start     time.Time

	acceptPaused bool   // out of descriptors: listeners not watched
	acceptTimer  *Timer // looks again after acceptRetry
	resumeAccept bool   // a connection closed: look again at the end of this turn

	running  atomic.Bool
	stopping atomic.Bool

	mu     sync.Mutex // guards the fields below, shared with other goroutines
	posted []func()
	woken  bool // a wake-up is already on its way
	done   bool // Run has returned; the wake-up descriptor is closed
	spare  []func()
}

// New makes a loop: the epoll instance (kqueue on BSD) and the wake-up
// descriptor are created here, so their calls come first in the trace.
func New(h Handler, o Options) (*Loop, error) {
	if h == nil {
		return nil, errors.New("reactor: a Handler is required")
	}
	o.fill()
	startRuntimePoller()
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	return &Loop{h: h, opt: o, p: p, readBuf: make([]byte, o.ReadSize), start: time.Now()}, nil
}

// Serve adds a listening socket. It makes the socket non-blocking first
// (fcntl F_SETFL O_NONBLOCK), whatever it was: the loop calls accept
// until EAGAIN, and on a blocking socket that last call would wait
// forever, and so would every connection. (A socket made with
// SOCK_NONBLOCK already is; the call then changes nothing.) The loop owns
// the descriptor from now on and closes it when Run returns. Call Serve
// before Run, or from the loop's goroutine.
func (l *Loop) Serve(listenFD int) error {
	if err := sys.SetNonblock(listenFD); err != nil {
		return err
	}
	want := wantRead
	if l.acceptPaused {
		want = 0
	}
	if err := l.p.add(listenFD, want); err != nil {
		return err
	}
	c := &Conn{loop: l, fd: listenFD, listenFD: -1, listener: true, interest: want, born: l.turn}
	l.put(c)
	l.listeners = append(l.listeners, c)
	return nil
}

// NumConns is how many connections are open (listening sockets not
// counted). Loop goroutine only.
func (l *Loop) NumConns() int { return l.count }

// Run is the loop. It returns nil after Stop, or the error that made
// waiting impossible. When it returns, every connection has been closed
// (OnClose with ErrStopped), and so have the listening sockets and the
// loop's own descriptors.
func (l *Loop) Run() error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("reactor: Run called twice")
	}
	defer l.shutdown()
	for !l.stopping.Load() {
		events, err := l.p.wait(l.timeout())
		if err == unix.EINTR {
			continue // printed by the wrapper; wait again, with a fresh timeout
		}
		if err != nil {
			return fmt.Errorf("waiting for events: %w", err)
		}
		l.turn++
		for i := range events {
			l.handle(&events[i])
		}
		l.runTimers()
		l.flushAll()
		if l.resumeAccept {
			l.resumeAccepting()
		}
	}
	return nil
}

// handle acts on one event of this turn's batch.
func (l *Loop) handle(ev *event) {
	if ev.wake {
		l.p.drainWake()
		l.runPosted()
		return
	}
	if ev.fd < 0 || ev.fd >= len(l.conns) {
		return
	}
	c := l.conns[ev.fd]
	// nil: closed earlier in this batch. born == turn: the number was
	// reused by a connection accepted earlier in this batch, and the
	// event was about the old one.
	if c == nil || c.born == l.turn {
		return
	}
	if c.listener {
		l.accept(c)
		return
	}
	if ev.readable && c.interest&wantRead != 0 {
		l.read(c)
	}
	if c.state == closed {
		return
	}
	if ev.writable && c.outLen > 0 {
		l.schedule(c)
		return
	}
	if ev.hangup && c.interest&wantRead == 0 && c.outLen == 0 {
		// Nothing to read or write, and the kernel says it is over:
		// close it rather than be woken for it again and again.
		l.finish(c, ErrHangup)
	}
}

// accept takes waiting connections off a listening socket, until EAGAIN
// (the queue is empty) or acceptBatch of them.
func (l *Loop) accept(lc *Conn) {
	for range acceptBatch {
		fd, peer, err := l.p.accept(lc.fd)
		switch err {
		case nil:
		case unix.EAGAIN:
			return // no one else is waiting
		case unix.ECONNABORTED, unix.EPROTO, unix.EPERM, unix.ENETDOWN, unix.ENOPROTOOPT,
			unix.EHOSTDOWN, unix.EHOSTUNREACH, unix.EOPNOTSUPP, unix.ENETUNREACH:
			continue // that client is gone or its connection failed; try the next one
		default:
			// EMFILE, ENFILE, ENOBUFS, ENOMEM, or something stranger:
			// calling accept again now would fail again, at full speed.
			l.pauseAccepting(err)
			return
		}
		if l.opt.MaxConns > 0 && l.count >= l.opt.MaxConns {
			if sys.Tracing() {
				sys.Note("%d connections already (the limit): closing the new one at once", l.count)
			}
			sys.Close(fd)
			continue
		}
		l.open(lc.fd, fd, peer)
	}
}

// open starts watching a new connection, accepted on listenFD, and tells
// the handler.
func (l *Loop) open(listenFD, fd int, peer unix.Sockaddr) {
	if err := l.p.add(fd, wantRead); err != nil {
		sys.Close(fd)
		return
	}
	c := &Conn{loop: l, fd: fd, listenFD: listenFD, peer: peer, born: l.turn, interest: wantRead}
	l.put(c)
	l.count++
	l.h.OnOpen(c)
}

// put files c under its descriptor number, growing the table as needed.
func (l *Loop) put(c *Conn) {
	if c.fd >= len(l.conns) {
		n := max(2*len(l.conns), c.fd+1, 64)
		grown := make([]*Conn, n)
		copy(grown, l.conns)
		l.conns = grown
	}
	l.conns[c.fd] = c
}

// pauseAccepting stops watching the listening sockets until a connection
// closes (a descriptor is free again) or acceptRetry passes.
func (l *Loop) pauseAccepting(err error) {
	if l.acceptPaused {
		return
	}
	if sys.Tracing() {
		sys.Note("accept failed: %s; not watching the listening socket until a connection closes (or %v passes)",
			sys.Describe(err), acceptRetry)
	}
	l.acceptPaused = true
	for _, lc := range l.listeners {
		if err := l.p.modify(lc.fd, lc.interest, 0); err == nil {
			lc.interest = 0
		}
	}
	l.acceptTimer = l.AfterFunc(acceptRetry, l.resumeAccepting)
}

func (l *Loop) resumeAccepting() {
	l.resumeAccept = false
	if !l.acceptPaused {
		return
	}
	l.acceptPaused = false
	if l.acceptTimer != nil {
		l.acceptTimer.Stop()
		l.acceptTimer = nil
	}
	for _, lc := range l.listeners {
		if err := l.p.modify(lc.fd, lc.interest, wantRead); err == nil {
			lc.interest = wantRead
		}
	}
}

// read makes one read on a readable connection and hands the input over.
// One read per turn: if more is waiting, level-triggered epoll says so
// again on the next turn, after the other connections had their go.
func (l *Loop) read(c *Conn) {
	n, err := sys.Read(c.fd, l.readBuf)
	switch {
	case err == unix.EAGAIN:
		return // nothing there after all; epoll will tell us when there is
	case err != nil:
		l.finish(c, err) // ECONNRESET, ETIMEDOUT, …
		return
	case n == 0:
		// End of file: the peer will send nothing more. Send what is
		// queued, then close.
		var why error
		if len(c.in) > 0 {
			why = io.ErrUnexpectedEOF // the peer stopped mid-message
		}
		c.in = nil
		l.closeAfterFlush(c, why)
		return
	}
	l.deliver(c, l.readBuf[:n])
	if c.state == open && !c.paused && c.outLen >= l.opt.MaxOutput/2 {
		// The peer sends faster than it reads what we answer: stop
		// reading from it now, not only at the next flush.
		l.updateInterest(c)
	}
}

// deliver gives OnData the connection's unused input plus what just
// arrived, and keeps what it did not use.
func (l *Loop) deliver(c *Conn, fresh []byte) {
	data := fresh
	buffered := len(c.in) > 0
	if buffered {
		c.in = append(c.in, fresh...)
		data = c.in
	}
	used := 0
	for used < len(data) && c.state == open {
		k := l.h.OnData(c, data[used:])
		if k <= 0 {
			break // a partial message: wait for more
		}
		used += min(k, len(data)-used)
	}
	rest := data[used:]
	switch {
	case c.state != open || len(rest) == 0:
		c.in = nil // nothing left to keep: the connection holds no input buffer
	case len(rest) > l.opt.MaxInput:
		c.in = nil
		l.finish(c, ErrInputFull)
	case buffered:
		c.in = c.in[:copy(c.in, rest)] // move the rest to the front
	default:
		// The rest is in the shared read buffer, which the next read
		// overwrites: the connection gets a buffer of its own.
		c.in = append(make([]byte, 0, max(2*len(rest), 512)), rest...)
	}
}

// schedule puts c on this turn's flush list (once).
func (l *Loop) schedule(c *Conn) {
	if !c.queued {
		c.queued = true
		l.flushList = append(l.flushList, c)
	}
}

// flushAll is the end of a turn: one write or writev per connection with
// output queued.
func (l *Loop) flushAll() {
	// By index: a handler called from here (OnClose) may Write to others,
	// which appends to the list; they are flushed in this pass too.
	for i := 0; i < len(l.flushList); i++ {
		c := l.flushList[i]
		l.flushList[i] = nil
		c.queued = false
		if c.state != closed {
			l.flush(c)
		}
	}
	l.flushList = l.flushList[:0]
}

// flush sends what is queued for c in one call, keeps what the kernel
// did not take, and then sets what epoll watches for c.
func (l *Loop) flush(c *Conn) {
	if c.outLen > 0 {
		var n int
		var err error
		if len(c.out) == 1 {
			n, err = sys.Write(c.fd, c.out[0])
		} else {
			n, err = sys.Writev(c.fd, c.out)
		}
		if err != nil && err != unix.EAGAIN {
			l.finish(c, err) // EPIPE, ECONNRESET: the peer is gone
			return
		}
		c.advance(n)
		if c.outLen > 0 && sys.Tracing() {
			sys.Note("the kernel's send buffer for %d is full: %d bytes stay queued until EPOLLOUT says there is room", c.fd, c.outLen)
		}
	}
	if c.state == closing {
		if c.outLen == 0 {
			l.finish(c, c.closeErr)
			return
		}
		if c.closeTimer == nil {
			c.closeTimer = l.AfterFunc(l.opt.CloseTimeout, func() { l.finish(c, ErrCloseTimeout) })
		}
	}
	l.updateInterest(c)
}

// updateInterest sets what epoll watches c for: EPOLLIN while we read
// from it, EPOLLOUT only while output waits for room.
func (l *Loop) updateInterest(c *Conn) {
	var want interest
	if c.outLen > 0 {
		want |= wantWrite
	}
	if c.state == open {
		switch {
		case c.paused && c.outLen == 0:
			c.paused = false
			if sys.Tracing() {
				sys.Note("%d has sent everything queued: reading from it again", c.fd)
			}
		case !c.paused && c.outLen >= l.opt.MaxOutput/2:
			c.paused = true
			if sys.Tracing() {
				sys.Note("%d has %d bytes queued and is not reading them: not reading from it until they are sent", c.fd, c.outLen)
			}
		}
		if !c.paused && !c.held {
			want |= wantRead
		}
	}
	if want == c.interest {
		return
	}
	if err := l.p.modify(c.fd, c.interest, want); err != nil {
		l.finish(c, err)
		return
	}
	c.interest = want
}

// closeAfterFlush: no more reading; close once the queue is empty.
func (l *Loop) closeAfterFlush(c *Conn, why error) {
	if c.state != open {
		return
	}
	c.state = closing
	c.closeErr = why
	l.schedule(c) // the flush closes it, or stops reading and waits for room
}

// finish closes c's descriptor and tells the handler. Closing the
// descriptor also takes it out of epoll's watch list.
func (l *Loop) finish(c *Conn, why error) {
	if c.state == closed {
		return
	}
	c.state = closed
	if c.closeTimer != nil {
		c.closeTimer.Stop()
		c.closeTimer = nil
	}
	l.conns[c.fd] = nil
	l.count--
	c.in, c.out, c.outLen = nil, nil, 0
	if why != nil && why != ErrClosed && sys.Tracing() {
		sys.Note("closing %d: %s", c.fd, sys.Describe(why))
	}
	sys.Close(c.fd)
	if l.acceptPaused {
		l.resumeAccept = true // a descriptor is free again
	}
	l.h.OnClose(c, why)
}

// timeout is epoll_wait's: until the nearest timer, rounded up to a
// whole millisecond (rounding down would wake a little early and spin
// through a few zero timeouts), or -1 for no limit.
func (l *Loop) timeout() int {
	if len(l.timers) == 0 {
		return -1
	}
	d := l.timers[0].when - l.now()
	if d <= 0 {
		return 0
	}
	ms := (d + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	return int(min(ms, 1<<31-1))
}

// now is the loop's clock: nanoseconds since New, from the monotonic
// clock (it never jumps when the wall clock is changed).
func (l *Loop) now() int64 { return int64(time.Since(l.start)) }

// Post runs f on the loop's goroutine soon, after the functions posted
// before it. It is safe from any goroutine; this is how other goroutines
// hand the loop work. If the loop stops before getting to f (Stop, or Run
// has returned), f is dropped.
func (l *Loop) Post(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.posted = append(l.posted, f)
	l.wakeLocked()
}

// Stop makes Run return after its current turn. Safe from any goroutine.
func (l *Loop) Stop() {
	l.stopping.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.wakeLocked()
	}
}

// wakeLocked rings the doorbell unless a ring is already on its way (one
// write per turn however many goroutines post). Called with mu held, so
// the descriptor cannot be closed under it.
func (l *Loop) wakeLocked() {
	if l.woken {
		return
	}
	l.woken = true
	l.p.wake()
}

// runPosted runs what other goroutines posted. The doorbell was drained
// first, so a Post that comes in now rings it again for the next turn.
func (l *Loop) runPosted() {
	l.mu.Lock()
	l.woken = false
	work := l.posted
	l.posted = l.spare[:0]
	l.mu.Unlock()
	for i, f := range work {
		f()
		work[i] = nil
	}
	l.spare = work[:0]
}

// shutdown closes everything when Run returns.
func (l *Loop) shutdown() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
	for _, c := range l.conns {
		if c != nil && !c.listener {
			l.finish(c, ErrStopped)
		}
	}
	for _, lc := range l.listeners {
		l.conns[lc.fd] = nil
		sys.Close(lc.fd)
	}
	l.listeners = nil
	l.p.close()
}
