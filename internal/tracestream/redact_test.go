package tracestream

import (
	"strings"
	"testing"

	"socklab/internal/sys"
)

func TestRedactOneLine(t *testing.T) {
	cases := []struct{ call, in, want string }{
		// socket.io CONNECT with auth, as strace escapes it.
		{"read", `read(7, "40{\"token\":\"s3cr3t\"}", 4096) = 19`, `read(7, "40{\"token\":\"[redacted]\"}", 4096) = 19`},
		// A namespace.
		{"read", `read(7, "40/admin,{\"token\":\"s3cr3t\"}", 4096) = 26`, `read(7, "40/admin,{\"token\":\"[redacted]\"}", 4096) = 26`},
		// \x22 is a quote too (strace -x), and so is \42.
		{"write", `write(7, "40{\x22token\x22:\x22s3cr3t\x22}", 19) = 19`, `write(7, "40{\x22token\x22:\x22[redacted]\x22}", 19) = 19`},
		{"write", `write(7, "40{\42token\42:\42s3cr3t\42}", 19) = 19`, `write(7, "40{\42token\42:\42[redacted]\42}", 19) = 19`},
		// An escaped quote inside the value is part of the value.
		{"read", `read(7, "40{\"token\":\"ab\\\"cd\",\"x\":1}", 99) = 28`, `read(7, "40{\"token\":\"[redacted]\",\"x\":1}", 99) = 28`},
		// Cut short by -s 32: what is shown of the value goes.
		{"read", `read(7, "\0\0\0\03040{\"token\":\"abcdefghij"..., 4096) = 40`, `read(7, "\0\0\0\03040{\"token\":\"[redacted]"..., 4096) = 40`},
		{"read", `read(7, "42[\"login\",{\"password\": \"hunter2\"}]", 99) = 36`, `read(7, "42[\"login\",{\"password\": \"[redacted]\"}]", 99) = 36`},
		{"read", `read(7, "GET /socket.io/?EIO=4&transport=websocket&token=abc HTTP/1.1\r\nAuthorization: Bearer xyz\r\nCookie: io=abc; x=1\r\nHost: a\r\n\r\n", 4096) = 99`,
			`read(7, "GET /socket.io/?EIO=4&transport=websocket&token=[redacted] HTTP/1.1\r\nAuthorization: [redacted]\r\nCookie: [redacted]\r\nHost: a\r\n\r\n", 4096) = 99`},
		{"writev", `writev(7, [{iov_base="\201\21", iov_len=2}, {iov_base="40{\"sid\":\"AbC\"}", iov_len=15}], 2) = 17`,
			`writev(7, [{iov_base="\201\21", iov_len=2}, {iov_base="40{\"sid\":\"[redacted]\"}", iov_len=15}], 2) = 17`},
		// Nothing secret: the line is the same string.
		{"write", `write(7, "42[\"chat\",\"hi\"]", 15) = 15`, `write(7, "42[\"chat\",\"hi\"]", 15) = 15`},
		{"bind", `bind(3, {sa_family=AF_UNIX, sun_path="/tmp/token"}, 13) = 0`, `bind(3, {sa_family=AF_UNIX, sun_path="/tmp/token"}, 13) = 0`},
		// An object as the value.
		{"read", `read(7, "40{\"auth\":{\"user\":\"a\",\"k\":[1,\"}\"]},\"x\":2}", 99) = 40`, `read(7, "40{\"auth\":[redacted],\"x\":2}", 99) = 40`},
	}
	for _, c := range cases {
		got := NewRedactor().Text(c.call, 7, false, c.in)
		if got != c.want {
			t.Errorf("\n in:  %s\n got: %s\nwant: %s", c.in, got, c.want)
		}
	}
}

