package tracestream

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"socklab/internal/sys"
)

// clock is a test's time: it moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)} }
func line(call string, fd, i int) sys.TapLine {
	return sys.TapLine{Seq: uint64(i), Call: call, FD: fd, Ret: 1,
		Text: fmt.Sprintf(`%s(%d, "42[\"chat\",\"message %d\"]", 64) = 24`, call, fd, i)}
}

func kinds(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString([]string{"L", "D", "S+", "S", "S-"}[it.Kind])
	}
	return b.String()
}

// A viewer that falls behind loses the oldest lines, and its next
// delivery starts by saying how many.
func TestDropsCountedAndAnnounced(t *testing.T) {
	s := New(Config{Ring: 10, SummaryBehind: -1, SummaryRate: -1})
	v := s.Subscribe()
	for i := range 25 {
		s.Push(line("read", 7, i))
	}
	if v.Pending() != 10 {
		t.Fatalf("%d items wait, want 10", v.Pending())
	}
	d := v.Take(0)
	if len(d.Items) != 11 || d.Items[0].Kind != KindDropped || d.Items[0].N != 15 || d.Dropped != 15 {
		t.Fatalf("delivery %s, dropped %d: %+v", kinds(d.Items), d.Dropped, d.Items[0])
	}
	if !strings.Contains(d.Items[0].Text, "15 lines dropped") {
		t.Errorf("notice: %q", d.Items[0].Text)
	}
	for i, it := range d.Items[1:] {
		if it.Kind != KindLine || it.Line.Seq != uint64(15+i) {
			t.Errorf("item %d: %v seq %d, want line %d", i, it.Kind, it.Line.Seq, 15+i)
		}
	}
	s.Push(line("write", 7, 25))
	d = v.Take(5)
	if kinds(d.Items) != "L" || d.Dropped != 15 {
		t.Errorf("next delivery %s (dropped %d), want one line and no notice", kinds(d.Items), d.Dropped)
	}
	// Take's max leaves the rest waiting.
	for i := range 8 {
		s.Push(line("read", 7, 26+i))
	}
	if d := v.Take(3); len(d.Items) != 3 || v.Pending() != 5 {
		t.Errorf("Take(3) gave %d, %d left", len(d.Items), v.Pending())
	}
	// Two viewers do not share a ring.
	w := s.Subscribe()
	s.Push(line("read", 7, 99))
	if v.Pending() != 6 || w.Pending() != 1 {
		t.Errorf("pending %d and %d, want 6 and 1", v.Pending(), w.Pending())
	}
	w.Close()
	if s.Viewers() != 1 || len(w.Take(0).Items) != 0 {
		t.Errorf("after Close: %d viewers", s.Viewers())
	}
	s.Push(line("read", 7, 100))
}

// Lines faster than SummaryRate a second: the viewer is told, gets one
// count per second, and is told again when the rate is down.
func TestSummaryByRate(t *testing.T) {
	c := newClock()
	s := New(Config{Ring: 1000, SummaryRate: 100, Now: c.now})
	v := s.Subscribe()
	push := func(n int, call string) {
		for i := range n {
			s.Push(line(call, 7, i))
			c.add(time.Millisecond)
		}
	}
	push(100, "read") // 100 in the second: every line
	if d := v.Take(0); kinds(d.Items) != strings.Repeat("L", 100) || d.Summary {
		t.Fatalf("at the rate: %s", kinds(d.Items))
	}
	push(50, "read")
	push(100, "write")
	d := v.Take(0)
	if kinds(d.Items) != "S+" || !d.Summary || !strings.Contains(d.Items[0].Text, "more than 100 lines a second") {
		t.Fatalf("over the rate: %s %+v", kinds(d.Items), d.Items)
	}
	c.add(time.Second) // the summary's second is over
	d = v.Take(0)
	if kinds(d.Items) != "S" {
		t.Fatalf("after a second: %s", kinds(d.Items))
	}
	sum := d.Items[0]
	if sum.N != 150 || len(sum.Counts) != 2 || sum.Counts[0] != (Count{"write", 100}) || sum.Counts[1] != (Count{"read", 50}) {
		t.Errorf("summary %d %v", sum.N, sum.Counts)
	}
	if !strings.Contains(sum.Text, "150 calls: write 100, read 50") {
		t.Errorf("summary text %q", sum.Text)
	}
	// Still fast (150 lines in that second): it stays. Then a quiet second.
	if !d.Summary {
		t.Errorf("left summary mode while the rate was 150/s")
	}
	push(10, "close")
	c.add(time.Second)
	d = v.Take(0)
	if kinds(d.Items) != "SS-" || d.Summary {
		t.Fatalf("after a quiet second: %s summary=%v", kinds(d.Items), d.Summary)
	}
	push(3, "read")
	if d := v.Take(0); kinds(d.Items) != "LLL" {
		t.Errorf("back to lines: %s", kinds(d.Items))
	}
}

