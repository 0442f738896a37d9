package wire

import "encoding/binary"

// validJSON reports whether b is exactly one JSON value, with optional
// whitespace around it: the same answer as encoding/json.Valid, byte for
// byte (FuzzValidJSON in valid_test.go holds it to that), but in one
// straight pass with no scanner state machine.
//
// Why not just json.Valid: it steps through a state machine one byte and
// one function call at a time, and it ran on every incoming event. In the
// benchmark's tput workload (a stream of `42["count","xxx…"]`) it was two
// thirds of the server's CPU time; a string, the usual argument, is here a
// tight loop that only stops at a quote, a backslash or a control byte.
//
// Like json.Valid it does not check UTF-8 inside strings: ParsePacket
// checks the whole packet for UTF-8 once, before it gets here.
func validJSON(b []byte) bool {
	i := skipSpace(b, 0)
	i = validValue(b, i, 0)
	if i < 0 {
		return false
	}
	return skipSpace(b, i) == len(b)
}

// maxDepth is how deeply arrays and objects may nest, the same limit as
// encoding/json's (deeper input is not valid JSON to it either). It also
// bounds validValue's recursion.
const maxDepth = 10000

// validValue checks the value starting at b[i] and returns the index just
// past it, or -1 if it is not a valid value. depth is how many arrays and
// objects enclose it.
func validValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return validString(b, i)
	case c == '[':
		return validArray(b, i, depth+1)
	case c == '{':
		return validObject(b, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return validNumber(b, i)
	case c == 't':
		return validLiteral(b, i, "true")
	case c == 'f':
		return validLiteral(b, i, "false")
	case c == 'n':
		return validLiteral(b, i, "null")
	}
	return -1
}

// validString checks the string whose opening quote is b[i]. Most of a
// string is plain bytes, so it looks at eight at a time (plainBytes) and
// slows down to one at a time only near a quote, a backslash or a control
// byte.
func validString(b []byte, i int) int {
	i++
	for i < len(b) {
		for i+8 <= len(b) && plainBytes(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1 // control characters must be escaped
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
		i++
	}
	return -1 // no closing quote
}

// plainBytes reports whether none of the 8 bytes packed in w is a quote, a
// backslash or a control byte (below 0x20), with a few word-wide
// operations instead of eight comparisons. The trick: for a byte x,
// (x - 1) &^ x has its top bit set exactly when x is 0 (the subtraction
// borrows), so x ^ '"' flags a quote, x ^ '\\' a backslash, and
// (x - 0x20) &^ x flags x < 0x20. Borrows may set extra bits in bytes
// above a flagged one, so the answer is exact only as a whole: "is any
// byte special". The caller then looks at the bytes one by one.
func plainBytes(w uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q|(s-ones)&^s|(w-ones*0x20)&^w)&tops == 0
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// validNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			return -1
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i)
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits returns the index of the first byte at or after i that is not a digit.
func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func validLiteral(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// validArray checks the array whose '[' is b[i].
func validArray(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = validValue(b, i, depth); i < 0 {
			return -1
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1
		default:
			return -1
		}
	}
}

// validObject checks the object whose '{' is b[i].
func validObject(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		if i = validString(b, i); i < 0 {
			return -1
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		if i = validValue(b, skipSpace(b, i+1), depth); i < 0 {
			return -1
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1
		default:
			return -1
		}
	}
}
