package tracestream

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"socklab/internal/sys"
)

// Config sets a Stream's bounds. The zero value is usable.
type Config struct {
	// Ring is how many items a viewer may have waiting (default 1000).
	// When it is full, the oldest goes and is counted.
	Ring int
	// SummaryBehind: a viewer with this many items waiting gets a summary
	// per second instead of every line (default Ring/2; -1: never).
	SummaryBehind int
	// SummaryRate: when more lines than this arrive in one second, every
	// viewer gets summaries (default 2000; -1: never).
	SummaryRate int
	// Now is the clock (default time.Now); tests set their own.
	Now func() time.Time
}

// Kind says what an Item is.
type Kind uint8

const (
	KindLine       Kind = iota // one trace line (Line has its fields)
	KindDropped                // "… N lines dropped": the viewer fell behind
	KindSummaryOn              // from here on, a summary per second
	KindSummary                // the calls of one second, counted by name
	KindSummaryOff             // back to every line
)

// Item is one thing to show a viewer.
type Item struct {
	Kind   Kind
	Time   time.Time
	Text   string       // the line, redacted, or the notice in words
	Line   *sys.TapLine // KindLine: the fields, redacted; shared, do not change
	N      int          // KindDropped: lines dropped; KindSummary: calls in the second
	Counts []Count      // KindSummary: calls by name, most first
}

// Count is how many calls of one name a summary's second had.
type Count struct {
	Call string
	N    int
}

// Delivery is what Take hands a viewer.
type Delivery struct {
	Items      []Item
	Dropped    uint64 // items this viewer lost so far, all told
	Hidden     uint64 // calls of the viewers' own connections left out (sys.TapExclude)
	TapDropped uint64 // lines lost before the stream saw them (the tap's queue was full)
	Summary    bool   // the viewer gets summaries now
}

// HiddenText is the page's line about the calls it is not shown.
func (d Delivery) HiddenText() string {
	return fmt.Sprintf("%d calls of the viewers' own connections not shown", d.Hidden)
}

// Stream fans trace lines out to viewers. Its methods are safe for
// concurrent use; it starts no goroutine.
type Stream struct {
	mu      sync.Mutex
	cfg     Config
	red     *Redactor
	viewers map[*Viewer]struct{}

	winStart time.Time // the second being counted for SummaryRate
	winCount int

	hidden, tapDropped uint64

	pumpMu  sync.Mutex
	pumpBuf []sys.TapLine
}

// New makes a Stream with no viewers.
func New(cfg Config) *Stream {
	if cfg.Ring <= 0 {
		cfg.Ring = 1000
	}
	switch {
	case cfg.SummaryBehind < 0:
		cfg.SummaryBehind = cfg.Ring + 1 // never reached: a ring holds Ring items
	case cfg.SummaryBehind == 0 || cfg.SummaryBehind > cfg.Ring:
		cfg.SummaryBehind = max(cfg.Ring/2, 1)
	}
	switch {
	case cfg.SummaryRate < 0:
		cfg.SummaryRate = int(^uint(0) >> 1)
	case cfg.SummaryRate == 0:
		cfg.SummaryRate = 2000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Stream{cfg: cfg, red: NewRedactor(), viewers: map[*Viewer]struct{}{}}
}

// Pump moves the lines waiting in the tap into the stream, at most max
// (all when max <= 0), and notes the tap's counters. It returns how many
// lines it moved. Call it from a timer, not per line: see the package doc.
func (s *Stream) Pump(t *sys.Tap, max int) int {
	s.pumpMu.Lock()
	defer s.pumpMu.Unlock()
	s.pumpBuf = t.Drain(s.pumpBuf[:0], max)
	for _, l := range s.pumpBuf {
		s.Push(l)
	}
	n := len(s.pumpBuf)
	clear(s.pumpBuf) // let the lines' text go
	s.mu.Lock()
	s.hidden, s.tapDropped = t.Hidden(), t.Dropped()
	s.mu.Unlock()
	return n
}

// Push redacts one line and offers it to every viewer. It never waits
// for a viewer: a full ring loses its oldest item.
func (s *Stream) Push(l sys.TapLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l = s.red.Line(l) // always, viewers or not: the redactor follows every flow
	now := s.cfg.Now()
	if now.Sub(s.winStart) >= time.Second {
		s.winStart, s.winCount = now, 0
	}
	s.winCount++
	fast := s.winCount > s.cfg.SummaryRate
	var shared *sys.TapLine
	for v := range s.viewers {
		v.tick(now)
		if !v.summary {
			switch {
			case fast:
				v.enter(now, fmt.Sprintf("more than %d lines a second", s.cfg.SummaryRate))
			case v.n >= s.cfg.SummaryBehind:
				v.enter(now, fmt.Sprintf("this page is %d lines behind", v.n))
			}
		}
		if v.summary {
			v.count(l)
			continue
		}
		if shared == nil {
			c := l
			shared = &c
		}
		v.put(Item{Kind: KindLine, Time: l.Time, Text: l.Text, Line: shared})
	}
}

// Subscribe adds a viewer; it sees the lines pushed from now on.
func (s *Stream) Subscribe() *Viewer {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &Viewer{s: s, ring: make([]Item, s.cfg.Ring)}
	s.viewers[v] = struct{}{}
	return v
}

// Viewers is how many viewers are subscribed.
func (s *Stream) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.viewers)
}

