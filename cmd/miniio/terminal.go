package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// safe is the one way every string that came from a peer (a name, an
// event, its arguments, a CLOSE reason, a frame's text) is written to a
// terminal. A stranger's text must not drive our terminal:
//
//   - C0 controls and DEL (ESC starts a sequence that can move the cursor,
//     clear the screen or set the window title), and C1 controls
//     (U+0080–U+009F: U+009B is a one-character ESC [ to terminals that
//     take C1 codes);
//   - the bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E,
//     U+200F, U+061C): U+202E turns the rest of the line around, so that
//     "evil\u202Etxt.exe" shows as "evilexe.txt";
//
// each becomes \u followed by its four hex digits, which is also how JSON
// writes it, so a JSON line stays valid JSON. Bytes that are not UTF-8
// become \xNN. Everything else (accents, CJK, emoji) is left as it is.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune says whether r may change what a terminal shows beyond
// itself (utf8.RuneError stands for a byte that is not UTF-8).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == utf8.RuneError:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
