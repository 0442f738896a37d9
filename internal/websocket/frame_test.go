package websocket

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
)

var rfcMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d} // RFC 6455 section 5.7

// RFC 6455 section 5.7's own examples, byte for byte.
func TestRFCExamples(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		isServer  bool
		fin       bool
		op        Opcode
		payload   string
	}{
		{"unmasked Hello", "810548656c6c6f", false, true, OpText, "Hello"},
		{"masked Hello", "818537fa213d7f9f4d5158", true, true, OpText, "Hello"},
		{"first fragment Hel", "010348656c", false, false, OpText, "Hel"},
		{"last fragment lo", "80026c6f", false, true, OpContinuation, "lo"},
		{"unmasked ping", "890548656c6c6f", false, true, OpPing, "Hello"},
		{"masked pong", "8a8537fa213d7f9f4d5158", true, true, OpPong, "Hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf, _ := hex.DecodeString(tc.hex)
			f, n, err := ParseFrame(buf, tc.isServer, 0)
			if err != nil || n != len(buf) || f.Fin != tc.fin || f.Opcode != tc.op || string(f.Payload) != tc.payload {
				t.Fatalf("n=%d err=%v frame=%+v", n, err, f)
			}
			var again []byte
			if tc.isServer {
				again = AppendMaskedFrame(nil, tc.fin, tc.op, rfcMaskKey, []byte(tc.payload))
			} else {
				again = AppendFrame(nil, tc.fin, tc.op, []byte(tc.payload))
			}
			if hex.EncodeToString(again) != tc.hex {
				t.Errorf("written back as %x", again)
			}
		})
	}
}

// The frame drawn in the package doc.
func TestDocFrame(t *testing.T) {
	got := AppendMaskedFrame(nil, true, OpText, rfcMaskKey, []byte(`42["chat","hi"]`))
	want := "818f37fa213d03c87a1f5492404915d603555ed87c"
	if hex.EncodeToString(got) != want {
		t.Errorf("got %x, want %s", got, want)
	}
	if got := AppendFrame(nil, true, OpText, []byte(`42["chat","hi"]`)); !bytes.HasPrefix(got, []byte{0x81, 0x0f, 0x34, 0x32, 0x5b, 0x22}) {
		t.Errorf("server frame %x", got)
	}
}

// The three length encodings, at their edges, both ways.
func TestLengths(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 70000} {
		payload := bytes.Repeat([]byte{'x'}, size)
		for _, masked := range []bool{false, true} {
			var buf []byte
			if masked {
				buf = AppendMaskedFrame(nil, true, OpBinary, rfcMaskKey, payload)
			} else {
				buf = AppendFrame(nil, true, OpBinary, payload)
			}
			header := len(buf) - size
			wantHeader := 2
			if size > 125 {
				wantHeader += 2
			}
			if size > 0xffff {
				wantHeader += 6
			}
			if masked {
				wantHeader += 4
			}
			if header != wantHeader {
				t.Errorf("size %d masked %v: header %d bytes, want %d (the shortest)", size, masked, header, wantHeader)
			}
			for i := range len(buf) {
				if _, n, err := ParseFrame(buf[:i], masked, 0); n != 0 || err != nil {
					t.Fatalf("size %d: prefix %d gave n=%d err=%v", size, i, n, err)
				}
			}
			f, n, err := ParseFrame(buf, masked, 0)
			if err != nil || n != len(buf) || !bytes.Equal(f.Payload, payload) {
				t.Fatalf("size %d masked %v: n=%d err=%v", size, masked, n, err)
			}
		}
	}
}

func wantClose(t *testing.T, err error, code uint16) {
	t.Helper()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason == "" || strings.Contains(ce.Reason, "\n") {
		t.Fatalf("err=%v, want a *CloseError with code %d and a one-line reason", err, code)
	}
}

