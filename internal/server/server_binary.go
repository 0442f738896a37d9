package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

// Binary attachments: BINARY_EVENT (`5`) and BINARY_ACK (`6`).
//
// socket.io sends bytes that JSON cannot hold as attachments: the packet
// text carries a numbered placeholder where each []byte was, and the
// bytes follow it, one binary message each (package wire, binary.go):
//
//	451-["file","a.png",{"_placeholder":true,"num":0}]   the header, text
//	<the bytes>                                           attachment 0, binary
//
// Coming in, the header starts a wire.Assembler on the connection, each
// binary message the transport hands up (upcalls.Attachment) is added to
// it, and when the last one is there the handlers run, as for an EVENT.
// While a packet waits: a text MESSAGE is a protocol error (socket.io
// sends the attachments right after their header), and the packet is
// dropped, with the connection, when
//   - an attachment makes the count or the total size pass the limits
//     (ServerOptions.MaxAttachments; MaxPayload for all of them together),
//   - the attachments do not all come within FrameTimeout,
//   - the server holds more than InputBudget bytes of attachments for all
//     connections together (this one is ended, holding the latest), or
//   - the connection ends for any other reason.
//
// Going out, an Emit or an ack with []byte arguments becomes a
// BINARY_EVENT or BINARY_ACK; its attachments are made into packets once
// and shared by every receiver, like the header.
//
// Only an envelope that can carry binary delivers them: WebSocket (binary
// messages) and long-polling (`b` + base64). miniio's TCP frame carries
// UTF-8 text only (lesson 10's frame stays the simple one; wire/doc.go),
// so on it the server refuses a binary packet coming in with a protocol
// error, and an emit going out with an error to the caller (or, for a
// broadcast, by leaving that receiver out).
//
// The Go API: handlers registered with On get a binary event's
// arguments as raw JSON, placeholders and all, so the plain JSON path is
// unchanged. Handlers registered with OnBinary get BinaryArgs, which also
// hand out the bytes; they run for plain events too (with no bytes), so
// one handler serves a client whether it sends bytes or not.

// binaryEnvelope is what the server asks of a connection to send binary
// attachments. Package transport's *Conn has these two methods
// (websocket_binary.go): Binary is true over WebSocket, false on TCP
// frames.
//
//   - Binary reports whether the connection's envelope carries binary
//     messages. It may be called from any goroutine (an Emit checks it
//     before it queues anything), so it must not change without
//     synchronisation; in practice it is fixed when the connection is
//     opened (an upgrade from long-polling to WebSocket keeps it true).
//   - SendBinary queues p's bytes (Packet.Text) as one binary message,
//     as Send queues a text one: kept, not copied, and the same *Packet
//     goes to every receiver of a broadcast. Loop goroutine only.
type binaryEnvelope interface {
	Binary() bool
	SendBinary(p *transport.Packet) error
}

// envelopeBinary is the connection itself when its envelope carries
// binary, else nil.
func envelopeBinary(c *transport.Conn) binaryEnvelope {
	if b, ok := any(c).(binaryEnvelope); ok && b.Binary() {
		return b
	}
	return nil
}

// ErrTextOnly is what an emit or an ack with []byte arguments returns
// for a socket whose connection carries text only (miniio's TCP frames).
var ErrTextOnly = errors.New("binary attachments need WebSocket or long-polling: this connection's envelope (TCP frames) carries text only")

// canCarryBinary says whether the socket's connection can be sent binary
// attachments. Any goroutine (see binaryEnvelope).
func (s *Socket) canCarryBinary() error {
	if s.srv.binaryOf(s.c) == nil {
		return ErrTextOnly
	}
	return nil
}

// BinaryArgs is an event's arguments for a handler registered with
// OnBinary (or the answer for EmitWithAckBinary's callback): the JSON,
// with a placeholder {"_placeholder":true,"num":N} wherever bytes were,
// and the bytes. For a plain event there are no bytes and Args is all.
// Args is valid only during the call, like On's; the bytes (Bytes,
// Attachments, Attachment) are copies and may be kept.
type BinaryArgs struct {
	Args []json.RawMessage
	bin  *wire.Binary // nil for a plain EVENT or ACK
}

// Bytes is argument i when the sender passed bytes there (emit("x", buf)
// makes argument 0 bytes); ok is false when it is JSON.
func (a BinaryArgs) Bytes(i int) (b []byte, ok bool) {
	if a.bin == nil || i < 0 || i >= len(a.bin.ArgBytes) || a.bin.ArgBytes[i] == nil {
		return nil, false
	}
	return a.bin.ArgBytes[i], true
}

// Attachments are all the attachments, in placeholder order; nil for a
// plain event.
func (a BinaryArgs) Attachments() [][]byte {
	if a.bin == nil {
		return nil
	}
	return a.bin.Attachments
}

