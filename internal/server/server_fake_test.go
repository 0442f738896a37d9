package server

// A stand-in event loop and connection, so the server's logic (sessions,
// rooms, acks, limits, timers) can be tested without sockets, with a clock
// the test moves by hand.

import (
	"encoding/binary"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"socklab/internal/transport"
)

type fakeLoop struct {
	mu      sync.Mutex
	now     time.Duration
	timers  []*fakeTimer
	posted  []func()
	stopped bool
}

type fakeTimer struct {
	at      time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() { t.stopped = true }

func (l *fakeLoop) Post(f func()) {
	l.mu.Lock()
	l.posted = append(l.posted, f)
	l.mu.Unlock()
}

func (l *fakeLoop) AfterFunc(d time.Duration, f func()) stopper {
	t := &fakeTimer{at: l.now + d, f: f}
	l.timers = append(l.timers, t)
	return t
}

func (l *fakeLoop) Stop() { l.stopped = true }

func (l *fakeLoop) Now() time.Duration { return l.now }

// runPosted runs what other goroutines posted, as the loop would.
func (l *fakeLoop) runPosted() {
	for {
		l.mu.Lock()
		p := l.posted
		l.posted = nil
		l.mu.Unlock()
		if len(p) == 0 {
			return
		}
		for _, f := range p {
			f()
		}
	}
}

// advance moves the clock, firing due timers in order.
func (l *fakeLoop) advance(d time.Duration) {
	end := l.now + d
	for {
		sort.SliceStable(l.timers, func(i, j int) bool { return l.timers[i].at < l.timers[j].at })
		if len(l.timers) == 0 || l.timers[0].at > end {
			break
		}
		t := l.timers[0]
		l.timers = l.timers[1:]
		if t.stopped {
			continue
		}
		l.now = t.at
		t.f()
	}
	l.now = end
}

// fakeConn records what the server writes. While stuck, nothing written
// leaves the output queue (a client that does not read).
type fakeConn struct {
	srv     *Server
	s       *Socket
	out     []byte   // everything written, in order
	read    int      // how much of out the test has looked at
	pending []string // frames read by a helper but not yet returned by frames
	stuck   bool
	queued  int
	closed  bool
	aborted bool
	paused  bool // PauseReading was called, and ResumeReading not since
}

func (c *fakeConn) Write(p []byte) error {
	c.out = append(c.out, p...)
	if c.stuck {
		c.queued += len(p)
	}
	return nil
}
func (c *fakeConn) Close()         { c.closed = true }
func (c *fakeConn) Abort()         { c.aborted = true }
func (c *fakeConn) PauseReading()  { c.paused = true }
func (c *fakeConn) ResumeReading() { c.paused = false }
func (c *fakeConn) OutputLen() int { return c.queued }

// frames returns the packet texts written since the last call.
func (c *fakeConn) frames(t *testing.T) []string {
	t.Helper()
	texts := c.pending
	c.pending = nil
	for c.read < len(c.out) {
		n := int(binary.BigEndian.Uint32(c.out[c.read:]))
		texts = append(texts, string(c.out[c.read+4:c.read+4+n]))
		c.read += 4 + n
	}
	return texts
}

// send feeds the server one frame per text, as bytes from the client.
func (c *fakeConn) send(texts ...string) {
	var in []byte
	for _, t := range texts {
		in = binary.BigEndian.AppendUint32(in, uint32(len(t)))
		in = append(in, t...)
	}
	c.sendRaw(in)
}

func (c *fakeConn) sendRaw(in []byte) {
	// Copy, and scribble over the copy afterwards: the server must not
	// keep pointers into the loop's input buffer.
	buf := append([]byte(nil), in...)
	n := c.srv.handleData(c.s, buf)
	for i := range buf[:n] {
		buf[i] = '#'
	}
}

func newFakeServer(t *testing.T, opts ServerOptions) (*Server, *fakeLoop) {
	srv := NewServer(opts)
	loop := &fakeLoop{}
	srv.attach(loop)
	return srv, loop
}

var fakeFD = 10

// dial opens a connection and returns it with OPEN read.
func dial(t *testing.T, srv *Server) *fakeConn {
	t.Helper()
	c := &fakeConn{srv: srv}
	fakeFD++
	c.s = openFake(srv, c, fakeFD, "127.0.0.1:5000")
	f := c.frames(t)
	if len(f) != 1 || !strings.HasPrefix(f[0], `0{"sid":"`) {
		t.Fatalf("first frames = %q, want OPEN", f)
	}
	return c
}

// join dials and completes CONNECT.
func join(t *testing.T, srv *Server) *fakeConn {
	t.Helper()
	c := dial(t, srv)
	c.send("40")
	f := c.frames(t)
	want := `40{"sid":"` + c.s.ID() + `"}`
	if len(f) == 0 || f[0] != want {
		t.Fatalf("after CONNECT got %q, want %q first", f, want)
	}
	c.pending = f[1:]
	return c
}

func expectFrames(t *testing.T, c *fakeConn, want ...string) {
	t.Helper()
	got := c.frames(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("socket %s got frames\n  %q\nwant\n  %q", c.s.ID(), got, want)
	}
}

// expectClosed checks that the last frame was CLOSE with a reason starting
// with prefix, and the connection was closed.
func expectClosed(t *testing.T, c *fakeConn, prefix string) {
	t.Helper()
	f := c.frames(t)
	if len(f) == 0 {
		t.Fatalf("no CLOSE frame; want reason %q", prefix)
	}
	last := f[len(f)-1]
	if !strings.HasPrefix(last, `1{"reason":"`+prefix) {
		t.Fatalf("last frame %q, want CLOSE with reason %q…", last, prefix)
	}
	if !c.closed && !c.aborted {
		t.Fatalf("connection not closed after %q", last)
	}
}

// The entry points the event loop reaches the server by, through package
// transport, for tests that play the loop.

// openFake opens a connection on link as the loop would after accept.
func openFake(srv *Server, link transport.Link, fd int, peer string) *Socket {
	return srv.tr.Open(link, fd, peer).Context.(*Socket)
}

// handleData hands the server's transport the bytes of one read.
func (srv *Server) handleData(s *Socket, in []byte) int { return srv.tr.Data(s.c, in) }

// handleClose is the loop closing the connection.
func (srv *Server) handleClose(s *Socket, reason string) { srv.tr.Hangup(s.c, reason) }

// attach makes l the loop of the server and its transport.
func (srv *Server) attach(l eventLoop) {
	srv.loop = l
	srv.tr.Attach(l)
}