// Viewer is one page's place in the stream: a ring of items waiting.
type Viewer struct {
	s       *Stream
	ring    []Item
	head, n int
	dropped uint64 // since the last Take
	lost    uint64 // all told

	summary  bool
	secStart time.Time      // the second being summed
	counts   map[string]int // calls by name in it
	secLines int            // lines (calls and notes) in it
}

// put adds an item, pushing out the oldest when the ring is full.
func (v *Viewer) put(it Item) {
	if len(v.ring) == 0 {
		return // closed
	}
	if v.n == len(v.ring) {
		v.ring[v.head] = Item{}
		v.head = (v.head + 1) % len(v.ring)
		v.n--
		v.dropped++
		v.lost++
	}
	v.ring[(v.head+v.n)%len(v.ring)] = it
	v.n++
}

func (v *Viewer) enter(now time.Time, why string) {
	v.summary = true
	v.secStart, v.counts, v.secLines = now, map[string]int{}, 0
	v.put(Item{Kind: KindSummaryOn, Time: now,
		Text: "— " + why + ": from now on, a count of the calls each second instead of every line —"})
}

func (v *Viewer) count(l sys.TapLine) {
	v.secLines++
	if !l.Note && l.Call != "" {
		v.counts[l.Call]++
	}
}

// tick ends the summary's second when it is over, and goes back to every
// line when the rate is down and the viewer has caught up.
func (v *Viewer) tick(now time.Time) {
	if !v.summary {
		return
	}
	elapsed := now.Sub(v.secStart)
	if elapsed < time.Second {
		return
	}
	if v.secLines > 0 {
		v.put(v.summaryItem(now))
	}
	rate := float64(v.secLines) / elapsed.Seconds()
	if rate <= float64(v.s.cfg.SummaryRate)/2 && v.n <= v.s.cfg.SummaryBehind/2 {
		v.summary = false
		v.put(Item{Kind: KindSummaryOff, Time: now, Text: "— back to every line —"})
		return
	}
	v.secStart, v.counts, v.secLines = now, map[string]int{}, 0
}

func (v *Viewer) summaryItem(now time.Time) Item {
	it := Item{Kind: KindSummary, Time: now}
	for call, n := range v.counts {
		it.Counts = append(it.Counts, Count{call, n})
		it.N += n
	}
	sort.Slice(it.Counts, func(i, j int) bool {
		a, b := it.Counts[i], it.Counts[j]
		return a.N > b.N || (a.N == b.N && a.Call < b.Call)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%s–%s: %d calls", v.secStart.Format("15:04:05.000"), now.Format("15:04:05.000"), it.N)
	for i, c := range it.Counts {
		if i == 12 {
			fmt.Fprintf(&b, ", %d other names", len(it.Counts)-i)
			break
		}
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %d", sep, c.Call, c.N)
	}
	if notes := v.secLines - it.N; notes > 0 {
		fmt.Fprintf(&b, " (and %d notes)", notes)
	}
	it.Text = b.String()
	return it
}

// Take hands over the items waiting, at most max (all when max <= 0),
// oldest first. When items were dropped since the last Take, the first
// item says how many.
func (v *Viewer) Take(max int) Delivery {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v.tick(s.cfg.Now())
	d := Delivery{Dropped: v.lost, Hidden: s.hidden, TapDropped: s.tapDropped, Summary: v.summary}
	n := v.n
	if max > 0 && n > max {
		n = max
	}
	if v.dropped > 0 {
		d.Items = make([]Item, 0, n+1)
		d.Items = append(d.Items, Item{Kind: KindDropped, Time: s.cfg.Now(), N: int(v.dropped),
			Text: fmt.Sprintf("… %d lines dropped: this page fell behind", v.dropped)})
		v.dropped = 0
	} else if n > 0 {
		d.Items = make([]Item, 0, n)
	}
	for range n {
		d.Items = append(d.Items, v.ring[v.head])
		v.ring[v.head] = Item{}
		v.head = (v.head + 1) % len(v.ring)
		v.n--
	}
	return d
}

// Pending is how many items wait for Take.
func (v *Viewer) Pending() int {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	return v.n
}

// Close ends the subscription; the items waiting are let go.
func (v *Viewer) Close() {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	delete(v.s.viewers, v)
	v.ring, v.n = nil, 0
}