// Attachment is the bytes a placeholder found anywhere inside the
// arguments stands for ({"file":buf} sends {"file":{"_placeholder":…}}):
// pass the raw JSON value that is the placeholder.
func (a BinaryArgs) Attachment(value json.RawMessage) ([]byte, bool) {
	if a.bin == nil {
		return nil, false
	}
	return a.bin.Attachment(value)
}

// Values are the arguments ready to be sent on: []byte where an argument
// is bytes, json.RawMessage (copied) for the others, so that
// s.Emit("echo", a.Values()...) sends the sender's arguments back, bytes
// and all. A placeholder deeper inside an argument stays as it is, which
// the receiver would refuse: take those apart with Attachment.
func (a BinaryArgs) Values() []any {
	out := make([]any, len(a.Args))
	for i, arg := range a.Args {
		if b, ok := a.Bytes(i); ok {
			out[i] = b
		} else {
			out[i] = append(json.RawMessage(nil), arg...)
		}
	}
	return out
}

type binaryHandler struct {
	event string
	fn    func(args BinaryArgs, ack func(args ...any) error)
}

// OnBinary registers fn for the event, like On, for a program that takes
// bytes: fn gets BinaryArgs, which hand out the attachments of a
// BINARY_EVENT. It runs for the event's plain EVENTs too, after the On
// handlers. Loop goroutine only, as On.
func (s *Socket) OnBinary(event string, fn func(args BinaryArgs, ack func(args ...any) error)) {
	r := s.rarePart()
	r.binHandlers = append(r.binHandlers, binaryHandler{event, fn})
}

// EmitWithAckBinary is EmitWithAck for an answer that may hold bytes (a
// BINARY_ACK): cb gets them in BinaryArgs.
func (s *Socket) EmitWithAckBinary(event string, timeout time.Duration, cb func(answer BinaryArgs, err error), args ...any) error {
	return s.emitWithAck(event, timeout, nil, cb, args)
}

// hasBytes reports whether any argument holds a []byte, at the top or
// inside []any and map[string]any (the values wire.AppendEventValues
// walks). It allocates nothing: it runs on every emit.
func hasBytes(args []any) bool {
	for _, a := range args {
		if valueHasBytes(a, 0) {
			return true
		}
	}
	return false
}

