package websocket

import "testing"

// A typical socket.io chat event, as one text message.
var chatText = []byte(`42["chat",{"user":"ada","text":"hello, world","ts":1700000000}]`)

// Parsing a client's frame: the header, the mask, unmasking in place.
// The same bytes are masked again each round, so every round unmasks
// real masked bytes (the re-mask is part of the measured time).
func BenchmarkParseFrame(b *testing.B) {
	buf := AppendMaskedFrame(nil, true, OpText, rfcMaskKey, chatText)
	payloadAt := len(buf) - len(chatText)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		f, n, err := ParseFrame(buf, true, DefaultMaxPayload)
		if err != nil || n != len(buf) {
			b.Fatal(n, err)
		}
		Mask(buf[payloadAt:], f.MaskKey)
	}
}

// Parse plus Assembler: what a connection does per message.
func BenchmarkParseAndAssemble(b *testing.B) {
	buf := AppendMaskedFrame(nil, true, OpText, rfcMaskKey, chatText)
	payloadAt := len(buf) - len(chatText)
	var a Assembler
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		f, _, err := ParseFrame(buf, true, DefaultMaxPayload)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok, err := a.Push(f); !ok || err != nil {
			b.Fatal(err)
		}
		Mask(buf[payloadAt:], f.MaskKey)
	}
}

// A server's frame into a reused output buffer.
func BenchmarkAppendFrame(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	for b.Loop() {
		dst = AppendFrame(dst[:0], true, OpText, chatText)
	}
}

// A client's masked frame into a reused output buffer.
func BenchmarkAppendMaskedFrame(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(chatText)))
	for b.Loop() {
		dst = AppendMaskedFrame(dst[:0], true, OpText, rfcMaskKey, chatText)
	}
}

// Unmasking a 64 KiB payload: the 8-bytes-at-a-time loop.
func BenchmarkMask64K(b *testing.B) {
	p := make([]byte, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		Mask(p, rfcMaskKey)
	}
}

// The plain version Mask replaced: one byte at a time. Kept here as the
// measurement that justifies the trick.
func BenchmarkMask64KByteAtATime(b *testing.B) {
	p := make([]byte, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		for i := range p {
			p[i] ^= rfcMaskKey[i&3]
		}
	}
}
