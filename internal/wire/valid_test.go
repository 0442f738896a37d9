package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

// validJSON must give encoding/json.Valid's answer for every input; these
// are the corners of the grammar, and FuzzValidJSON looks for the rest.
var validCases = []string{
	``, ` `, `[]`, `{}`, ` [ ] `, `[`, `]`, `[,]`, `[1,]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a":1,}`,
	`{a:1}`, `{"a":1 "b":2}`, `{"a" : 1 , "b" : [true,false,null]}`, `[{"a":[{"b":{}}]}]`,
	`""`, `"`, `"abc`, `"a\"b"`, `"a\\"`, `"a\\\"`, `"\/\b\f\n\r\t"`, `"\x"`, `"\u00e9"`, `"\u00E9"`,
	`"\u00g9"`, `"\u00e"`, `"\u"`, "\"tab\there\"", "\"nl\nhere\"", "\"\x7f\"", "\"\xff\xfe\"", `"😀"`,
	`0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.25e-10`, `1.0e`, `123abc`,
	`true`, `tru`, `truee`, `false`, `null`, `nul`, `True`, `[true ,false]`, `[null]x`, "\t[1]\r\n", `[1]]`,
	`["count","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// Every special byte at every position of strings up to 24 bytes long, so
// each lands at each place in an 8-byte word (validString reads 8 at a
// time) and at the end of the input.
func TestValidJSONStringsByteByByte(t *testing.T) {
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range specials {
				body := []byte(strings.Repeat("a", n))
				body[pos] = c
				for _, text := range []string{`"` + string(body) + `"`, `"` + string(body), `["` + string(body) + `"]`} {
					if got, want := validJSON([]byte(text)), json.Valid([]byte(text)); got != want {
						t.Fatalf("validJSON(%q) = %v, encoding/json says %v", text, got, want)
					}
				}
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 200 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// The event the benchmark's tput workload sends, checked both ways.
var countPayload = []byte(`["count","` + strings.Repeat("x", 64) + `"]`)

func BenchmarkValidJSON(b *testing.B) {
	b.SetBytes(int64(len(countPayload)))
	for b.Loop() {
		if !validJSON(countPayload) {
			b.Fatal("not valid")
		}
	}
}

func BenchmarkValidJSONStdlib(b *testing.B) {
	b.SetBytes(int64(len(countPayload)))
	for b.Loop() {
		if !json.Valid(countPayload) {
			b.Fatal("not valid")
		}
	}
}
