package httpwire

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Default bounds, the numbers in the package doc.
const (
	DefaultMaxHead    = 8 << 10
	DefaultMaxHeaders = 100
	DefaultMaxBody    = 1 << 20
)

// Limits bounds what a parser accepts. A zero field means its default.
type Limits struct {
	MaxHead    int // request or status line plus headers, in bytes
	MaxHeaders int // header lines
	MaxBody    int // Content-Length, in bytes (the server's maxPayload)
}

func (l Limits) withDefaults() Limits {
	if l.MaxHead <= 0 {
		l.MaxHead = DefaultMaxHead
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	return l
}

// Header is one `Name: value` line, as it came (the name keeps its case; a
// lookup ignores case).
type Header struct {
	Name, Value string
}

// Error is a request the server refuses. Status is the HTTP status to answer
// with, Reason one line that says what was wrong, and Headers any header the
// answer must carry (426 Upgrade Required names the protocol to upgrade to).
// A client that reads a broken response gets the same type with status 502,
// the code a proxy would answer with for a bad upstream.
type Error struct {
	Status  int
	Reason  string
	Headers []Header
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, StatusText(e.Status), e.Reason)
}

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// head is what scanHead found: where the head ends and its lines.
type scanned struct {
	start int // first byte of the start line (after skipped empty lines)
	end   int // first byte after the empty line
}

// scanHead looks for the empty line that ends a head, without allocating.
// It returns end == 0 while the head is incomplete, and a 431 as soon as the
// bytes so far already break a bound, so a peer that never sends the empty
// line is refused once it has sent MaxHead bytes, not never.
func scanHead(buf []byte, lim Limits) (scanned, *Error) {
	var s scanned
	// RFC 9112 2.2: a server should ignore empty lines before the request
	// line (some old clients send a CR LF after a POST body).
	for s.start < len(buf) && s.start < lim.MaxHead {
		if buf[s.start] == '\n' {
			s.start++
		} else if buf[s.start] == '\r' && s.start+1 < len(buf) && buf[s.start+1] == '\n' {
			s.start += 2
		} else {
			break
		}
	}
	lines := 0
	pos := s.start
	for {
		i := bytes.IndexByte(buf[pos:], '\n')
		if i < 0 {
			break
		}
		line := buf[pos : pos+i]
		pos += i + 1
		if pos > lim.MaxHead {
			return s, errorf(431, "request head over %d bytes", lim.MaxHead)
		}
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			s.end = pos
			return s, nil
		}
		lines++
		if lines > lim.MaxHeaders+1 { // +1: the start line
			return s, errorf(431, "more than %d header lines", lim.MaxHeaders)
		}
	}
	if len(buf) > lim.MaxHead {
		return s, errorf(431, "request head over %d bytes with no empty line", lim.MaxHead)
	}
	return s, nil
}

// nextLine cuts one line off text, dropping its LF and a CR before it.
func nextLine(text string) (line, rest string) {
	i := strings.IndexByte(text, '\n')
	line, rest = text[:i], text[i+1:]
	return strings.TrimSuffix(line, "\r"), rest
}

// parseHeaders reads header lines up to the empty line. status is what to
// answer with when a line is malformed (400 for a request, 502 for a
// response). The result is one allocation: a slice of Headers whose
// strings point into text.
func parseHeaders(text string, status int) ([]Header, *Error) {
	n := strings.Count(text, "\n") - 1 // the empty line is not a header
	if n < 0 {
		n = 0
	}
	headers := make([]Header, 0, n)
	for {
		var line string
		line, text = nextLine(text)
		if line == "" {
			return headers, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Obsolete line folding (RFC 9112 5.2): a header continued on
			// the next line. Nothing modern sends it; refusing it is allowed
			// and keeps one header one line.
			return nil, errorf(status, "header line starts with a space (obsolete line folding)")
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return nil, errorf(status, "header line without a colon: %.40q", line)
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !isToken(name) {
			// A space before the colon is refused too (RFC 9112 5.1): two
			// programs could disagree on whether "Host :" is Host.
			return nil, errorf(status, "bad header name %.40q", name)
		}
		if i := badValueByte(value); i >= 0 {
			return nil, errorf(status, "control byte 0x%02x in header %s", value[i], name)
		}
		headers = append(headers, Header{Name: name, Value: value})
	}
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is a non-empty RFC 9110 token: the characters
// allowed in a method and a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// badValueByte finds a control byte (other than tab) in a header value: a
// NUL or a lone CR there is how header-injection tricks start.
func badValueByte(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

// parseVersion reads "HTTP/1.1". ok is false when it is not of the form
// HTTP/d.d at all.
func parseVersion(s string) (major, minor int, ok bool) {
	if len(s) != 8 || s[:5] != "HTTP/" || s[6] != '.' ||
		s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9' {
		return 0, 0, false
	}
	return int(s[5] - '0'), int(s[7] - '0'), true
}

// lookup returns the first header called name (any case).
func lookup(headers []Header, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// count is how many header lines are called name.
func count(headers []Header, name string) int {
	n := 0
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			n++
		}
	}
	return n
}

// hasToken reports whether any header called name lists token in its
// comma-separated value, ignoring case: "Connection: keep-alive, Upgrade"
// contains "upgrade".
func hasToken(headers []Header, name, token string) bool {
	for _, h := range headers {
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ",") {
			if strings.EqualFold(trimOWS(part), token) {
				return true
			}
		}
	}
	return false
}

// contentLength reads every Content-Length line. It returns -1 when there is
// none. Repeats of the same number ("5" twice, or "5, 5") are one length, as
// RFC 9112 6.3 allows; two different numbers are an error.
func contentLength(headers []Header, status int) (int64, *Error) {
	length := int64(-1)
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "Content-Length") {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ",") {
			part = trimOWS(part)
			if part == "" || len(part) > 18 || strings.TrimLeft(part, "0123456789") != "" {
				return 0, errorf(status, "bad Content-Length %.40q", h.Value)
			}
			n, _ := strconv.ParseInt(part, 10, 64) // ≤ 18 digits cannot overflow
			if length >= 0 && n != length {
				return 0, errorf(status, "two different Content-Length values (%d and %d)", length, n)
			}
			length = n
		}
	}
	return length, nil
}