// A note is plain words: a secret in it goes too.
func TestRedactNote(t *testing.T) {
	got := NewRedactor().Text("", -1, true, `# client sent 40{"token":"s3cr3t"}`)
	if want := `# client sent 40{"token":"[redacted]"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The token split over two writes, at every place it can be cut, in
// both of strace's spellings: neither line shows any of it.
func TestRedactSplit(t *testing.T) {
	payload := `40{"token":"s3cr3tvalue"}`
	for _, hex := range []bool{false, true} {
		for cut := 0; cut <= len(payload); cut++ {
			r := NewRedactor()
			l1 := r.Line(sys.TapLine{Call: "read", FD: 9, Text: "read(9, " + quote(payload[:cut], hex) + ", 4096) = 1"})
			l2 := r.Line(sys.TapLine{Call: "read", FD: 9, Text: "read(9, " + quote(payload[cut:], hex) + ", 4096) = 1"})
			shown := string(lexLiterals(l1.Text)[0].bytes) + string(lexLiterals(l2.Text)[0].bytes)
			for _, piece := range []string{"s3c", "r3t", "val", "lue"} {
				if strings.Contains(l1.Text+l2.Text, piece) || strings.Contains(shown, piece) {
					t.Errorf("cut %d (hex %v): %q shows in\n%s\n%s", cut, hex, piece, l1.Text, l2.Text)
				}
			}
		}
	}
}

// A value longer than what is remembered of the stream, over three
// writes; and a read between them on another descriptor does not mix in.
func TestRedactLongValueOverThreeWrites(t *testing.T) {
	r := NewRedactor()
	long := strings.Repeat("A", 300)
	texts := []string{`40{"token":"` + long[:150], long[150:], `BBB","x":"visible"}`}
	var out []string
	for i, p := range texts {
		out = append(out, r.Line(sys.TapLine{Call: "write", FD: 5, Text: "write(5, " + quote(p, false) + ", 1) = 1"}).Text)
		other := r.Line(sys.TapLine{Call: "write", FD: 6, Text: `write(6, "plain AAA", 9) = 9`}).Text
		if !strings.Contains(other, "plain AAA") {
			t.Errorf("step %d: fd 6 was redacted: %s", i, other)
		}
	}
	all := strings.Join(out, "\n")
	if strings.Contains(all, "AAA") || strings.Contains(all, "BBB") || !strings.Contains(all, "visible") {
		t.Errorf("got:\n%s", all)
	}
}

// After a line cut short by -s 32, the next write may begin with the end
// of a value we never saw; it is hidden.
func TestRedactAfterTruncation(t *testing.T) {
	r := NewRedactor()
	r.Line(sys.TapLine{Call: "write", FD: 5, Text: `write(5, "42[\"chat\",\"a very long message t"..., 300) = 300`})
	got := r.Line(sys.TapLine{Call: "write", FD: 5, Text: `write(5, "s3cr3t\"}", 8) = 8`}).Text
	if strings.Contains(got, "s3cr3t") {
		t.Errorf("got %s", got)
	}
	got = r.Line(sys.TapLine{Call: "write", FD: 5, Text: `write(5, "42[\"chat\",\"hi\"]", 15) = 15`}).Text
	if !strings.Contains(got, `\"hi\"`) {
		t.Errorf("an ordinary write after it was redacted: %s", got)
	}
}

// close forgets the descriptor: a new connection on the same number
// starts clean.
func TestRedactForgetsOnClose(t *testing.T) {
	r := NewRedactor()
	r.Line(sys.TapLine{Call: "read", FD: 5, Text: `read(5, "40{\"token\":\"abc", 14) = 14`})
	r.Line(sys.TapLine{Call: "close", FD: 5, Text: `close(5) = 0`})
	if len(r.streams) != 0 {
		t.Errorf("%d flows remembered after close", len(r.streams))
	}
	got := r.Line(sys.TapLine{Call: "read", FD: 5, Text: `read(5, "hello", 5) = 5`}).Text
	if !strings.Contains(got, "hello") {
		t.Errorf("got %s", got)
	}
}

// quote spells s as strace does; with hex, every quote as \x22.
func quote(s string, hex bool) string {
	q := sys.Quote([]byte(s))
	if len(s) > sys.StringLimit {
		old := sys.StringLimit
		sys.StringLimit = len(s)
		q = sys.Quote([]byte(s))
		sys.StringLimit = old
	}
	if hex {
		q = `"` + strings.ReplaceAll(q[1:len(q)-1], `\"`, `\x22`) + `"`
	}
	return q
}

// An HTTP head read in two pieces, cut inside a header's value and
// inside another header's name.
func TestRedactHeaderSplit(t *testing.T) {
	r := NewRedactor()
	a := r.Line(sys.TapLine{Call: "read", FD: 8, Text: `read(8, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nAuthorization: Bearer abc", 4096) = 80`}).Text
	b := r.Line(sys.TapLine{Call: "read", FD: 8, Text: `read(8, "def\r\nCoo", 4096) = 8`}).Text
	c := r.Line(sys.TapLine{Call: "read", FD: 8, Text: `read(8, "kie: io=ghi\r\nHost: x\r\n\r\n", 4096) = 20`}).Text
	all := a + "\n" + b + "\n" + c
	for _, s := range []string{"abc", "def", "ghi"} {
		if strings.Contains(all, s) {
			t.Errorf("%q shows:\n%s", s, all)
		}
	}
	if !strings.Contains(c, `Host: x`) || !strings.Contains(a, `Authorization: [redacted]"`) {
		t.Errorf("too much or too little went:\n%s", all)
	}
}
