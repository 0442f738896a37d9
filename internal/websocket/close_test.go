package websocket

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseClose(t *testing.T) {
	for _, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999} {
		got, reason, err := ParseClose(AppendClosePayload(nil, code, "bye"))
		if err != nil || got != code || string(reason) != "bye" {
			t.Errorf("code %d: got %d %q %v", code, got, reason, err)
		}
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535} {
		_, _, err := ParseClose([]byte{byte(code >> 8), byte(code)})
		wantClose(t, err, 1002)
	}
	if code, _, err := ParseClose(nil); err != nil || code != CloseNoStatus {
		t.Errorf("empty close: %d %v", code, err)
	}
	_, _, err := ParseClose([]byte{0x03})
	wantClose(t, err, 1002)
	_, _, err = ParseClose([]byte{0x03, 0xe8, 0xff})
	wantClose(t, err, 1007)
}

func TestClosePayloadFits(t *testing.T) {
	reason := strings.Repeat("€", 60) // 180 bytes
	p := AppendClosePayload(nil, 1000, reason)
	if len(p) > MaxControlPayload || !utf8.Valid(p[2:]) {
		t.Fatalf("%d bytes, valid UTF-8 %v", len(p), utf8.Valid(p[2:]))
	}
	f, _, err := ParseFrame(AppendCloseFrame(nil, 1000, reason), false, 0)
	if err != nil || len(f.Payload) > MaxControlPayload {
		t.Fatalf("err=%v len=%d", err, len(f.Payload))
	}
	if p := AppendClosePayload(nil, CloseNoStatus, "x"); len(p) != 0 {
		t.Errorf("1005 must not travel: %x", p)
	}
}
