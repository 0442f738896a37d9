package transport

// A stand-in loop, link and handler, so the envelopes can be fed bytes
// in any pieces, with a clock the test moves by hand.

import (
	"sort"
	"testing"
	"time"
)

type fakeLoop struct {
	now    time.Duration
	timers []*fakeTimer
	posted []func()
}

type fakeTimer struct {
	at      time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() { t.stopped = true }

func (l *fakeLoop) Post(f func())      { l.posted = append(l.posted, f) }
func (l *fakeLoop) Stop()              {}
func (l *fakeLoop) Now() time.Duration { return l.now }
func (l *fakeLoop) AfterFunc(d time.Duration, f func()) Stopper {
	t := &fakeTimer{at: l.now + d, f: f}
	l.timers = append(l.timers, t)
	return t
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
		if !t.stopped {
			l.now = t.at
			t.f()
		}
	}
	l.now = end
}

// fakeLink records what the transport writes.
type fakeLink struct {
	out             []byte
	closed, aborted bool
	paused          bool
}

func (k *fakeLink) Write(p []byte) error { k.out = append(k.out, p...); return nil }
func (k *fakeLink) Close()               { k.closed = true }
func (k *fakeLink) Abort()               { k.aborted = true }
func (k *fakeLink) OutputLen() int       { return 0 }
func (k *fakeLink) PauseReading()        { k.paused = true }
func (k *fakeLink) ResumeReading()       { k.paused = false }

// recorder is the layer above: it keeps what it is told.
type recorder struct {
	opened  int
	packets []string
	refused []string
	closed  []string
}

func (r *recorder) Opened(c *Conn)              { r.opened++ }
func (r *recorder) Packet(c *Conn, text []byte) { r.packets = append(r.packets, string(text)) }
func (r *recorder) Refused(c *Conn, reason string) {
	r.refused = append(r.refused, reason)
	c.Send(ClosePacket(reason))
	c.Close()
}
func (r *recorder) Closed(c *Conn, reason string) { r.closed = append(r.closed, reason) }

func newFake(t *testing.T, opts Options) (*Transport, *fakeLoop, *recorder) {
	t.Helper()
	r := &recorder{}
	tr := New(r, opts)
	loop := &fakeLoop{}
	tr.Attach(loop)
	return tr, loop, r
}
