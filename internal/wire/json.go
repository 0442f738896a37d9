package wire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The small pieces of JSON this package reads and writes by hand.
//
// Reading an event the obvious way, json.Unmarshal into []any, builds a Go
// value for every argument through reflection, only for the server to hand
// the arguments on as they came. Instead the whole payload is checked once
// (validJSON, in valid.go: json.Valid's answer, faster), and then a scanner
// that only has to count brackets and skip strings cuts it into its elements. The benchmarks in bench_test.go
// compare the two (BenchmarkParseEvent against BenchmarkParseEventStdlib).

// isSpace reports JSON's four whitespace bytes.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimSpace cuts JSON whitespace off both ends.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts with the
// quote at b[i], or -1 if it never closes. A quote ends the string unless an
// odd number of backslashes stands right before it (`\"` is an escaped quote,
// `\\"` is an escaped backslash and then the end).
func stringEnd(b []byte, i int) int {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		slashes := 0
		for j := q - 1; j >= i && b[j] == '\\'; j-- {
			slashes++
		}
		if slashes%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// valueEnd returns the index just past the JSON value that starts at b[i],
// or -1 if it runs off the end. It trusts that b is valid JSON (the caller
// ran validJSON), so it only needs to follow strings and bracket depth.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default: // a number, true, false or null: runs to the next delimiter
		for i < len(b) {
			switch b[i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// errScan should never be seen: it means a valid payload confused the
// scanner. The fuzz tests hunt for exactly that.
var errScan = perr("malformed JSON: scanner lost its place")

// nextElement is the step between two elements of a valid array: it skips
// whitespace and then either the closing ']' (done) or a ',' and more
// whitespace (another element starts at the returned index).
func nextElement(arr []byte, i int) (next int, done bool, err error) {
	i = skipSpace(arr, i)
	switch {
	case i < len(arr) && arr[i] == ']':
		return i, true, nil
	case i < len(arr) && arr[i] == ',':
		return skipSpace(arr, i+1), false, nil
	}
	return 0, false, errScan
}

// appendElements appends the elements of the valid JSON array arr from
// index i on, where i is just past '[' or just past an element. Each element
// is a slice of arr with its capacity cut to its length, so a caller who
// appends to one cannot scribble over the next.
func appendElements(args []json.RawMessage, arr []byte, i int, first bool) ([]json.RawMessage, error) {
	if first {
		i = skipSpace(arr, i)
		if i < len(arr) && arr[i] == ']' {
			return args, nil
		}
	} else {
		var done bool
		var err error
		if i, done, err = nextElement(arr, i); done || err != nil {
			return args, err
		}
	}
	for {
		if i >= len(arr) {
			return args, errScan
		}
		end := valueEnd(arr, i)
		if end < 0 {
			return args, errScan
		}
		args = append(args, json.RawMessage(arr[i:end:end]))
		var done bool
		var err error
		if i, done, err = nextElement(arr, end); done || err != nil {
			return args, err
		}
	}
}

// decodeString turns the JSON string token s (quotes included) into a Go
// string. Without a backslash the bytes between the quotes are the string
// already; escapes (\" \n \u00e9 and surrogate pairs) are rare in names and
// keys, so they go to encoding/json, which gets every case right.
func decodeString(s []byte) (string, error) {
	body := s[1 : len(s)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), nil
	}
	var out string
	if err := json.Unmarshal(s, &out); err != nil {
		return "", malformed(s)
	}
	return out, nil
}

// forEachField calls fn with every key and raw value of the valid JSON
// object obj, in order. Keys are matched exactly by the callers (JSON is
// case-sensitive; encoding/json's struct decoding is not).
func forEachField(obj []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errScan
		}
		kend := stringEnd(obj, i)
		if kend < 0 {
			return errScan
		}
		key, err := decodeString(obj[i:kend])
		if err != nil {
			return err
		}
		i = skipSpace(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return errScan
		}
		i = skipSpace(obj, i+1)
		if i >= len(obj) {
			return errScan
		}
		vend := valueEnd(obj, i)
		if vend < 0 {
			return errScan
		}
		if err := fn(key, obj[i:vend]); err != nil {
			return err
		}
		i = skipSpace(obj, vend)
		switch {
		case i < len(obj) && obj[i] == '}':
			return nil
		case i < len(obj) && obj[i] == ',':
			i = skipSpace(obj, i+1)
		default:
			return errScan
		}
	}
}

// checkJSON makes sure b is one valid JSON value whose first byte is open
// ('[' or '{'). what names the packet for the error ("EVENT payload").
func checkJSON(b []byte, open byte, what string) error {
	if len(b) == 0 || b[0] != open {
		kind := "array"
		if open == '{' {
			kind = "object"
		}
		return perr(what + " must be a JSON " + kind)
	}
	if !validJSON(b) {
		return malformed(b)
	}
	return nil
}

// malformed builds the "malformed JSON: …" error, with encoding/json's
// description of the first problem it finds. It runs only on bad input.
func malformed(b []byte) error {
	var raw json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return perr("malformed JSON: " + err.Error())
	}
	return perr("malformed JSON")
}

// appendString writes s as a JSON string the way JavaScript's
// JSON.stringify does, so the bytes match what socket.io would send:
// `"` and `\` are escaped, control characters become \n, \t, … or \u001f,
// and everything else (é, 😀, <, &) is copied as it is. A Go string can
// hold bytes that are not UTF-8; those are refused, since they would not
// survive the trip through a JavaScript string.
func appendString(dst []byte, s string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, false
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}