// A viewer behind by SummaryBehind items gets summaries; when it has
// caught up and the rate is low, lines again. Other viewers are not
// affected.
func TestSummaryByBacklog(t *testing.T) {
	c := newClock()
	s := New(Config{Ring: 100, SummaryBehind: 20, Now: c.now})
	slow, quick := s.Subscribe(), s.Subscribe()
	for i := range 30 {
		s.Push(line("read", 7, i))
		c.add(50 * time.Millisecond) // 20 lines a second
		quick.Take(0)
	}
	d := slow.Take(0)
	if kinds(d.Items) != strings.Repeat("L", 20)+"S+" || !strings.Contains(d.Items[20].Text, "20 lines behind") {
		t.Fatalf("slow viewer: %s", kinds(d.Items))
	}
	if quick.Take(0).Summary {
		t.Errorf("the quick viewer went to summaries too")
	}
	c.add(time.Second)
	s.Push(line("read", 7, 30))
	d = slow.Take(0)
	if kinds(d.Items) != "SS-L" {
		t.Errorf("caught up: %s", kinds(d.Items))
	}
}

// The redactor sits between the tap and every viewer.
func TestStreamRedacts(t *testing.T) {
	s := New(Config{})
	v := s.Subscribe()
	s.Push(sys.TapLine{Call: "read", FD: 7, Ret: 10, Text: `read(7, "40{\"token\":\"abc", 4096) = 14`})
	s.Push(sys.TapLine{Call: "read", FD: 7, Ret: 5, Text: `read(7, "def\"}", 4096) = 5`})
	d := v.Take(0)
	for _, it := range d.Items {
		if strings.Contains(it.Text, "abc") || strings.Contains(it.Text, "def") || strings.Contains(it.Line.Text, "abc") {
			t.Errorf("delivered %q", it.Text)
		}
	}
	if len(d.Items) != 2 || d.Items[1].Line.Call != "read" || d.Items[1].Line.Ret != 5 {
		t.Errorf("fields: %+v", d.Items)
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A viewer that never takes anything costs its ring and no more: the
// heap after a million lines is what it was after ten thousand.
func TestSlowViewerMemoryBounded(t *testing.T) {
	for _, cfg := range []Config{
		{Ring: 1000, SummaryBehind: -1, SummaryRate: -1}, // every line, dropping
		{Ring: 1000}, // summaries take over
	} {
		s := New(cfg)
		v := s.Subscribe()
		base := heap()
		push := func(from, to int) {
			for i := from; i < to; i++ {
				s.Push(line("write", 7, i))
			}
		}
		push(0, 10_000)
		small := heap()
		total := 1_000_000
		if cfg.SummaryRate >= 0 {
			total = 200_000 // summaries hold nothing per line: a shorter run shows it
		}
		push(10_000, total)
		big := heap()
		grew, grewSmall := int64(big)-int64(base), int64(small)-int64(base)
		t.Logf("summary=%v: heap +%d KiB after 1e4 lines, +%d KiB after %d", cfg.SummaryRate >= 0, grewSmall>>10, grew>>10, total)
		if grew > 4<<20 || grew > 2*grewSmall+(512<<10) {
			t.Errorf("heap grew %d bytes with %d lines (%d with 1e4)", grew, total, grewSmall)
		}
		if p := v.Pending(); p > 1000 {
			t.Errorf("%d items wait, ring is 1000", p)
		}
		d := v.Take(0)
		if cfg.SummaryRate < 0 && (d.Items[0].Kind != KindDropped || d.Dropped != uint64(total-1000)) {
			t.Errorf("dropped %d, first item %v", d.Dropped, d.Items[0].Kind)
		}
		runtime.KeepAlive(v)
	}
}

// The producer never waits for a viewer: one goroutine pushes while
// another takes slowly, and every line is either delivered or counted.
func TestProducerNeverWaits(t *testing.T) {
	s := New(Config{Ring: 64, SummaryBehind: -1, SummaryRate: -1})
	v := s.Subscribe()
	const lines = 200_000
	var wg sync.WaitGroup
	done := make(chan struct{})
	got := 0
	wg.Go(func() {
		for {
			select {
			case <-done:
				got += countLines(v.Take(0).Items)
				return
			case <-time.After(time.Millisecond):
				got += countLines(v.Take(0).Items)
			}
		}
	})
	start := time.Now()
	for i := range lines {
		s.Push(line("write", 7, i))
	}
	pushTime := time.Since(start)
	close(done)
	wg.Wait()
	d := v.Take(0)
	if uint64(got)+d.Dropped != lines {
		t.Errorf("delivered %d + dropped %d != %d", got, d.Dropped, lines)
	}
	t.Logf("pushed %d lines in %v; %d delivered, %d dropped", lines, pushTime, got, d.Dropped)
}

func countLines(items []Item) int {
	n := 0
	for _, it := range items {
		if it.Kind == KindLine {
			n++
		}
	}
	return n
}
