package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseFrame feeds ParseFrame arbitrary bytes, either side, with a
// small limit. Run it with
//
//	go test ./internal/websocket -run '^$' -fuzz FuzzParseFrame -fuzztime 60s
//
// The seeds are the files in testdata/fuzz/FuzzParseFrame (which plain
// `go test` also runs). What must hold for every input:
//   - no panic; a refusal is a *CloseError with code 1002 or 1009, n is 0
//     and the buffer is unchanged;
//   - "need more" only while the header or the payload is really cut short,
//     and every prefix of a frame that parses is "need more";
//   - a frame never takes more than the buffer or carries more than the
//     limit, control frames are whole and at most 125 bytes, and the mask
//     bit matches the side;
//   - written back with AppendFrame/AppendMaskedFrame it parses to the same
//     frame, and when the original used the shortest length (as every
//     sender must) the bytes are the same.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), true, uint16(0)) // RFC 6455 5.7: masked "Hello"
	f.Fuzz(func(t *testing.T, data []byte, isServer bool, limit uint16) {
		max := int(limit)
		effective := max
		if effective <= 0 {
			effective = DefaultMaxPayload
		}
		orig := bytes.Clone(data)
		fr, n, err := ParseFrame(data, isServer, max)
		if err != nil {
			var ce *CloseError
			if !errors.As(err, &ce) || (ce.Code != 1002 && ce.Code != 1009) || ce.Reason == "" || n != 0 {
				t.Fatalf("%x: n=%d err=%#v", orig, n, err)
			}
			if !bytes.Equal(data, orig) {
				t.Fatalf("%x: a refusal changed the buffer", orig)
			}
			return
		}
		if n == 0 {
			if !bytes.Equal(data, orig) {
				t.Fatalf("%x: need-more changed the buffer", orig)
			}
			if need := frameLen(orig); need > 0 && need <= len(orig) {
				t.Fatalf("%x: need-more with a whole frame of %d bytes", orig, need)
			}
			return
		}
		if n > len(orig) || len(fr.Payload) > effective || fr.Masked != isServer ||
			(fr.Opcode.IsControl() && (!fr.Fin || len(fr.Payload) > MaxControlPayload)) {
			t.Fatalf("%x: n=%d frame %+v", orig, n, fr)
		}
		for i := range n {
			if _, m, err := ParseFrame(bytes.Clone(orig[:i]), isServer, max); m != 0 || err != nil {
				t.Fatalf("%x: prefix %d gave n=%d err=%v", orig, i, m, err)
			}
		}
		var again []byte
		if fr.Masked {
			again = AppendMaskedFrame(nil, fr.Fin, fr.Opcode, fr.MaskKey, fr.Payload)
		} else {
			again = AppendFrame(nil, fr.Fin, fr.Opcode, fr.Payload)
		}
		if len(again) == n && !bytes.Equal(again, orig[:n]) {
			t.Fatalf("%x written back as %x", orig[:n], again)
		}
		fr2, n2, err := ParseFrame(again, isServer, max)
		if err != nil || n2 != len(again) || fr2.Fin != fr.Fin || fr2.Opcode != fr.Opcode || !bytes.Equal(fr2.Payload, fr.Payload) {
			t.Fatalf("%x written back as %x, which parses as %+v (%v)", orig[:n], again, fr2, err)
		}
		_ = Describe(fr)
	})
}

// frameLen is the whole frame's length from its header, the slow and
// obvious way; 0 when the header itself is not all there.
func frameLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	length, pos := uint64(b[1]&0x7f), 2
	switch length {
	case 126:
		if len(b) < 4 {
			return 0
		}
		length, pos = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0
		}
		length, pos = binary.BigEndian.Uint64(b[2:]), 10
	}
	if b[1]&0x80 != 0 {
		pos += 4
	}
	return pos + int(length)
}

// FuzzAssembler builds a stream of frames from the fuzzer's bytes (opcode,
// FIN, a short payload each) and feeds it to an Assembler and to a plain
// model written the obvious way. Both must agree, frame by frame, on every
// message and on the first error and its code; the model knows that
// invalid text is refused in the very fragment that makes it hopeless.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte("\x01\x03Hel\x84\x01p\x00\x01l\x80\x01o"), uint8(0)) // 0x84: ping (opcodes are picked from a list of six)
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		max := int(limit)
		a := Assembler{MaxMessage: max}
		if max <= 0 {
			max = DefaultMaxPayload
		}
		var m model
		m.max = max
		ops := [...]Opcode{OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong}
		for len(data) >= 2 {
			h, size := data[0], int(data[1]&0x1f)
			data = data[2:]
			if size > len(data) {
				size = len(data)
			}
			fr := Frame{Fin: h&0x80 != 0, Opcode: ops[int(h&0x7f)%len(ops)], Payload: data[:size:size]}
			data = data[size:]
			if fr.Opcode.IsControl() {
				fr.Fin = true // ParseFrame never lets a fragmented control frame through
			}

			msg, ok, err := a.Push(fr)
			wantMsg, wantOK, wantCode := m.push(fr)
			var code uint16
			if err != nil {
				var ce *CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("error %#v is not a *CloseError", err)
				}
				code = ce.Code
			}
			if code != wantCode || ok != wantOK || (ok && (msg.Opcode != wantMsg.Opcode || !bytes.Equal(msg.Payload, wantMsg.Payload))) {
				t.Fatalf("frame %s: Assembler %v %+v code %d, model %v %+v code %d", Describe(fr), ok, msg, code, wantOK, wantMsg, wantCode)
			}
			if err != nil {
				return
			}
		}
	})
}

// model is the Assembler's rules written the slow and obvious way.
type model struct {
	max  int
	open bool
	op   Opcode
	acc  []byte
}

func (m *model) push(f Frame) (Message, bool, uint16) {
	switch {
	case f.Opcode == OpClose:
		if len(f.Payload) == 1 {
			return Message{}, false, 1002
		}
		if len(f.Payload) >= 2 {
			code := binary.BigEndian.Uint16(f.Payload)
			registered := code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006
			if !registered && (code < 3000 || code > 4999) {
				return Message{}, false, 1002
			}
			if !utf8.Valid(f.Payload[2:]) {
				return Message{}, false, 1007
			}
		}
		return Message{f.Opcode, f.Payload}, true, 0
	case f.Opcode.IsControl():
		return Message{f.Opcode, f.Payload}, true, 0
	case f.Opcode == OpContinuation && !m.open:
		return Message{}, false, 1002
	case f.Opcode != OpContinuation && m.open:
		return Message{}, false, 1002
	}
	if f.Opcode != OpContinuation {
		m.open, m.op, m.acc = true, f.Opcode, nil
	}
	m.acc = append(m.acc, f.Payload...)
	if len(m.acc) > m.max {
		return Message{}, false, 1009
	}
	if m.op == OpText && !validPrefix(m.acc) {
		return Message{}, false, 1007
	}
	if !f.Fin {
		return Message{}, false, 0
	}
	if m.op == OpText && !utf8.Valid(m.acc) {
		return Message{}, false, 1007
	}
	m.open = false
	return Message{m.op, m.acc}, true, 0
}

// validPrefix reports whether b could still become valid UTF-8 with more
// bytes: every character is valid except, at the very end, the start of
// one that is not complete yet.
func validPrefix(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}
