package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderLen is the size of the length prefix in front of every packet.
const HeaderLen = 4

// DefaultMaxPayload is the largest packet text a peer accepts unless the
// server's OPEN packet says otherwise: 1 MiB.
const DefaultMaxPayload = 1 << 20

// ErrEmptyFrame is returned for a frame whose length prefix is 0. No packet
// is empty (even PING is one byte), so a zero length means the peer is not
// speaking miniio, or the two sides lost track of where frames start.
var ErrEmptyFrame = errors.New("empty frame")

// ErrFrameTooLarge matches (with errors.Is) every *FrameTooLargeError.
var ErrFrameTooLarge = errors.New("frame exceeds maxPayload")

// FrameTooLargeError is returned when a length prefix announces more bytes
// than the receiver accepts. It is found from the 4-byte prefix alone, before
// any of those bytes arrive, so nothing was allocated for them.
type FrameTooLargeError struct {
	Size uint32 // what the prefix announced
	Max  int    // the receiver's maxPayload
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("frame of %d bytes exceeds maxPayload %d", e.Size, e.Max)
}

// Is lets errors.Is(err, ErrFrameTooLarge) match whatever the numbers.
func (e *FrameTooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }

// AppendFrame appends the length prefix and then the packet text to dst.
// The text must not be empty and should fit the peer's maxPayload; the
// receiver checks both and closes the connection otherwise.
func AppendFrame(dst, packetText []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(packetText)))
	return append(dst, packetText...)
}

// BeginFrame appends a placeholder length prefix and returns where it is.
// Append the packet text after it, then call EndFrame to fill the length in.
// This writes a frame straight into an output buffer, with no scratch copy:
//
//	out, mark := wire.BeginFrame(out)
//	out, err = wire.AppendEvent(out, wire.NoAck, "chat", arg)
//	out = wire.EndFrame(out, mark)
func BeginFrame(dst []byte) (buf []byte, mark int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

// EndFrame writes the length of everything appended since BeginFrame into
// the prefix at mark. If nothing was appended (an Append call failed), the
// placeholder is taken back off, so a failed encode leaves no empty frame.
func EndFrame(buf []byte, mark int) []byte {
	n := len(buf) - mark - HeaderLen
	if n == 0 {
		return buf[:mark]
	}
	binary.BigEndian.PutUint32(buf[mark:], uint32(n))
	return buf
}

// SplitFrame looks for one whole frame at the front of buf.
//
//   - A whole frame is there: text is its packet text (a slice of buf, not a
//     copy) and consumed is how many bytes of buf the frame took.
//   - Not all of it has arrived yet: consumed is 0 and err is nil. Read more
//     and call again with the longer buffer.
//   - The prefix is 0 or above max: err is ErrEmptyFrame or a
//     *FrameTooLargeError. The stream cannot be trusted past this point.
//
// The length is checked as soon as the 4 prefix bytes are in, so an
// oversized frame is refused before its body is read or stored. A max of 0
// or less means DefaultMaxPayload.
func SplitFrame(buf []byte, max int) (text []byte, consumed int, err error) {
	if len(buf) < HeaderLen {
		return nil, 0, nil
	}
	if max <= 0 {
		max = DefaultMaxPayload
	}
	n := binary.BigEndian.Uint32(buf)
	if n == 0 {
		return nil, 0, ErrEmptyFrame
	}
	if uint64(n) > uint64(max) {
		return nil, 0, &FrameTooLargeError{Size: n, Max: max}
	}
	end := HeaderLen + int(n)
	if len(buf) < end {
		return nil, 0, nil
	}
	return buf[HeaderLen:end:end], end, nil
}

// Decoder collects bytes from a stream and hands back whole packets. It is
// for programs that read with blocking calls (the miniio client); the event
// loop keeps its own per-connection buffer and calls SplitFrame on it.
//
//	var dec wire.Decoder
//	for {
//		n, err := sys.Read(fd, readBuf)
//		…
//		dec.Feed(readBuf[:n])
//		for {
//			text, ok, err := dec.Next()
//			if err != nil { … close: the stream is broken }
//			if !ok { break } // need more bytes
//			… ParsePacket(text)
//		}
//	}
//
// The zero Decoder is ready to use, with DefaultMaxPayload.
type Decoder struct {
	// MaxPayload is the largest packet text accepted; 0 means
	// DefaultMaxPayload. A client sets it from the server's OPEN packet.
	MaxPayload int

	buf []byte // bytes fed so far
	off int    // where the next frame starts in buf
	err error  // once the stream is broken it stays broken
}

// Feed adds bytes read from the stream. Text returned by Next before this
// call may be overwritten: use (or copy) each packet before feeding more.
func (d *Decoder) Feed(p []byte) {
	if d.off > 0 {
		// Slide the unfinished frame to the front so the buffer does not grow
		// forever; at most one partial frame is ever moved.
		n := copy(d.buf, d.buf[d.off:])
		d.buf = d.buf[:n]
		d.off = 0
	}
	d.buf = append(d.buf, p...)
}

// Next returns the next whole packet's text. ok is false when more bytes are
// needed. After an error every later call returns the same error: the frame
// boundaries are lost, and the only safe thing left is to close.
func (d *Decoder) Next() (text []byte, ok bool, err error) {
	if d.err != nil {
		return nil, false, d.err
	}
	text, n, err := SplitFrame(d.buf[d.off:], d.MaxPayload)
	if err != nil {
		d.err = err
		return nil, false, err
	}
	if n == 0 {
		return nil, false, nil
	}
	d.off += n
	return text, true, nil
}

// Buffered is how many bytes were fed but are not yet part of a returned
// packet: a partial frame waiting for the rest of its bytes.
func (d *Decoder) Buffered() int { return len(d.buf) - d.off }
