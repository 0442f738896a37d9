package tracestream

import (
	"strings"

	"socklab/internal/sys"
)

// Redacted is what stands in for a secret in a delivered line.
const Redacted = "[redacted]"

// tailSize is how many bytes of the data a descriptor last carried (in
// one direction) are kept, so that a key split across two calls is still
// found: `write(7, "40{\"tok", 7)` then `write(7, "en\":\"s3cr3t\"}", 13)`.
const tailSize = 64

// A Redactor removes secrets from trace lines: the values of JSON keys
// that name a secret ("token", "password", "secret", "sid", "auth", …),
// the values of the HTTP headers Authorization, Proxy-Authorization,
// Cookie and Set-Cookie, and query parameters such as ?token= and &sid=.
//
// Secrets are looked for in the bytes a string argument stands for, not in
// its strace spelling: \" and \x22 and \42 are all a quote. The data that
// read and write calls carry on one descriptor is a stream, and a secret
// split across two calls is found: the Redactor remembers the end of what
// each descriptor carried in each direction, and whether a secret's value
// was still open. Everything else in the line is left as it was.
//
// A Redactor is not safe for concurrent use; the Stream holds one.
type Redactor struct {
	streams map[streamKey]*flow
}

type streamKey struct {
	fd  int
	out bool // written by us (write, sendto…) rather than read
}

// flow is what a Redactor remembers of one descriptor and direction.
type flow struct {
	tail      []byte     // the last bytes carried, decoded
	open      []valState // secret values the last call left unfinished
	truncated bool       // the last call's data was cut short ("..."): bytes went unseen
}

// NewRedactor makes a Redactor with nothing remembered.
func NewRedactor() *Redactor { return &Redactor{streams: map[streamKey]*flow{}} }

// Line returns l with the secrets in its text replaced by [redacted].
func (r *Redactor) Line(l sys.TapLine) sys.TapLine {
	l.Text = r.Text(l.Call, l.FD, l.Note, l.Text)
	if l.Call == "close" && !l.Note {
		delete(r.streams, streamKey{l.FD, false})
		delete(r.streams, streamKey{l.FD, true})
	}
	return l
}

// dataCalls are the calls whose string arguments are bytes on a
// connection, and which way they go.
var dataCalls = map[string]bool{
	"read": false, "recvfrom": false, "recvmsg": false, "recv": false, "readv": false,
	"write": true, "sendto": true, "sendmsg": true, "send": true, "writev": true,
}

// Text redacts one line of text. call and fd say which call printed it
// ("" and -1 for a line of the program's own); note marks an -explain
// line, which carries no data.
func (r *Redactor) Text(call string, fd int, note bool, text string) string {
	if note || call == "" {
		// Plain words, not strace's notation: no quoted strings to read.
		return redactRaw(text)
	}
	lits := lexLiterals(text)
	out, isData := dataCalls[call]
	var fl *flow
	if isData && !note && fd >= 0 {
		k := streamKey{fd, out}
		if fl = r.streams[k]; fl == nil {
			fl = &flow{}
			r.streams[k] = fl
		}
	}
	var data []*literal
	for i := range lits {
		lt := &lits[i]
		if fl != nil && !lt.address {
			data = append(data, lt)
			continue
		}
		// A name or an address, or a line that carries no data: on its own.
		spans, _ := findSecrets(lt.bytes)
		for _, sp := range spans {
			lt.mark(sp[0], sp[1])
		}
	}
	if fl != nil && len(data) > 0 {
		fl.redact(data)
	}
	text = rebuild(text, lits)
	if !clean(text) {
		// Only a line not in strace's form gets here (a quote where
		// strace would have escaped it): hide all its arguments.
		return call + "(" + Redacted + ")"
	}
	return text
}

// clean checks a redacted call line once more: no secret is left in any
// quoted string, nor in a stretch of text that crosses their quotes.
func clean(text string) bool {
	lits := lexLiterals(text)
	spans, _ := findSecrets([]byte(text))
	for _, sp := range spans {
		inside := false
		for _, lt := range lits {
			inside = inside || (sp[0] > lt.start && sp[1] < lt.end)
		}
		if !inside && !done(text[sp[0]:sp[1]]) {
			return false
		}
	}
	for _, lt := range lits {
		spans, _ := findSecrets(lt.bytes)
		for _, sp := range spans {
			if !done(string(lt.bytes[sp[0]:sp[1]])) {
				return false
			}
		}
	}
	return true
}

// done: a value that is already hidden (or empty).
func done(v string) bool { return v == "" || v == Redacted }

// redact finds the secrets in the data of one call, given what came
// before on the same flow, and marks them in the literals.
func (fl *flow) redact(data []*literal) {
	var cur []byte
	truncated := false
	for _, lt := range data {
		cur = append(cur, lt.bytes...)
		truncated = truncated || lt.truncated
	}
	buf := append(append([]byte(nil), fl.tail...), cur...)
	base := len(fl.tail)
	var spans [][2]int
	// A value the last call left open goes on from the first byte.
	for _, st := range fl.open {
		end, _ := st.scan(buf, base)
		spans = append(spans, [2]int{base, end})
	}
	if fl.truncated && len(fl.open) == 0 {
		// Bytes went unseen: if this call starts like the rest of a
		// quoted value (`s3cr3t"}`), it may be one; hide it.
		if q := continuation(cur); q > 0 {
			spans = append(spans, [2]int{base, base + q})
		}
	}
	found, open := findSecrets(buf)
	spans = append(spans, found...)
	// What is open at the end is open for the next call; a value the
	// tail no longer reaches back to is carried on by its state alone.
	for _, st := range fl.open {
		if end, done := st.scan(buf, base); !done && end == len(buf) {
			open = append(open, st)
		}
	}
	fl.open = dedupe(open)
	// Map back onto the literals.
	off := base
	for _, lt := range data {
		n := len(lt.bytes)
		for _, sp := range spans {
			a, b := max(sp[0], off), min(sp[1], off+n)
			if a < b {
				lt.mark(a-off, b-off)
			}
		}
		off += n
	}
	fl.truncated = truncated
	if len(buf) > tailSize {
		buf = buf[len(buf)-tailSize:]
	}
	fl.tail = append(fl.tail[:0], buf...)
}

// continuation is the length of a leading run that looks like the end
// of a quoted value: no structure, then an unescaped quote followed by
// } or , or the end. 0 if there is none.
func continuation(b []byte) int {
	for i, c := range b {
		switch c {
		case '"':
			if i == 0 || (i+1 < len(b) && b[i+1] != '}' && b[i+1] != ',') {
				return 0
			}
			return i
		case '{', '}', '[', ']', ':', ',', ' ', '\r', '\n':
			return 0
		case '\\':
			if i+1 < len(b) && b[i+1] == '"' {
				return 0
			}
		}
	}
	return 0
}

// redactRaw handles secrets written plainly in the line, outside any
// quoted string: a note that repeats a payload, a line of the program's own.
func redactRaw(text string) string {
	spans, _ := findSecrets([]byte(text))
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, sp := range mergeSpans(spans) {
		b.WriteString(text[last:sp[0]])
		b.WriteString(Redacted)
		last = sp[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

func mergeSpans(spans [][2]int) [][2]int {
	// spans come in order of their start, mostly; sort the few there are.
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j][0] < spans[j-1][0]; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	var out [][2]int
	for _, sp := range spans {
		if sp[0] >= sp[1] {
			continue
		}
		if n := len(out); n > 0 && sp[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}
