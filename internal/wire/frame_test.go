package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The bytes shown in the package doc.
func TestAppendFrameBytes(t *testing.T) {
	got := AppendFrame([]byte("x"), []byte(`42["chat","hi"]`))
	want := "78" + strings.ReplaceAll("00 00 00 0f 34 32 5b 22 63 68 61 74 22 2c 22 68 69 22 5d", " ", "")
	if hex.EncodeToString(got) != want {
		t.Errorf("AppendFrame = %x, want %s", got, want)
	}
}

func TestBeginEndFrame(t *testing.T) {
	out := []byte("earlier")
	out, mark := BeginFrame(out)
	out, err := AppendEvent(out, 17, "chat", raw(`"hi"`))
	if err != nil {
		t.Fatal(err)
	}
	out = EndFrame(out, mark)
	want := AppendFrame([]byte("earlier"), []byte(`4217["chat","hi"]`))
	if !bytes.Equal(out, want) {
		t.Errorf("got %q, want %q", out, want)
	}

	// A failed encode between Begin and End must not leave an empty frame
	// (a zero length that the peer would reject).
	out2, mark := BeginFrame(out)
	out2, err = AppendEvent(out2, NoAck, "connect")
	if err == nil {
		t.Fatal("reserved name accepted")
	}
	if out2 = EndFrame(out2, mark); !bytes.Equal(out2, want) {
		t.Errorf("failed encode left %q behind", out2[len(want):])
	}
}

// frames builds a stream of framed packets.
func frames(texts ...string) []byte {
	var b []byte
	for _, s := range texts {
		b = AppendFrame(b, []byte(s))
	}
	return b
}

func TestSplitFrameManyInOneRead(t *testing.T) {
	buf := frames(`0{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":9}`, `40`, `42["chat","hi"]`, `2`)
	var got []string
	for len(buf) > 0 {
		text, n, err := SplitFrame(buf, 0)
		if err != nil || n == 0 {
			t.Fatalf("SplitFrame: n=%d err=%v with %d bytes left", n, err, len(buf))
		}
		got = append(got, string(text))
		buf = buf[n:]
	}
	want := fmt.Sprint([]string{`0{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":9}`, `40`, `42["chat","hi"]`, `2`})
	if fmt.Sprint(got) != want {
		t.Errorf("got %q", got)
	}
}

// Every prefix of a frame shorter than the whole is "not yet", never an
// error and never a short packet.
func TestSplitFramePartial(t *testing.T) {
	frame := frames(`42["chat","hi"]`)
	for i := 0; i < len(frame); i++ {
		text, n, err := SplitFrame(frame[:i], 0)
		if text != nil || n != 0 || err != nil {
			t.Errorf("with %d of %d bytes: text=%q n=%d err=%v", i, len(frame), text, n, err)
		}
	}
	text, n, err := SplitFrame(frame, 0)
	if string(text) != `42["chat","hi"]` || n != len(frame) || err != nil {
		t.Errorf("whole frame: text=%q n=%d err=%v", text, n, err)
	}
	if cap(text) != len(text) {
		t.Errorf("text capacity %d runs into the next frame", cap(text))
	}
}

func TestSplitFrameLimits(t *testing.T) {
	// Only the 4 prefix bytes have arrived: the verdict comes now, before
	// the body is read or any room is made for it.
	_, _, err := SplitFrame([]byte{0, 0, 0, 0}, 0)
	if !errors.Is(err, ErrEmptyFrame) || err.Error() != "empty frame" {
		t.Errorf("zero length: %v", err)
	}
	_, _, err = SplitFrame([]byte{0x00, 0x1e, 0x84, 0x80}, 0) // 2000000
	if !errors.Is(err, ErrFrameTooLarge) || err.Error() != "frame of 2000000 bytes exceeds maxPayload 1048576" {
		t.Errorf("too large: %v", err)
	}
	var tooLarge *FrameTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Size != 2000000 || tooLarge.Max != DefaultMaxPayload {
		t.Errorf("error does not carry the numbers: %#v", err)
	}
	_, _, err = SplitFrame([]byte{0xff, 0xff, 0xff, 0xff}, 0)
	if err == nil || err.Error() != "frame of 4294967295 bytes exceeds maxPayload 1048576" {
		t.Errorf("4 GiB: %v", err)
	}
	// Exactly max is allowed, one more is not.
	if _, n, err := SplitFrame(frames("12345"), 5); n != 9 || err != nil {
		t.Errorf("N == max: n=%d err=%v", n, err)
	}
	if _, _, err := SplitFrame(frames("123456"), 5); err == nil || err.Error() != "frame of 6 bytes exceeds maxPayload 5" {
		t.Errorf("N == max+1: %v", err)
	}
}

func TestDecoderByteByByte(t *testing.T) {
	texts := []string{`40`, `42["chat","hi"]`, `4317[]`, `3`}
	stream := frames(texts...)
	var d Decoder
	var got []string
	for i := range stream {
		d.Feed(stream[i : i+1])
		for {
			text, ok, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(text))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(texts) {
		t.Errorf("got %q, want %q", got, texts)
	}
	if d.Buffered() != 0 {
		t.Errorf("Buffered = %d after the last frame", d.Buffered())
	}
}

func TestDecoderAllAtOnceAndLeftover(t *testing.T) {
	stream := frames(`40`, `2`)
	stream = append(stream, 0, 0, 0, 9, '4') // the start of a third frame
	var d Decoder
	d.Feed(stream)
	for _, want := range []string{`40`, `2`} {
		text, ok, err := d.Next()
		if string(text) != want || !ok || err != nil {
			t.Fatalf("Next = %q %v %v, want %q", text, ok, err, want)
		}
	}
	if _, ok, err := d.Next(); ok || err != nil {
		t.Fatalf("partial frame: ok=%v err=%v", ok, err)
	}
	if d.Buffered() != 5 {
		t.Errorf("Buffered = %d, want 5", d.Buffered())
	}
	d.Feed([]byte(`2["a"]xy`))
	if text, ok, _ := d.Next(); !ok || string(text) != `42["a"]xy` {
		t.Errorf("after the rest arrived: %q %v", text, ok)
	}
}

func TestDecoderErrorSticks(t *testing.T) {
	d := Decoder{MaxPayload: 10}
	d.Feed(frames(`40`))
	d.Feed([]byte{0, 0, 0, 11})
	if text, ok, err := d.Next(); !ok || string(text) != "40" || err != nil {
		t.Fatalf("first frame: %q %v %v", text, ok, err)
	}
	_, _, err := d.Next()
	if err == nil || err.Error() != "frame of 11 bytes exceeds maxPayload 10" {
		t.Fatalf("oversized frame: %v", err)
	}
	d.Feed(frames(`41`)) // whatever comes later, the stream is already lost
	if _, ok, err2 := d.Next(); ok || err2 != err {
		t.Errorf("after an error Next = %v %v, want the same error again", ok, err2)
	}
}