// Each rule ParseFrame enforces, with the close code it answers.
func TestParseFrameRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hex      string
		isServer bool
		max      int
		code     uint16
	}{
		{"unmasked client frame", "810548656c6c6f", true, 0, 1002},
		{"masked server frame", "818537fa213d7f9f4d5158", false, 0, 1002},
		{"RSV1 (deflate not agreed)", "c18537fa213d7f9f4d5158", true, 0, 1002},
		{"RSV2", "a18537fa213d7f9f4d5158", true, 0, 1002},
		{"RSV3", "918537fa213d7f9f4d5158", true, 0, 1002},
		{"opcode 3", "838037fa213d", true, 0, 1002},
		{"opcode 7", "878037fa213d", true, 0, 1002},
		{"opcode 11", "8b8037fa213d", true, 0, 1002},
		{"opcode 15", "8f8037fa213d", true, 0, 1002},
		{"fragmented ping", "098037fa213d", true, 0, 1002},
		{"fragmented close", "088037fa213d", true, 0, 1002},
		{"ping of 126 bytes", "89fe007e", true, 0, 1002},
		{"close with 64-bit length", "88ff", true, 0, 1002},
		{"length high bit", "82ff8000000000000000", true, 0, 1002},
		{"64-bit length past the limit", "82ff7fffffffffffffff", true, 0, 1009},
		{"16-bit length past a small limit", "82fe0400", true, 1000, 1009},
		{"7-bit length past a tiny limit", "82fd", true, 100, 1009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf, _ := hex.DecodeString(tc.hex)
			orig := bytes.Clone(buf)
			_, n, err := ParseFrame(buf, tc.isServer, tc.max)
			wantClose(t, err, tc.code)
			if n != 0 || !bytes.Equal(buf, orig) {
				t.Errorf("n=%d, buffer changed: %v", n, !bytes.Equal(buf, orig))
			}
		})
	}
}

// A 10-byte header announcing 2^63-1 bytes is refused from those 10 bytes:
// what is allocated is the error and its reason, a few dozen bytes, not
// anything the size of the announced payload.
func TestHugeLengthAllocatesNothing(t *testing.T) {
	buf, _ := hex.DecodeString("82ff7fffffffffffffff")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if _, _, err := ParseFrame(buf, true, 0); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if perFrame := (after.TotalAlloc - before.TotalAlloc) / 100; perFrame > 1024 {
		t.Errorf("%d bytes allocated to refuse one huge frame, want well under 1 KiB", perFrame)
	}
}

func TestMaskRoundTrip(t *testing.T) {
	for size := range 40 {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i * 7)
		}
		orig := bytes.Clone(p)
		Mask(p, rfcMaskKey)
		for i := range p {
			if p[i] != orig[i]^rfcMaskKey[i%4] {
				t.Fatalf("size %d byte %d: %02x", size, i, p[i])
			}
		}
		Mask(p, rfcMaskKey)
		if !bytes.Equal(p, orig) {
			t.Fatalf("size %d: masking twice changed the bytes", size)
		}
	}
}

func TestDescribe(t *testing.T) {
	buf := AppendMaskedFrame(nil, true, OpText, rfcMaskKey, []byte(`42["chat","hi"]`))
	f, _, _ := ParseFrame(buf, true, 0)
	if got, want := Describe(f), `FIN text mask=37fa213d len=15 "42[\"chat\",\"hi\"]"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f, _, _ = ParseFrame(AppendFrame(nil, false, OpContinuation, []byte("a\nb\xff")), false, 0)
	if got, want := Describe(f), `--- continuation len=4 "a\nb\xff"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f, _, _ = ParseFrame(AppendCloseFrame(nil, 1000, "bye"), false, 0)
	if got, want := Describe(f), `FIN close len=5 1000 "bye"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f, _, _ = ParseFrame(AppendFrame(nil, true, OpPing, nil), false, 0)
	if got, want := Describe(f), `FIN ping len=0`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f, _, _ = ParseFrame(AppendFrame(nil, true, OpBinary, bytes.Repeat([]byte("é"), 150)), false, 0)
	if got := Describe(f); !strings.HasSuffix(got, `…(100 more bytes)`) || strings.Contains(got, "\n") {
		t.Errorf("long payload: %s", got)
	}
}
