package reactor

import "time"

// Timer is a function the loop runs once, later, on its own goroutine.
type Timer struct {
	when  int64 // Loop.now() at which it is due
	f     func()
	index int // position in the heap; -1 when not in it
	loop  *Loop
}

// AfterFunc runs f on the loop's goroutine once d has passed. Loop
// goroutine only (from elsewhere: Post a function that calls it).
//
// The timers are kept in a heap ordered by deadline; the nearest
// deadline is epoll_wait's timeout, so the loop sleeps exactly until
// there is something to do.
func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer {
	t := &Timer{when: l.now() + int64(d), f: f, loop: l}
	l.timers.push(t)
	return t
}

// Now is the loop's clock, the one AfterFunc counts in: the time since
// New. A program that keeps its own deadlines (one timer for many of
// them) reads them off this clock, so they agree with the timers'.
func (l *Loop) Now() time.Duration { return time.Duration(l.now()) }

// Stop cancels the timer if it has not run yet. Loop goroutine only.
func (t *Timer) Stop() {
	if t.index >= 0 && t.index < len(t.loop.timers) && t.loop.timers[t.index] == t {
		t.loop.timers.remove(t.index)
	}
}

// runTimers runs the timers that are due. A timer set by one of them,
// even for "now", waits for the next turn: so a timer that keeps
// re-arming itself cannot keep the loop from its sockets.
func (l *Loop) runTimers() {
	if len(l.timers) == 0 {
		return
	}
	now := l.now()
	for n := len(l.timers); n > 0 && len(l.timers) > 0 && l.timers[0].when <= now; n-- {
		t := l.timers[0]
		l.timers.remove(0)
		t.f()
	}
}

// timerHeap is a binary min-heap on when: timers[0] is the nearest.
type timerHeap []*Timer

func (h *timerHeap) push(t *Timer) {
	t.index = len(*h)
	*h = append(*h, t)
	h.up(t.index)
}

func (h *timerHeap) remove(i int) {
	s := *h
	last := len(s) - 1
	s[i].index = -1
	if i != last {
		s[i] = s[last]
		s[i].index = i
	}
	s[last] = nil
	*h = s[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].when <= h[i].when {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h timerHeap) down(i int) {
	for {
		small := i
		for _, child := range []int{2*i + 1, 2*i + 2} {
			if child < len(h) && h[child].when < h[small].when {
				small = child
			}
		}
		if small == i {
			return
		}
		h.swap(i, small)
		i = small
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
