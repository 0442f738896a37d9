package tracestream

import (
	"strconv"
	"strings"
	"testing"

	"socklab/internal/sys"
)

const leak = `"token":"secret"`

// lineFields reads a line the way the tap does, roughly: a note, or a
// call with its first argument.
func lineFields(text string) sys.TapLine {
	l := sys.TapLine{Text: text, FD: -1}
	if strings.HasPrefix(strings.TrimLeft(text, " "), "#") {
		l.Note = true
		return l
	}
	if open := strings.IndexByte(text, '('); open > 0 {
		l.Call = text[:open]
		rest := text[open+1:]
		end := strings.IndexAny(rest, ",)")
		if end < 0 {
			end = len(rest)
		}
		if fd, err := strconv.Atoi(rest[:end]); err == nil {
			l.FD = fd
		}
	}
	return l
}

// checkNoLeak is the redactor's promise over the lines of one input: no
// line shows "token":"secret" in its text, in any quoted string's bytes,
// or in the bytes one descriptor carried over consecutive lines.
func checkNoLeak(t *testing.T, in []string) {
	t.Helper()
	r := NewRedactor()
	flows := map[streamKey]string{}
	for _, text := range in {
		l := lineFields(text)
		got := r.Line(l)
		if got.Call != l.Call || got.FD != l.FD || got.Note != l.Note {
			t.Fatalf("fields changed: %+v -> %+v", l, got)
		}
		if l.Note || l.Call == "" {
			if strings.Contains(got.Text, leak) {
				t.Fatalf("leak in %q -> %q", text, got.Text)
			}
			continue
		}
		out, isData := dataCalls[l.Call]
		k := streamKey{l.FD, out}
		for _, lt := range lexLiterals(got.Text) {
			if strings.Contains(string(lt.bytes), leak) {
				t.Fatalf("leak in a string of %q -> %q", text, got.Text)
			}
			if isData && l.FD >= 0 && !lt.address {
				flows[k] += string(lt.bytes)
				if strings.Contains(flows[k], leak) {
					t.Fatalf("leak across lines on fd %d: ... %q -> %q\nflow: %q", l.FD, text, got.Text, flows[k])
				}
				if len(flows[k]) > 64 {
					flows[k] = flows[k][len(flows[k])-64:]
				}
			}
		}
		if l.Call == "close" {
			delete(flows, streamKey{l.FD, false})
			delete(flows, streamKey{l.FD, true})
		}
	}
}

// FuzzRedactLines: any text, as lines; no panic and no leak.
func FuzzRedactLines(f *testing.F) {
	for _, s := range []string{
		`read(7, "40{\"token\":\"secret\"}", 4096) = 19`,
		`read(7, "40/chat,{\"token\":\"secret\"}", 4096) = 25`,
		`write(7, "40{\x22token\x22:\x22secret\x22}", 19) = 19`,
		`write(7, "40{\42token\42:\42secret\42}", 19) = 19`,
		"read(7, \"40{\\\"tok\", 7) = 7\nread(7, \"en\\\":\\\"secret\\\"}\", 12) = 12",
		"read(7, \"40{\\\"token\\\":\\\"sec\", 7) = 7\nread(8, \"x\", 1) = 1\nread(7, \"ret\\\"}\", 12) = 12",
		"read(7, \"GET /?token=secret HTTP/1.1\\r\\nCookie: a=secret\\r\\n\\r\\n\", 99) = 99",
		`# auth was {"token":"secret"}`,
		`writev(7, [{iov_base="\"token\":", iov_len=8}, {iov_base="\"secret\"", iov_len=8}], 2) = 16`,
		`x(1, "token":"secret")`,
		`read(7, "\"token\":\"sec"..., 4096) = 99` + "\n" + `read(7, "ret\"}", 5) = 5`,
		`read(7, "unterminated \"token\":\"secret`,
		`read(7, "\x", 1) = 1`,
		`read(7, "\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkNoLeak(t, strings.Split(in, "\n"))
	})
}

// FuzzRedactSplit: a payload cut in two reads at any place, spelled with
// \" or \x22 or \42, cut short or not.
func FuzzRedactSplit(f *testing.F) {
	f.Add(`40{"token":"secret"}`, uint8(13), uint8(0))
	f.Add(`40/admin,{"token":"secret","x":1}`, uint8(20), uint8(1))
	f.Add(`42["x",{"token" : "secret"}]`, uint8(8), uint8(2))
	f.Add(`4{"token":"secret"}`, uint8(5), uint8(3))
	f.Fuzz(func(t *testing.T, payload string, cut, style uint8) {
		c := int(cut)
		if c > len(payload) {
			c = len(payload)
		}
		spell := func(s string) string {
			q := strconv.Quote(s) // Go's spelling: \" \\ \n \x00…
			q = q[1 : len(q)-1]
			switch style % 4 {
			case 1:
				q = strings.ReplaceAll(q, `\"`, `\x22`)
			case 2:
				q = strings.ReplaceAll(q, `\"`, `\42`)
			case 3:
				if len(s) > 8 { // cut short by -s: the rest is unseen
					return strconv.Quote(s[:8]) + "..."
				}
			}
			return `"` + q + `"`
		}
		checkNoLeak(t, []string{
			"read(7, " + spell(payload[:c]) + ", 4096) = 1",
			"read(7, " + spell(payload[c:]) + ", 4096) = 1",
		})
	})
}
