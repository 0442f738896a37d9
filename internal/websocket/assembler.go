package websocket

import (
	"fmt"
	"unicode/utf8"
)

// Message is a whole message, or a control frame, as the application sees
// it. Payload points either into the buffer ParseFrame read (a message
// that came in one frame, the usual case: no copy) or into the Assembler's
// own buffer (a fragmented one); use it before the next Push or the next
// read.
type Message struct {
	Opcode  Opcode // OpText, OpBinary, OpClose, OpPing or OpPong
	Payload []byte
}

// Assembler turns frames into messages. It keeps the one message that may
// be open (its opcode, the fragments so far, the UTF-8 state of its text)
// and enforces the rules between frames:
//
//   - a continuation frame needs an open message (else 1002);
//   - a new text or binary frame may not start while one is open (1002);
//   - control frames may come between fragments and are handed back at
//     once, leaving the open message alone;
//   - the whole message is at most MaxMessage bytes (1009), checked before
//     a fragment is copied;
//   - text is UTF-8, checked fragment by fragment (1007);
//   - a close frame's payload is a valid code and a UTF-8 reason.
//
// The zero Assembler is ready, with DefaultMaxPayload as MaxMessage.
type Assembler struct {
	MaxMessage int

	op   Opcode // the open message's opcode; OpContinuation when none is open
	buf  []byte // its fragments so far
	text utf8Stream
}

// Push takes the next frame from ParseFrame. ok is true when msg is ready:
// a control frame, or the last fragment of a message. An error is a
// *CloseError; the connection is then closed with its code, and the
// Assembler is not used again (or Reset first).
func (a *Assembler) Push(f Frame) (msg Message, ok bool, err error) {
	if f.Opcode.IsControl() {
		if f.Opcode == OpClose {
			if _, _, err := ParseClose(f.Payload); err != nil {
				return Message{}, false, err
			}
		}
		return Message{Opcode: f.Opcode, Payload: f.Payload}, true, nil
	}
	max := a.MaxMessage
	if max <= 0 {
		max = DefaultMaxPayload
	}

	if f.Opcode == OpContinuation {
		if a.op == OpContinuation {
			return Message{}, false, errNoStart
		}
	} else {
		if a.op != OpContinuation {
			return Message{}, false, errNotContinued
		}
		if f.Fin {
			// The usual case: a whole message in one frame. No copy.
			if len(f.Payload) > max {
				return Message{}, false, tooBig(len(f.Payload), max)
			}
			if f.Opcode == OpText && !utf8.Valid(f.Payload) {
				return Message{}, false, errBadUTF8
			}
			return Message{Opcode: f.Opcode, Payload: f.Payload}, true, nil
		}
		a.op = f.Opcode
		a.buf = a.buf[:0]
		a.text = utf8Stream{}
	}

	if len(f.Payload) > max-len(a.buf) {
		size := len(a.buf) + len(f.Payload)
		a.Reset()
		return Message{}, false, tooBig(size, max)
	}
	if a.op == OpText && !a.text.feed(f.Payload) {
		a.Reset()
		return Message{}, false, errBadUTF8
	}
	a.buf = append(a.buf, f.Payload...)
	if !f.Fin {
		return Message{}, false, nil
	}
	if a.op == OpText && !a.text.complete() {
		a.Reset()
		return Message{}, false, &CloseError{CloseInvalidPayload, "text message ends inside a UTF-8 character"}
	}
	msg = Message{Opcode: a.op, Payload: a.buf}
	a.op = OpContinuation
	return msg, true, nil
}

// Open reports whether a fragmented message is waiting for its last frame.
func (a *Assembler) Open() bool { return a.op != OpContinuation }

// Reset forgets the open message. The buffer is kept for reuse unless it
// grew past 64 KiB, so one big message does not pin memory for the rest
// of a long connection.
func (a *Assembler) Reset() {
	a.op = OpContinuation
	a.text = utf8Stream{}
	if cap(a.buf) > 64<<10 {
		a.buf = nil
	} else {
		a.buf = a.buf[:0]
	}
}

func tooBig(size, max int) *CloseError {
	return &CloseError{Code: CloseMessageTooBig, Reason: fmt.Sprintf("message of %d bytes is over the limit of %d", size, max)}
}
