package tracestream

import (
	"bytes"
	"strings"
)

// This file finds secrets in bytes: which keys, headers and parameters
// name one, and where each value ends.

// secretKeys are JSON keys whose value is hidden, matched without regard
// to case: exactly these…
var secretKeys = map[string]bool{
	"sid": true, "auth": true, "pass": true, "pwd": true, "jwt": true, "key": true,
}

// …and any key containing one of these.
var secretKeyParts = []string{
	"token", "password", "passwd", "secret", "apikey", "api_key", "api-key",
	"credential", "authorization", "cookie", "session",
}

// secretHeaders are HTTP header names whose value is hidden.
var secretHeaders = []string{
	"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token",
}

func isSecretKey(k string) bool {
	if len(k) < 3 || len(k) > 40 {
		return false
	}
	var low [40]byte
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '\\' || c == '\r' || c == '\n':
			return false // not a key: strace's escapes seen from outside a string
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		low[i] = c
	}
	lk := string(low[:len(k)]) // does not escape: no allocation
	if secretKeys[lk] {
		return true
	}
	for _, p := range secretKeyParts {
		if strings.Contains(lk, p) {
			return true
		}
	}
	return false
}

// valState is where a scan is inside a secret value, so that a value cut
// by the end of one call's data goes on in the next.
type valState struct {
	kind  byte // 's' JSON string, 'n' JSON object or array, 'b' bare JSON, 'h' header, 'q' query; 0 none
	depth int  // 'n': brackets open
	inStr bool // 'n': inside a string
	esc   bool // the last byte was a backslash
}

// scan moves st over b from i and returns where the value ends (the
// index after its last byte) and whether it ended; if not, the end is
// len(b) and st is ready to go on with the next bytes.
func (st *valState) scan(b []byte, i int) (int, bool) {
	for ; i < len(b); i++ {
		c := b[i]
		switch st.kind {
		case 's':
			switch {
			case st.esc:
				st.esc = false
			case c == '\\':
				st.esc = true
			case c == '"':
				st.kind = 0
				return i, true
			}
		case 'n':
			switch {
			case st.esc:
				st.esc = false
			case st.inStr && c == '\\':
				st.esc = true
			case c == '"':
				st.inStr = !st.inStr
			case st.inStr:
			case c == '{' || c == '[':
				st.depth++
			case c == '}' || c == ']':
				st.depth--
				if st.depth <= 0 {
					st.kind = 0
					return i + 1, true
				}
			}
		case 'b':
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == '"' {
				st.kind = 0
				return i, true
			}
		case 'h':
			if c == '\r' || c == '\n' {
				st.kind = 0
				return i, true
			}
		case 'q':
			if c == '&' || c == ' ' || c == '#' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == ';' {
				st.kind = 0
				return i, true
			}
		default:
			return i, true
		}
	}
	return len(b), false
}

// findSecrets returns the spans [start, end) of the secret values in b,
// and the state of each value still open at the end of b.
func findSecrets(b []byte) (spans [][2]int, open []valState) {
	add := func(start int, st valState) {
		end, done := st.scan(b, start)
		if start < end || !done {
			spans = append(spans, [2]int{start, end})
		}
		if !done {
			open = append(open, st)
		}
	}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			if start, st, ok := jsonValue(b, i); ok {
				add(start, st)
			}
		case '?', '&':
			if start, ok := queryValue(b, i+1); ok {
				add(start, valState{kind: 'q'})
			}
		case '\n':
			if start, ok := headerValue(b, i+1); ok {
				add(start, valState{kind: 'h'})
			}
		}
		if i == 0 {
			if start, ok := headerValue(b, 0); ok {
				add(start, valState{kind: 'h'})
			}
		}
	}
	return spans, open
}

// jsonValue: b[q] is a quote; if a secret key starts there and a value
// follows its colon, it returns where the value's bytes start and the
// state to scan them with. A value not begun yet (the data ends after the
// colon) starts at len(b).
func jsonValue(b []byte, q int) (int, valState, bool) {
	end := bytes.IndexByte(b[q+1:min(len(b), q+1+48)], '"')
	if end <= 0 || !isSecretKey(string(b[q+1:q+1+end])) {
		return 0, valState{}, false
	}
	i := skipSpace(b, q+1+end+1)
	if i >= len(b) || b[i] != ':' {
		return 0, valState{}, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		// The value is in the next call's data: the key stays in the tail.
		return 0, valState{}, false
	}
	switch b[i] {
	case '"':
		return i + 1, valState{kind: 's'}, true
	case '{', '[':
		return i, valState{kind: 'n'}, true
	}
	return i, valState{kind: 'b'}, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// queryValue: b[i:] may be name=value in a URL's query.
func queryValue(b []byte, i int) (int, bool) {
	eq := bytes.IndexByte(b[i:min(len(b), i+32)], '=')
	if eq <= 0 {
		return 0, false
	}
	name := b[i : i+eq]
	if bytes.ContainsAny(name, "&?/ \"\r\n") || !isSecretKey(string(name)) {
		return 0, false
	}
	return i + eq + 1, true
}

// headerValue: b[i:] may be a header line whose value is a secret.
func headerValue(b []byte, i int) (int, bool) {
	colon := bytes.IndexByte(b[i:min(len(b), i+24)], ':')
	if colon <= 0 {
		return 0, false
	}
	name := strings.ToLower(string(b[i : i+colon]))
	for _, h := range secretHeaders {
		if name == h {
			j := i + colon + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			return j, true
		}
	}
	return 0, false
}

// dedupe keeps one of each open state (there are seldom more than two).
func dedupe(open []valState) []valState {
	var out []valState
	for _, st := range open {
		seen := false
		for _, o := range out {
			seen = seen || o == st
		}
		if !seen {
			out = append(out, st)
		}
	}
	if len(out) > 4 {
		out = out[:4]
	}
	return out
}
