package websocket

// utf8Stream checks UTF-8 that arrives in pieces. A character may be cut
// between two fragments (the 3 bytes of "€" as 1 + 2), so the checker
// carries what it still expects from one piece to the next. This lets a
// server refuse bad text as soon as the bad byte arrives (RFC 6455 asks to
// "fail fast"), not only once the last fragment is in.
//
// The rules are those of unicode/utf8: no overlong forms (C0, C1, E0 80…),
// no surrogates (ED A0…), nothing past U+10FFFF (F4 90…, F5…).
type utf8Stream struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // the range the next byte must be in, while need > 0
}

// feed checks p, continuing from the previous pieces. It reports false at
// the first byte that cannot be part of valid UTF-8.
func (s *utf8Stream) feed(p []byte) bool {
	i := 0
	for i < len(p) {
		if s.need == 0 {
			// ASCII runs are the common case in socket.io's JSON; skip them
			// a byte at a time without touching the state.
			for i < len(p) && p[i] < 0x80 {
				i++
			}
			if i == len(p) {
				return true
			}
			c := p[i]
			i++
			switch {
			case c >= 0xC2 && c <= 0xDF:
				s.need, s.lo, s.hi = 1, 0x80, 0xBF
			case c == 0xE0:
				s.need, s.lo, s.hi = 2, 0xA0, 0xBF // no overlong 3-byte forms
			case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
				s.need, s.lo, s.hi = 2, 0x80, 0xBF
			case c == 0xED:
				s.need, s.lo, s.hi = 2, 0x80, 0x9F // no surrogates
			case c == 0xF0:
				s.need, s.lo, s.hi = 3, 0x90, 0xBF // no overlong 4-byte forms
			case c >= 0xF1 && c <= 0xF3:
				s.need, s.lo, s.hi = 3, 0x80, 0xBF
			case c == 0xF4:
				s.need, s.lo, s.hi = 3, 0x80, 0x8F // nothing past U+10FFFF
			default:
				return false
			}
			continue
		}
		c := p[i]
		i++
		if c < s.lo || c > s.hi {
			return false
		}
		s.need--
		s.lo, s.hi = 0x80, 0xBF // only the first continuation byte is special
	}
	return true
}

// complete reports whether the text so far ends on a character boundary.
func (s *utf8Stream) complete() bool { return s.need == 0 }
