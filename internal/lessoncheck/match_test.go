package lessoncheck

import (
	"strings"
	"testing"
)

func TestLineRegexp(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"listen(3, 128) = 0", "listen(3, 128) = 0", true},
		{"listen(3, 128) = 0", "listen(3, 129) = 0", false},
		{"a.b*c", "a.b*c", true},   // regexp characters are literal
		{"a.b*c", "axbbbc", false}, // ...and not patterns
		{"bind(<fd>, {sin_port=htons(<port>)}, 16) = 0", "bind(3, {sin_port=htons(7000)}, 16) = 0", true},
		{"port <port>", "port ", false},          // a placeholder needs a character
		{"port <port>", "port 7000 7001", false}, // and no spaces
		{"took <any>", "took 3 ms in all", true}, // <any> takes spaces
		{"took <any>.", "took .", true},          // and may be empty
		{"pid <pid> (<name>)", "pid 42 (tcpserver)", true},
		{"<Port>", "7000", false}, // only lowercase names are placeholders
		{"<Port>", "<Port>", true},
		{"whole line", "a whole line", false}, // anchored at both ends
	}
	for _, tc := range tests {
		if ok := lineRegexp(tc.want).MatchString(tc.got); ok != tc.ok {
			t.Errorf("%q against %q: match = %v, want %v", tc.want, tc.got, ok, tc.ok)
		}
	}
}

func TestCleanLine(t *testing.T) {
	in := "\x1b[1;31mwrite\x1b[0m(\x1b[33m4\x1b[0m) = 6 \r"
	if got := cleanLine(in); got != "write(4) = 6" {
		t.Errorf("cleanLine = %q", got)
	}
}

func TestMatch(t *testing.T) {
	exp := func(lines ...string) []Expect {
		var es []Expect
		for i, l := range lines {
			es = append(es, newExpect(i+1, l))
		}
		return es
	}
	tests := []struct {
		name  string
		exp   []Expect
		out   string
		ended bool
		state int
		end   int
	}{
		{"exact", exp("a", "b"), "a b c", false, matched, 2},
		{"wait for more", exp("a", "b"), "a", false, needMore, 0},
		{"ended too early", exp("a", "b"), "a", true, noMatch, 0},
		{"wrong line fails at once", exp("a", "b"), "a x", false, noMatch, 0},
		{"dots skip", exp("a", "...", "d"), "a b c d e", false, matched, 4},
		{"dots skip none", exp("a", "...", "b"), "a b", false, matched, 2},
		{"dots wait", exp("...", "d"), "a b", false, needMore, 0},
		{"dots never", exp("...", "d"), "a b", true, noMatch, 0},
		{"dots lazy", exp("...", "x"), "x x x", true, matched, 1},
		{"dots backtrack", exp("...", "x", "y", "z"), "x y x y z", true, matched, 5},
		{"trailing dots", exp("a", "..."), "a b c", true, matched, 1},
	}
	for _, tc := range tests {
		lines := strings.Fields(tc.out)
		res, _ := match(tc.exp, lines, 0, tc.ended)
		if res.state != tc.state || (res.state == matched && res.end != tc.end) {
			t.Errorf("%s: got state %d end %d, want state %d end %d", tc.name, res.state, res.end, tc.state, tc.end)
		}
	}
}
