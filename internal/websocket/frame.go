package websocket

import (
	"encoding/binary"
	"fmt"
)

// Opcode says what a frame carries.
type Opcode byte

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is close, ping or pong (the high bit of the
// 4-bit opcode is the "control" bit).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode-%d", byte(op))
}

func (op Opcode) known() bool {
	return op <= OpBinary || (op >= OpClose && op <= OpPong)
}

// MaxControlPayload is the most a ping, pong or close frame may carry: what
// fits in the 7-bit length, so a control frame is always read in one go.
const MaxControlPayload = 125

// MaxHeaderLen is the longest frame header: 2 bytes, 8 of length, 4 of mask.
const MaxHeaderLen = 14

// DefaultMaxPayload is the largest payload accepted unless told otherwise:
// 1 MiB, as for miniio's TCP frames.
const DefaultMaxPayload = 1 << 20

// Frame is one parsed frame. Payload is a slice of the buffer given to
// ParseFrame, already unmasked in place; use it (or copy it) before that
// buffer is reused.
type Frame struct {
	Fin     bool
	Opcode  Opcode
	Masked  bool
	MaskKey [4]byte // as it was on the wire, for the -wire view
	Payload []byte
}

// ParseFrame reads one frame from the front of buf. isServer says which
// side is reading: a server requires masked frames, a client unmasked ones.
//
//   - A whole frame is there: f is the frame and n how many bytes it took.
//     Its payload has been unmasked in buf, so do not parse the same bytes
//     twice.
//   - Not all of it has arrived yet: n is 0 and err nil; read more and call
//     again with the longer buffer. Nothing in buf was changed.
//   - The frame breaks the protocol: err is a *CloseError with the code to
//     close with. The stream cannot be trusted past this point.
//
// Every check that the first bytes allow is made on them, before the rest
// arrives: RSV bits, opcode, masking, the control-frame rules, and the
// length against maxPayload (1009), so an oversized frame is refused
// before its payload is read or any memory reserved. A maxPayload of 0 or
// less means DefaultMaxPayload. The hot path allocates nothing.
func ParseFrame(buf []byte, isServer bool, maxPayload int) (f Frame, n int, err error) {
	if len(buf) < 2 {
		return Frame{}, 0, nil
	}
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	b0, b1 := buf[0], buf[1]
	f.Fin = b0&0x80 != 0
	f.Opcode = Opcode(b0 & 0x0f)
	f.Masked = b1&0x80 != 0
	length := uint64(b1 & 0x7f)

	// No extension was negotiated, so no RSV bit has a meaning.
	if b0&0x70 != 0 {
		return Frame{}, 0, errRSV
	}
	if !f.Opcode.known() {
		return Frame{}, 0, protocolError("unknown opcode %d", byte(f.Opcode))
	}
	if f.Opcode.IsControl() {
		if !f.Fin {
			return Frame{}, 0, errFragmentedControl
		}
		if length > MaxControlPayload {
			return Frame{}, 0, errLongControl
		}
	}
	if isServer && !f.Masked {
		return Frame{}, 0, errUnmasked
	}
	if !isServer && f.Masked {
		return Frame{}, 0, errMasked
	}

	pos := 2
	switch length {
	case 126:
		if len(buf) < 4 {
			return Frame{}, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(buf[2:]))
		pos = 4
	case 127:
		if len(buf) < 10 {
			return Frame{}, 0, nil
		}
		length = binary.BigEndian.Uint64(buf[2:])
		if length>>63 != 0 {
			return Frame{}, 0, errLengthHighBit
		}
		pos = 10
	}
	// Judged from the header alone: nothing has been reserved for the
	// payload, and nothing will be.
	if length > uint64(maxPayload) {
		return Frame{}, 0, &CloseError{Code: CloseMessageTooBig,
			Reason: fmt.Sprintf("frame of %d bytes is over the limit of %d", length, maxPayload)}
	}
	if f.Masked {
		if len(buf) < pos+4 {
			return Frame{}, 0, nil
		}
		copy(f.MaskKey[:], buf[pos:pos+4])
		pos += 4
	}
	end := pos + int(length)
	if len(buf) < end {
		return Frame{}, 0, nil
	}
	f.Payload = buf[pos:end:end]
	if f.Masked {
		Mask(f.Payload, f.MaskKey)
	}
	return f, end, nil
}

// Mask XORs p with the 4-byte key, byte i with key[i%4]. Masking twice
// gives the original back, so the same function masks and unmasks.
func Mask(p []byte, key [4]byte) {
	// The plain version is the tail loop below, one byte at a time. Eight
	// bytes at a time (the key repeated twice fills a uint64) is about ten
	// times faster on 64 KiB: BenchmarkMask64K against
	// BenchmarkMask64KByteAtATime.
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := binary.LittleEndian.Uint64(p[i:])
		binary.LittleEndian.PutUint64(p[i:], v^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// AppendFrame writes an unmasked frame (a server's) at the end of dst. The
// length is written in the fewest bytes that hold it, as RFC 6455 asks.
func AppendFrame(dst []byte, fin bool, op Opcode, payload []byte) []byte {
	dst = appendHeader(dst, fin, op, false, len(payload))
	return append(dst, payload...)
}

// AppendMaskedFrame writes a masked frame (a client's) at the end of dst.
// key must be fresh random bytes for every frame (see NewMaskKey): a
// predictable key would give back what masking is for. payload itself is
// not changed.
func AppendMaskedFrame(dst []byte, fin bool, op Opcode, key [4]byte, payload []byte) []byte {
	dst = appendHeader(dst, fin, op, true, len(payload))
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	Mask(dst[start:], key)
	return dst
}

// AppendHeader writes only the header of an unmasked frame (a server's)
// whose payload is length bytes: for a caller that keeps room in front of
// the payload and writes the header there, instead of copying the payload.
func AppendHeader(dst []byte, fin bool, op Opcode, length int) []byte {
	return appendHeader(dst, fin, op, false, length)
}

func appendHeader(dst []byte, fin bool, op Opcode, masked bool, length int) []byte {
	b0 := byte(op & 0x0f)
	if fin {
		b0 |= 0x80
	}
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	switch {
	case length <= 125:
		return append(dst, b0, maskBit|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, maskBit|126)
		return binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, maskBit|127)
		return binary.BigEndian.AppendUint64(dst, uint64(length))
	}
}
