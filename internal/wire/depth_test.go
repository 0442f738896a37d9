package wire

import (
	"strings"
	"testing"
)

// A hostile client can send `42["x",[[[[…` nested as deep as maxPayload
// allows: half a million levels in 1 MB. The checker follows nesting by
// calling itself, so without a limit every level is one more Go stack
// frame, all on the event loop's goroutine that serves every client. The
// limit (maxDepth, encoding/json's own) turns that into an ordinary
// "malformed JSON" parse error, and one level less is still accepted.
// Every place a client's JSON is read is tried: EVENT and ACK arguments,
// the CONNECT auth object, the CLOSE body.
func TestDeepNesting(t *testing.T) {
	arrays := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	objects := func(depth int) string { return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) }
	for _, tc := range []struct {
		name      string
		text      func(depth int) string
		deepLimit int // the deepest nesting accepted
	}{
		// The event's own array is one level, so its arguments may nest
		// one level less.
		{"EVENT arrays", func(d int) string { return `42["x",` + arrays(d) + `]` }, maxDepth - 1},
		{"EVENT objects", func(d int) string { return `42["x",` + objects(d) + `]` }, maxDepth - 1},
		{"ACK", func(d int) string { return `437[` + arrays(d) + `]` }, maxDepth - 1},
		{"CONNECT auth", func(d int) string { return `40` + objects(d) }, maxDepth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParsePacket([]byte(tc.text(tc.deepLimit))); err != nil {
				t.Errorf("nested %d deep: %v, want it accepted", tc.deepLimit, err)
			}
			for _, depth := range []int{tc.deepLimit + 1, 100_000, 500_000} {
				_, err := ParsePacket([]byte(tc.text(depth)))
				if err == nil || !strings.Contains(err.Error(), "malformed JSON") {
					t.Errorf("nested %d deep: %v, want a malformed JSON error", depth, err)
				}
			}
		})
	}
	// The CLOSE body is read for its reason only; deep nesting must not
	// crash it either (what it answers does not matter here).
	ParsePacket([]byte(`1{"reason":"x","more":` + arrays(500_000) + `}`))
}
