package tracestream

import "strings"

// This file reads the quoted strings of a trace line: "hello\n",
// "\x22token\x22", "\42…", with the bytes each one stands for, so that
// secrets are looked for in the bytes and replaced in the text.

// literal is one quoted string in a line.
type literal struct {
	start, end int      // the quotes, text[start] and text[end-1]
	bytes      []byte   // what the string stands for
	src        [][2]int // for each byte, the part of text that spells it
	secret     []bool   // for each byte, whether it is part of a secret
	closed     bool     // it has its closing quote
	truncated  bool     // followed by "...": strace cut it short
	address    bool     // a name or an address (sun_path=, inet_addr(…)), not data
}

func (lt *literal) mark(a, b int) {
	if lt.secret == nil {
		lt.secret = make([]bool, len(lt.bytes))
	}
	for i := max(a, 0); i < b && i < len(lt.bytes); i++ {
		lt.secret[i] = true
	}
}

// lexLiterals finds the quoted strings in a line. A string with no
// closing quote runs to the end of the line.
func lexLiterals(text string) []literal {
	var lits []literal
	for i := 0; i < len(text); i++ {
		if text[i] != '"' {
			continue
		}
		lt := literal{start: i}
		if room := len(text) - i; room > 0 {
			lt.bytes = make([]byte, 0, room)
			lt.src = make([][2]int, 0, room)
		}
		prefix := text[:i]
		lt.address = strings.HasSuffix(prefix, "sun_path=") || strings.HasSuffix(prefix, "sun_path=@") ||
			strings.HasSuffix(prefix, "inet_addr(") || strings.HasSuffix(prefix, "inet_pton(AF_INET6, ")
		j := i + 1
		for j < len(text) && text[j] != '"' {
			k := j
			c, n := unescape(text[j:])
			j += n
			lt.bytes = append(lt.bytes, c)
			lt.src = append(lt.src, [2]int{k, j})
		}
		if j < len(text) {
			j++ // the closing quote
			lt.closed = true
		}
		lt.end = j
		lt.truncated = strings.HasPrefix(text[j:], "...")
		lits = append(lits, lt)
		i = j - 1
	}
	return lits
}

// unescape reads one byte's spelling at the start of s (not empty, not a
// closing quote): a plain byte, \n and friends, \xHH, or octal \N, \NN, \NNN.
func unescape(s string) (byte, int) {
	if s[0] != '\\' || len(s) == 1 {
		return s[0], 1
	}
	switch c := s[1]; c {
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'f':
		return '\f', 2
	case 'v':
		return '\v', 2
	case 'a':
		return '\a', 2
	case 'b':
		return '\b', 2
	case 'e':
		return 0x1b, 2
	case 'x':
		v, n := 0, 2
		for n < 4 && n < len(s) && hexVal(s[n]) >= 0 {
			v = v*16 + hexVal(s[n])
			n++
		}
		if n == 2 {
			return 'x', 2 // "\x" with no digits: the letter
		}
		return byte(v), n
	default:
		if c >= '0' && c <= '7' {
			v, n := 0, 1
			for n < 4 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
				v = v*8 + int(s[n]-'0')
				n++
			}
			return byte(v), n
		}
		return c, 2 // \" \\ and anything else: the byte itself
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// rebuild writes text again with each literal's secret bytes replaced by
// one [redacted] per run, and the text between the literals checked for
// secrets written plainly.
func rebuild(text string, lits []literal) string {
	var b strings.Builder
	last := 0
	for _, lt := range lits {
		b.WriteString(redactRaw(text[last:lt.start]))
		if lt.secret == nil {
			b.WriteString(text[lt.start:lt.end])
			last = lt.end
			continue
		}
		b.WriteByte('"')
		inSecret := false
		for i, sp := range lt.src {
			switch {
			case lt.secret[i] && !inSecret:
				b.WriteString(Redacted)
				inSecret = true
			case lt.secret[i]:
			default:
				inSecret = false
				b.WriteString(text[sp[0]:sp[1]])
			}
		}
		if lt.closed {
			b.WriteByte('"')
		}
		last = lt.end
	}
	b.WriteString(redactRaw(text[last:]))
	return b.String()
}
