package lessoncheck

import (
	"regexp"
	"strings"
)

// ansiRe finds the escape sequences a colouring program may print anyway:
// CSI sequences like ESC[31m and OSC sequences like window titles.
var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)

// cleanLine is an output line as the checker compares it: no carriage
// returns, no colour codes, no trailing spaces.
func cleanLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = ansiRe.ReplaceAllString(s, "")
	return strings.TrimRight(s, " \t")
}

// Outcomes of matching expected lines against the output seen so far.
const (
	noMatch  = iota // an output line contradicts the lesson: more output cannot help
	needMore        // everything so far fits; wait for more output
	matched
)

type result struct {
	state int
	end   int // with matched: index of the first output line not consumed
}

// matcher matches expected lines (Output and AnyLines only) against output
// lines from a start index. It backtracks over "..." so that an early,
// wrong guess for where the skipped lines end does not fail the lesson.
type matcher struct {
	exp    []Expect
	lines  []string
	ended  bool // no more output will come
	memo   map[[2]int]result
	failAt [2]int // the furthest expected line that failed, and where, for the message
}

func match(exp []Expect, lines []string, start int, ended bool) (result, *matcher) {
	m := &matcher{exp: exp, lines: lines, ended: ended, memo: map[[2]int]result{}, failAt: [2]int{-1, start}}
	return m.at(0, start), m
}

func (m *matcher) at(ei, oi int) result {
	if ei == len(m.exp) {
		return result{matched, oi}
	}
	key := [2]int{ei, oi}
	if r, ok := m.memo[key]; ok {
		return r
	}
	r := result{state: noMatch}
	switch {
	case m.exp[ei].Kind == AnyLines:
		// As few skipped lines as possible: try zero first.
		for k := oi; k <= len(m.lines); k++ {
			if s := m.at(ei+1, k); s.state == matched {
				r = s
				break
			}
		}
		if r.state != matched && !m.ended {
			r.state = needMore // later lines may still complete the match
		}
	case oi == len(m.lines):
		m.note(ei, oi)
		if !m.ended {
			r.state = needMore
		}
	case !m.exp[ei].re.MatchString(m.lines[oi]):
		m.note(ei, oi)
	default:
		r = m.at(ei+1, oi+1)
	}
	m.memo[key] = r
	return r
}

func (m *matcher) note(ei, oi int) {
	if ei > m.failAt[0] || (ei == m.failAt[0] && oi > m.failAt[1]) {
		m.failAt = [2]int{ei, oi}
	}
}
