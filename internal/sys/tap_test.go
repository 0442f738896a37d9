//go:build linux

package sys

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tapTrace sends the trace to a buffer and the tap to a fresh queue for
// one test, and puts everything back after it.
func tapTrace(t *testing.T, queue int) (*bytes.Buffer, *Tap) {
	t.Helper()
	var buf bytes.Buffer
	SetOutput(&buf)
	wasTracing := tracing
	tracing = true
	tp := NewTap(queue)
	SetTap(tp)
	t.Cleanup(func() {
		SetTap(nil)
		SetOutput(os.Stderr)
		tracing = wasTracing
		explain = false
		exclMu.Lock()
		clear(excluded)
		exclMu.Unlock()
	})
	return &buf, tp
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// A real conversation on a socketpair, with -explain notes and an error:
// the tap delivers the very lines stderr got, in the same order.
func TestTapSeesWhatStderrGets(t *testing.T) {
	buf, tp := tapTrace(t, 1000)
	explain = true
	pair, err := Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := pair[0], pair[1]
	Write(a, []byte(`40{"token":"abc"}`))
	p := make([]byte, 64)
	Read(b, p)
	Note("peer %d wrote", a)
	Shutdown(a, unix.SHUT_WR)
	Read(b, p)
	Close(a)
	Close(b)
	if _, err := Write(b, []byte("x")); err != unix.EBADF {
		t.Fatalf("write on a closed descriptor: %v, want EBADF", err)
	}

	want := lines(buf.String())
	got := tp.Drain(nil, 0)
	if len(got) != len(want) {
		t.Fatalf("tap has %d lines, stderr %d:\n%s", len(got), len(want), buf.String())
	}
	notes := 0
	for i, l := range got {
		if l.Text != want[i] {
			t.Errorf("line %d: tap %q, stderr %q", i, l.Text, want[i])
		}
		if l.Seq != uint64(i) {
			t.Errorf("line %d has Seq %d", i, l.Seq)
		}
		if l.Time.IsZero() {
			t.Errorf("line %d has no time", i)
		}
		if l.Note {
			notes++
			if !strings.HasPrefix(strings.TrimLeft(l.Text, " "), "#") {
				t.Errorf("line %d is marked a note: %q", i, l.Text)
			}
		}
	}
	if notes == 0 {
		t.Errorf("no -explain note was marked: %q", want)
	}
	find := func(prefix string) TapLine {
		for _, l := range got {
			if strings.HasPrefix(l.Text, prefix) && !l.Note {
				return l
			}
		}
		t.Fatalf("no line starts with %q in %q", prefix, want)
		return TapLine{}
	}
	if w := find("write(" + itoa(a)); w.Call != "write" || w.FD != a || w.Ret != 17 || w.Errno != "" {
		t.Errorf("write line fields: %+v", w)
	}
	if sp := find("socketpair("); sp.Call != "socketpair" || sp.FD != -1 || sp.Ret != 0 {
		t.Errorf("socketpair line fields: %+v", sp)
	}
	if e := find("write(" + itoa(b)); e.Ret != -1 || e.Errno != "EBADF" || e.FD != b {
		t.Errorf("failed write fields: %+v", e)
	}
	// The note under the write belongs to the write.
	for i, l := range got {
		if l.Call == "write" && l.FD == a && !l.Note {
			if n := got[i+1]; !n.Note || n.Call != "write" || n.FD != a {
				t.Errorf("the line under the write is %+v", n)
			}
			break
		}
	}
	if tp.Dropped() != 0 || tp.Hidden() != 0 {
		t.Errorf("dropped %d, hidden %d, want 0 and 0", tp.Dropped(), tp.Hidden())
	}
}

// The calls of an excluded descriptor (a viewer's connection) stay on
// stderr but not in the tap, and are counted; its close ends the
// exclusion, so a new socket given the same number is seen again.
func TestTapExclude(t *testing.T) {
	buf, tp := tapTrace(t, 1000)
	pair, err := Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, viewer := pair[0], pair[1]
	TapExclude(viewer)
	Write(viewer, []byte("42[\"trace\",\"read(7, ...)\"]"))
	p := make([]byte, 64)
	Read(a, p)
	Write(a, []byte("3"))
	Read(viewer, p)
	Close(viewer) // hidden too, and the number is free again
	again, err := Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != viewer {
		t.Fatalf("the new pair got %v, expected %d to be reused", again, viewer)
	}
	Write(again[0], []byte("seen"))
	Close(again[0])
	Close(again[1])
	Close(a)

	stderr := buf.String()
	for _, want := range []string{"write(" + itoa(viewer) + ", \"42[", "read(" + itoa(viewer) + ", \"3\"", "close(" + itoa(viewer) + ")"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	got := tp.Drain(nil, 0)
	newSeen, closes := false, 0
	for _, l := range got {
		switch {
		case l.FD != viewer:
		case strings.Contains(l.Text, `"seen"`):
			newSeen = true
		case l.Call == "close" && newSeen:
			closes++ // the new socket's close
		default:
			t.Errorf("excluded call in the tap: %q", l.Text)
		}
	}
	if !newSeen || closes != 1 {
		t.Errorf("the reused descriptor's write (seen: %v) or close (%d) is missing from the tap", newSeen, closes)
	}
	if tp.Hidden() != 3 {
		t.Errorf("Hidden() = %d, want 3 (write, read, close)", tp.Hidden())
	}
	if len(got)+3 != len(lines(stderr)) {
		t.Errorf("tap %d lines + 3 hidden != stderr %d lines", len(got), len(lines(stderr)))
	}
}

// epoll_ctl on an excluded descriptor, and an epoll_wait that reports
// only excluded descriptors, are the viewers' own calls too.
func TestTapExcludeEpoll(t *testing.T) {
	_, tp := tapTrace(t, 100)
	tp.feed("epoll_ctl(4, EPOLL_CTL_MOD, 9, {events=EPOLLIN|EPOLLOUT, data={u32=9, u64=9}}) = 0\n")
	tp.feed("epoll_wait(4, [{events=EPOLLOUT, data={u32=9, u64=9}}], 128, 100) = 1\n")
	tp.feed("epoll_wait(4, [{events=EPOLLOUT, data={u32=9, u64=9}}, {events=EPOLLIN, data={u32=7, u64=7}}], 128, 100) = 2\n")
	TapExclude(9)
	tp.feed("epoll_ctl(4, EPOLL_CTL_MOD, 9, {events=EPOLLIN|EPOLLOUT, data={u32=9, u64=9}}) = 0\n")
	tp.feed("epoll_wait(4, [{events=EPOLLOUT, data={u32=9, u64=9}}], 128, 100) = 1\n")
	tp.feed("epoll_wait(4, [{events=EPOLLOUT, data={u32=9, u64=9}}, {events=EPOLLIN, data={u32=7, u64=7}}], 128, 100) = 2\n")
	tp.feed("epoll_wait(4, [], 128, 100) = 0\n")
	got := tp.Drain(nil, 0)
	if len(got) != 5 || tp.Hidden() != 2 {
		t.Fatalf("%d lines, %d hidden; want 5 and 2: %+v", len(got), tp.Hidden(), got)
	}
}

// The traced call never waits for the tap: with nobody draining, the
// queue stays at its size and the rest is dropped and counted.
func TestTapNeverBlocks(t *testing.T) {
	buf, tp := tapTrace(t, 4)
	pair, err := Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(pair[0])
	defer Close(pair[1])
	p := make([]byte, 8)
	for range 200 {
		Write(pair[0], []byte("x"))
		Read(pair[1], p)
	}
	n := len(lines(buf.String()))
	if q := len(tp.Lines()); q != 4 {
		t.Errorf("queue holds %d lines, want 4", q)
	}
	if d := tp.Dropped(); d != uint64(n-4) {
		t.Errorf("Dropped() = %d, want %d", d, n-4)
	}
	got := tp.Drain(nil, 0)
	if got[0].Seq != 0 || got[3].Seq != 3 {
		t.Errorf("the queue keeps the first lines: seqs %d…%d", got[0].Seq, got[3].Seq)
	}
}

func TestStripColor(t *testing.T) {
	in := "\x1b[36;1mread\x1b[0m(\x1b[33m4\x1b[0m, \"a\\33[0m\", 1) = \x1b[33m1\x1b[0m\x1b"
	if got, want := stripColor(in), "read(4, \"a\\33[0m\", 1) = 1\x1b"; got != want {
		t.Errorf("stripColor = %q, want %q", got, want)
	}
}

// BenchmarkTap is the A/B for the tap's cost: a write and a read on a
// socketpair with tracing off, tracing to io.Discard (the tap's hook is
// one atomic load that finds nil), and tracing to io.Discard with a tap
// drained every millisecond by another goroutine.
//
//	go test ./internal/sys -run '^$' -bench Tap -count 5
func BenchmarkTap(b *testing.B) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	msg, p := []byte("42[\"chat\",\"hi\"]"), make([]byte, 64)
	run := func(b *testing.B, on bool, tp *Tap) {
		SetOutput(io.Discard)
		tracing = on
		SetTap(tp)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		if tp != nil {
			// Drained as the server will: from a timer, not per line.
			wg.Go(func() {
				var buf []TapLine
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						buf = tp.Drain(buf[:0], 0)
					}
				}
			})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			Write(pair[0], msg)
			Read(pair[1], p)
		}
		b.StopTimer()
		close(stop)
		wg.Wait()
		SetTap(nil)
		tracing = true
		SetOutput(os.Stderr)
	}
	b.Run("off", func(b *testing.B) { run(b, false, nil) })
	b.Run("discard", func(b *testing.B) { run(b, true, nil) })
	b.Run("discard+tap", func(b *testing.B) { run(b, true, NewTap(4096)) })
}

// BenchmarkTapPrint is the same A/B without the system calls, whose cost
// hides everything else: printing one finished line to io.Discard, with
// no tap and with one (drained every millisecond).
func BenchmarkTapPrint(b *testing.B) {
	line := "write(5, \"42[\\\"chat\\\",\\\"hi\\\"]\", 15) = 15\n"
	run := func(b *testing.B, tp *Tap) {
		SetOutput(io.Discard)
		SetTap(tp)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if tp != nil {
			wg.Go(func() {
				var buf []TapLine
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						buf = tp.Drain(buf[:0], 0)
					}
				}
			})
		}
		b.ReportAllocs()
		for b.Loop() {
			printRaw(line)
		}
		close(stop)
		wg.Wait()
		SetTap(nil)
		SetOutput(os.Stderr)
	}
	b.Run("no-tap", func(b *testing.B) { run(b, nil) })
	b.Run("tap", func(b *testing.B) { run(b, NewTap(1<<16)) })
}
