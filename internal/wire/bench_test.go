package wire

import (
	"encoding/json"
	"testing"
)

// A typical chat event: a name and one small object.
var chatArg = json.RawMessage(`{"user":"ada","text":"hello, world","ts":1700000000}`)
var chatText = []byte(`42["chat",{"user":"ada","text":"hello, world","ts":1700000000}]`)

func BenchmarkAppendEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	dst := make([]byte, 0, 256)
	for b.Loop() {
		var err error
		dst, err = AppendEvent(dst[:0], NoAck, "chat", chatArg)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The same, framed in place, the way the server fills an output buffer.
func BenchmarkAppendEventFrame(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 256)
	for b.Loop() {
		out, mark := BeginFrame(dst[:0])
		out, err := AppendEvent(out, 17, "chat", chatArg)
		if err != nil {
			b.Fatal(err)
		}
		dst = EndFrame(out, mark)
	}
}

// Parsing into one reused Packet, as a connection does.
func BenchmarkParseEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	var p Packet
	for b.Loop() {
		if err := p.Parse(chatText); err != nil {
			b.Fatal(err)
		}
	}
}

// Parsing into a fresh Packet each time.
func BenchmarkParsePacket(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	for b.Loop() {
		if _, err := ParsePacket(chatText); err != nil {
			b.Fatal(err)
		}
	}
}

// The road not taken: encoding/json splits the array into raw elements.
// It gives the same Args (the fuzz test uses it as the reference), but
// copies every element.
func BenchmarkParseEventStdlib(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	for b.Loop() {
		var elems []json.RawMessage
		if err := json.Unmarshal(chatText[2:], &elems); err != nil {
			b.Fatal(err)
		}
		var name string
		if err := json.Unmarshal(elems[0], &name); err != nil {
			b.Fatal(err)
		}
	}
}

// The naive road: decode everything into Go values.
func BenchmarkParseEventStdlibAny(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	for b.Loop() {
		var elems []any
		if err := json.Unmarshal(chatText[2:], &elems); err != nil {
			b.Fatal(err)
		}
	}
}

// Cutting 64 frames out of one read's worth of bytes.
func BenchmarkSplitFrame(b *testing.B) {
	var buf []byte
	for range 64 {
		buf = AppendFrame(buf, chatText)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rest := buf
		for len(rest) > 0 {
			_, n, err := SplitFrame(rest, DefaultMaxPayload)
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			rest = rest[n:]
		}
	}
}
