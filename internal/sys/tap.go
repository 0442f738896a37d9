package sys

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the tap: a way for the program itself to receive every
// trace line it prints, so that a server can show its own system calls to
// a browser page. What goes to stderr does not change. With no tap set,
// printing a line costs one extra atomic load (see BenchmarkTap).
//
// The tap is fed while the trace's lock is held, in the trace's own order,
// so it never waits: each line goes into a bounded queue, or is dropped and
// counted when the queue is full. The program drains the queue when it
// suits it (Drain from a timer, or a goroutine ranging over Lines).
//
// A page's own connection must not feed itself: the stream's write to the
// page would be traced, that line streamed, that write traced… TapExclude
// marks a descriptor whose calls are left out of the tap; they are only
// counted (Tap.Hidden), for the page to say "N calls of the viewers' own
// connections not shown".

// TapLine is one line of the trace as the tap delivers it.
type TapLine struct {
	Seq   uint64    // the line's place among the lines the tap saw (dropped ones included)
	Time  time.Time // when it was printed
	Text  string    // the line as printed on stderr, without colour and newline
	Call  string    // the call's name ("read"); for a note under a call, that call's
	FD    int       // the descriptor the call works on (its first argument), or -1
	Ret   int       // the call's result (-1 on an error); 0 for a note
	Errno string    // "ECONNREFUSED" when the call failed with an errno, else ""
	Note  bool      // a "# …" line: an -explain note, or a program's own note
}

// Tap is a bounded queue of trace lines. Make it with NewTap, start it
// with SetTap.
type Tap struct {
	ch      chan TapLine
	dropped atomic.Uint64 // lines lost because the queue was full
	hidden  atomic.Uint64 // calls left out by TapExclude
	seq     uint64        // under outMu
}

// NewTap makes a tap whose queue holds up to size lines (at least 1).
func NewTap(size int) *Tap {
	if size < 1 {
		size = 1
	}
	return &Tap{ch: make(chan TapLine, size)}
}

// tap is the tap in use, or nil: the one atomic load on the hot path.
var tap atomic.Pointer[Tap]

// SetTap makes t receive every line printed from now on; nil stops the
// tap. Lines reach a tap only while tracing is on: a program that wants
// the lines but not the stderr trace sets its output to io.Discard.
func SetTap(t *Tap) { tap.Store(t) }

// Lines is the queue, for a goroutine that ranges over it. It is never
// closed.
func (t *Tap) Lines() <-chan TapLine { return t.ch }

// Drain appends to dst the lines waiting now, at most max (all when
// max <= 0), without waiting for more.
func (t *Tap) Drain(dst []TapLine, max int) []TapLine {
	for n := 0; max <= 0 || n < max; n++ {
		select {
		case l := <-t.ch:
			dst = append(dst, l)
		default:
			return dst
		}
	}
	return dst
}

// Dropped is how many lines were lost because the queue was full.
func (t *Tap) Dropped() uint64 { return t.dropped.Load() }

// Hidden is how many calls on excluded descriptors were left out.
func (t *Tap) Hidden() uint64 { return t.hidden.Load() }

// The descriptors left out of the tap. A close of one ends its exclusion,
// in trace order: the number may come back at once for a new connection,
// which must be seen.
var (
	exclMu   sync.Mutex
	excluded = map[int]bool{}
)

// TapExclude leaves fd's own calls out of the tap (they are still printed
// on stderr): the connection of a page that watches the trace.
func TapExclude(fd int) {
	exclMu.Lock()
	excluded[fd] = true
	exclMu.Unlock()
}

// TapInclude undoes TapExclude. Closing fd does it too.
func TapInclude(fd int) {
	exclMu.Lock()
	delete(excluded, fd)
	exclMu.Unlock()
}

// feed is called by printAt with outMu held, for each piece of text
// printed: one call with its -explain notes, or one note.
func (t *Tap) feed(s string) {
	now := time.Now()
	s = stripColor(s)
	head := TapLine{FD: -1}
	hide := false
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		l := head
		l.Text, l.Time = line, now
		if isNote(line) {
			l.Note, l.Ret, l.Errno = true, 0, ""
		} else {
			l = parseCall(line, now)
			head = l
			hide = t.excludedCall(l)
			if hide {
				t.hidden.Add(1)
			}
		}
		if hide {
			continue
		}
		l.Seq = t.seq
		t.seq++
		select {
		case t.ch <- l:
		default:
			t.dropped.Add(1)
		}
	}
}

// isNote: "# peer …", "    # TCP state: …", and -step's prompts.
func isNote(line string) bool {
	trim := strings.TrimLeft(line, " ")
	return strings.HasPrefix(trim, "#") || strings.HasPrefix(trim, "next: ") || strings.HasPrefix(trim, "[press Enter")
}

// excludedCall reports whether l is a call of an excluded descriptor:
// its first argument, the descriptor epoll_ctl adds or changes, or every
// descriptor an epoll_wait reported ready. A close ends the exclusion.
func (t *Tap) excludedCall(l TapLine) bool {
	exclMu.Lock()
	defer exclMu.Unlock()
	if len(excluded) == 0 {
		return false
	}
	switch l.Call {
	case "epoll_ctl":
		return excluded[argInt(l.Text, 2)]
	case "epoll_wait", "epoll_pwait":
		if l.Ret <= 0 {
			return false
		}
		rest := l.Text
		for {
			i := strings.Index(rest, "u32=")
			if i < 0 {
				return true
			}
			rest = rest[i+4:]
			n, _ := leadingInt(rest)
			if !excluded[n] {
				return false
			}
		}
	case "close":
		if excluded[l.FD] {
			delete(excluded, l.FD)
			return true
		}
		return false
	}
	return l.FD >= 0 && excluded[l.FD]
}

// parseCall reads name(fd, …) = ret [ERRNO (text)] from a call line.
func parseCall(line string, now time.Time) TapLine {
	l := TapLine{Text: line, Time: now, FD: -1}
	open := strings.IndexByte(line, '(')
	if open <= 0 {
		return l
	}
	l.Call = line[:open]
	if fd, ok := leadingInt(line[open+1:]); ok {
		l.FD = fd
	}
	// The result follows the last ") = ": a payload may hold the same
	// characters, but the result is printed after every argument.
	if i := strings.LastIndex(line, ") = "); i >= 0 {
		res := line[i+4:]
		l.Ret, _ = leadingInt(res)
		if strings.HasPrefix(res, "-1 E") {
			e := res[3:]
			if j := strings.IndexByte(e, ' '); j >= 0 {
				e = e[:j]
			}
			l.Errno = e
		}
	}
	return l
}

// argInt is the n-th (from 0) top-level argument of a call line as a
// number, or -1.
func argInt(line string, n int) int {
	open := strings.IndexByte(line, '(')
	if open < 0 {
		return -1
	}
	rest := line[open+1:]
	for ; n > 0; n-- {
		i := strings.Index(rest, ", ")
		if i < 0 {
			return -1
		}
		rest = rest[i+2:]
	}
	v, ok := leadingInt(rest)
	if !ok {
		return -1
	}
	return v
}

// leadingInt parses the (possibly negative) number s starts with.
func leadingInt(s string) (int, bool) {
	end := 0
	if end < len(s) && s[end] == '-' {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	v, err := strconv.Atoi(s[:end])
	if err != nil {
		return -1, false
	}
	return v, true
}

// stripColor removes the terminal's colour codes (ESC [ … m): the page
// colours the line itself, from the fields.
func stripColor(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] == ';' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