func valueHasBytes(v any, depth int) bool {
	if depth > 32 {
		return false // AppendEventValues will refuse it, or find no bytes that deep
	}
	switch v := v.(type) {
	case json.RawMessage:
		return false
	case []byte:
		return true
	case []any:
		for _, e := range v {
			if valueHasBytes(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if valueHasBytes(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// binaryValues prepares Go arguments for wire.AppendEventValues, which
// takes JSON's own kinds and []byte: any other value (a struct, a
// map[string]int) is written as JSON first, the way Emit writes it when
// there are no bytes.
func binaryValues(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case nil, bool, int, string, json.RawMessage, []byte, []any, map[string]any:
			out[i] = a
		default:
			if b, err := wire.AppendArg(nil, a); err == nil {
				out[i] = json.RawMessage(b)
			} else {
				out[i] = a // AppendEventValues says what is wrong with it
			}
		}
	}
	return out
}

// encodePacket encodes an event or an ack: with text when the arguments
// are JSON only (the common case, and the one with nothing extra to do),
// with binary when they hold bytes: the header packet and one packet per
// attachment. Both are checked against maxPayload, the attachments
// together, as the receiver counts them.
func (srv *Server) encodePacket(text func([]byte) ([]byte, error), binary func([]byte) ([]byte, [][]byte, error), args []any) (*transport.Packet, []*transport.Packet, error) {
	if !hasBytes(args) {
		pkt, err := transport.EncodePacket(text)
		if err == nil {
			err = srv.checkSize(pkt)
		}
		return pkt, nil, err
	}
	var attachments [][]byte
	pkt, err := transport.EncodePacket(func(dst []byte) ([]byte, error) {
		var err error
		dst, attachments, err = binary(dst)
		return dst, err
	})
	if err == nil {
		err = srv.checkSize(pkt)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(attachments) > srv.opts.MaxAttachments {
		return nil, nil, fmt.Errorf("%d binary attachments, more than the %d a packet may carry", len(attachments), srv.opts.MaxAttachments)
	}
	atts := make([]*transport.Packet, len(attachments))
	total := 0
	for i, a := range attachments {
		total += len(a)
		atts[i] = transport.NewPacket(a)
	}
	if total > srv.opts.MaxPayload {
		return nil, nil, fmt.Errorf("binary attachments of %d bytes exceed maxPayload %d", total, srv.opts.MaxPayload)
	}
	return pkt, atts, nil
}

// encodeEvent encodes one EVENT (or BINARY_EVENT) in the namespace
// written as nsp.
func (srv *Server) encodeEvent(nsp string, ackID int, event string, args []any) (*transport.Packet, []*transport.Packet, error) {
	return srv.encodePacket(func(dst []byte) ([]byte, error) {
		return wire.AppendEventArgsTo(dst, nsp, ackID, event, args...)
	}, func(dst []byte) ([]byte, [][]byte, error) {
		return wire.AppendEventValues(dst, nsp, ackID, event, binaryValues(args)...)
	}, args)
}

// sendAll queues a packet and its attachments, if it has any. A socket
// whose connection carries text only is skipped for a binary packet: the
// header without its attachments would leave the client waiting for them.
// Loop goroutine only.
func (s *Socket) sendAll(pkt *transport.Packet, atts []*transport.Packet) {
	if atts == nil {
		s.send(pkt)
		return
	}
	if s.state >= stateClosing {
		return
	}
	sess := s.session()
	env := s.srv.binaryOf(sess.c)
	if env == nil {
		return
	}
	sess.send(pkt)
	for _, a := range atts {
		if sess.state >= stateClosing {
			return
		}
		if max := s.srv.opts.MaxOutput; max > 0 {
			if queued := sess.c.OutputLen(); queued > 0 && queued+a.Len() > max {
				sess.closeWith(fmt.Sprintf("%s: more than %d bytes waiting to be sent", wire.ReasonSlowConsumer, max))
				return
			}
		}
		if s.srv.opts.OnPacket != nil {
			s.srv.opts.OnPacket(sess, true, a.Text())
		}
		if err := env.SendBinary(a); err != nil {
			sess.state = stateClosing
			sess.c.Abort()
			sess.finish(wire.ReasonTransportError + ": " + err.Error())
			return
		}
	}
}

// assembly is a connection's binary packet in the making.
type assembly struct {
	wire.Assembler
	timer stopper
	held  int // bytes of attachments kept so far (in Server.binaryHeld)
}

// waiting is how many attachments the session's binary packet still
// needs; 0 when there is none.
func (s *Socket) waiting() int {
	if s.rare == nil || s.rare.asm == nil {
		return 0
	}
	return s.rare.asm.Waiting()
}

// startBinary begins a BINARY_EVENT or BINARY_ACK whose socket is
// connected (message checked it). s is the session.
func (s *Socket) startBinary(p *wire.Packet) {
	srv := s.srv
	if srv.binaryOf(s.c) == nil {
		s.closeWith(wire.ReasonProtocolError + ": " + p.Socket.String() + ": " + ErrTextOnly.Error())
		return
	}
	r := s.rarePart()
	if r.asm == nil {
		r.asm = &assembly{Assembler: wire.Assembler{MaxAttachments: srv.opts.MaxAttachments, MaxPayload: srv.opts.MaxPayload}}
	}
	a := r.asm
	if err := a.Start(*p); err != nil {
		s.closeWith(wire.ReasonParseError + ": " + err.Error())
		return
	}
	timeout, want := srv.opts.FrameTimeout, p.Attachments
	a.timer = srv.after(timeout, func() {
		a.timer = nil
		if n := a.Waiting(); n > 0 {
			s.closeWith(fmt.Sprintf("%s: %d of a binary packet's %d attachments came within %v", wire.ReasonFrameTimeout, want-n, want, timeout))
		}
	})
}

// attachment is one binary message for the session s.
func (s *Socket) attachment(data []byte) {
	srv := s.srv
	if s.state >= stateClosing {
		return
	}
	if srv.opts.OnPacket != nil {
		srv.opts.OnPacket(s, false, data)
	}
	if s.waiting() == 0 {
		s.closeWith(wire.ReasonProtocolError + ": a binary message came with no binary packet waiting for it")
		return
	}
	a := s.rare.asm
	b, done, err := a.Add(data)
	if err != nil {
		reason := wire.ReasonParseError
		if a.held+len(data) > srv.opts.MaxPayload {
			reason = wire.ReasonTooLarge
		}
		s.closeWith(reason + ": " + err.Error())
		return
	}
	if !done {
		a.held += len(data)
		srv.binaryHeld += len(data)
		if srv.binaryHeld > srv.opts.InputBudget {
			s.closeWith(fmt.Sprintf("%s: the server holds %d bytes of binary attachments waiting for the rest of their packet, over its budget of %d",
				wire.ReasonInputBudget, srv.binaryHeld, srv.opts.InputBudget))
		}
		return
	}
	s.dropBinary() // the Assembler is empty again; let go of the count and the timer
	p := &b.Packet
	target := s
	if p.Namespace != "" {
		target = s.child(p.Namespace)
	}
	if target == nil || target.state != stateConnected {
		return // its socket left while the attachments came: nobody to tell
	}
	if p.Socket == wire.BinaryEvent {
		target.event(p.Event, p.Args, p.HasAck, p.AckID, &b)
	} else {
		target.answered(p.AckID, p.Args, &b)
	}
}

// dropBinary lets go of a half-assembled packet, if any.
func (s *Socket) dropBinary() {
	if s.rare == nil || s.rare.asm == nil {
		return
	}
	a := s.rare.asm
	a.Reset()
	stop(&a.timer)
	s.srv.binaryHeld -= a.held
	a.held = 0
}
