package websocket

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func frame(fin bool, op Opcode, payload string) Frame {
	return Frame{Fin: fin, Opcode: op, Payload: []byte(payload)}
}

// push feeds frames and returns the messages as "op:payload" strings and
// the first error.
func push(a *Assembler, frames ...Frame) ([]string, error) {
	var got []string
	for _, f := range frames {
		msg, ok, err := a.Push(f)
		if err != nil {
			return got, err
		}
		if ok {
			got = append(got, msg.Opcode.String()+":"+string(msg.Payload))
		}
	}
	return got, nil
}

func TestAssemblerMessages(t *testing.T) {
	var a Assembler
	got, err := push(&a,
		frame(true, OpText, "whole"),
		frame(false, OpText, "Hel"),
		frame(true, OpPing, "p"), // a control frame between fragments
		frame(false, OpContinuation, "l"),
		frame(true, OpContinuation, "o"),
		frame(false, OpBinary, "\xff"),
		frame(true, OpContinuation, "\xfe"),
		frame(true, OpClose, "\x03\xe8bye"),
	)
	want := "text:whole ping:p text:Hello binary:\xff\xfe close:\x03\xe8bye"
	if err != nil || strings.Join(got, " ") != want {
		t.Fatalf("got %q err %v\nwant %q", strings.Join(got, " "), err, want)
	}
	if a.Open() {
		t.Error("a message is still open")
	}
}

// A message in one frame is handed back without a copy.
func TestAssemblerNoCopy(t *testing.T) {
	var a Assembler
	f := frame(true, OpText, "hi")
	msg, ok, err := a.Push(f)
	if err != nil || !ok || &msg.Payload[0] != &f.Payload[0] {
		t.Fatalf("ok=%v err=%v copied=%v", ok, err, err == nil && &msg.Payload[0] != &f.Payload[0])
	}
}

// Each rule Assembler enforces, with its close code.
func TestAssemblerRefusals(t *testing.T) {
	euro := "€" // e2 82 ac
	for _, tc := range []struct {
		name   string
		max    int
		frames []Frame
		code   uint16
	}{
		{"continuation without start", 0, []Frame{frame(true, OpContinuation, "x")}, 1002},
		{"continuation after a finished message", 0, []Frame{frame(true, OpText, "a"), frame(false, OpContinuation, "x")}, 1002},
		{"text while text is open", 0, []Frame{frame(false, OpText, "a"), frame(true, OpText, "b")}, 1002},
		{"binary while text is open", 0, []Frame{frame(false, OpText, "a"), frame(false, OpBinary, "b")}, 1002},
		{"invalid UTF-8", 0, []Frame{frame(true, OpText, "a\xffb")}, 1007},
		{"surrogate", 0, []Frame{frame(true, OpText, "\xed\xa0\x80")}, 1007},
		{"overlong slash", 0, []Frame{frame(true, OpText, "\xc0\xaf")}, 1007},
		{"invalid UTF-8 in a later fragment", 0, []Frame{frame(false, OpText, "ok"), frame(true, OpContinuation, "\x80")}, 1007},
		{"bad byte in the middle of a split character", 0, []Frame{frame(false, OpText, euro[:1]), frame(true, OpContinuation, "a"+euro[1:])}, 1007},
		{"text ends inside a character", 0, []Frame{frame(false, OpText, "a"), frame(true, OpContinuation, euro[:2])}, 1007},
		{"whole message too big", 4, []Frame{frame(true, OpBinary, "12345")}, 1009},
		{"fragments add up too big", 4, []Frame{frame(false, OpBinary, "123"), frame(true, OpContinuation, "45")}, 1009},
		{"close code 1005 sent", 0, []Frame{frame(true, OpClose, "\x03\xed")}, 1002},
		{"close code 999", 0, []Frame{frame(true, OpClose, "\x03\xe7")}, 1002},
		{"close with one byte", 0, []Frame{frame(true, OpClose, "\x03")}, 1002},
		{"close reason not UTF-8", 0, []Frame{frame(true, OpClose, "\x03\xe8\xc3")}, 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Assembler{MaxMessage: tc.max}
			_, err := push(&a, tc.frames...)
			wantClose(t, err, tc.code)
		})
	}
}

// Invalid UTF-8 is caught in the fragment where it appears, not only at
// the end ("fail fast").
func TestAssemblerFailsFast(t *testing.T) {
	var a Assembler
	if _, _, err := a.Push(frame(false, OpText, "ok")); err != nil {
		t.Fatal(err)
	}
	_, _, err := a.Push(frame(false, OpContinuation, "\xc3\x28"))
	wantClose(t, err, 1007)
}

// Every way of cutting valid and invalid text into two fragments gives the
// same verdict as unicode/utf8 on the whole text.
func TestUTF8StreamSplits(t *testing.T) {
	samples := []string{
		"héllo €uro 𝄞 日本", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf",
		"\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xc2\x80", "\xc1\xbf",
		"\xf5\x80\x80\x80", "\xff", "a\xe2\x82", "\xe2\x82\xac\xe2",
	}
	for _, s := range samples {
		for cut := 0; cut <= len(s); cut++ {
			var st utf8Stream
			ok := st.feed([]byte(s[:cut])) && st.feed([]byte(s[cut:])) && st.complete()
			if ok != utf8.ValidString(s) {
				t.Errorf("%q cut at %d: stream says %v, unicode/utf8 %v", s, cut, ok, !ok)
			}
		}
	}
}

func TestAssemblerReuse(t *testing.T) {
	var a Assembler
	for i := range 3 {
		got, err := push(&a, frame(false, OpText, "ab"), frame(true, OpContinuation, "cd"))
		if err != nil || len(got) != 1 || got[0] != "text:abcd" {
			t.Fatalf("round %d: %q %v", i, got, err)
		}
	}
	a.Push(frame(false, OpBinary, string(bytes.Repeat([]byte{1}, 100<<10))))
	a.Reset()
	if a.Open() || cap(a.buf) != 0 {
		t.Errorf("Reset kept a %d-byte buffer", cap(a.buf))
	}
}
