package transport

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"socklab/internal/httpwire"
	"socklab/internal/sys"
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// The WebSocket envelope: how socket.io's own clients reach the server.
//
//	accept → read the HTTP request head (≤ 8 KiB, within HeadTimeout)
//	       → GET /socket.io/?EIO=4&transport=websocket, checked
//	       → 101 Switching Protocols → Opened: the server sends OPEN
//	bytes  → frames (websocket.ParseFrame: masked, length checked from
//	         the header alone) → messages (websocket.Assembler) → Packet,
//	         one packet per text message; Attachment, one per binary
//	         message (websocket_binary.go)
//	out    → one text frame per packet, one binary frame per attachment
//	         (SendBinary); the CLOSE packet becomes a close frame
//	         carrying the reason
//
// Everything a request or a frame holds counts against the same input
// budget as the TCP frames, and a frame (or a request head) that stops
// half-way is cut off after FrameTimeout (HeadTimeout).

// DefaultHeadTimeout is how long a client may take to send its request
// head: a slowloris client that sends a byte now and then holds the
// server's memory only this long.
const DefaultHeadTimeout = 10 * time.Second

// maxHead bounds a request head, request line and headers: socket.io's
// handshake is about 300 bytes.
const maxHead = httpwire.DefaultMaxHead

// wsState is a WebSocket connection's envelope state.
type wsState struct {
	head      []byte // the request head so far, until the 101
	upgraded  bool   // the 101 was sent: bytes are frames now
	headTimer Stopper
	asm       websocket.Assembler
	pending   []byte // a frame not all here yet, in a buffer of its full size once its header is in
	timer     Stopper
	closeCode uint16 // the close code to send with the next CLOSE packet (0: by its reason)
	closeSent bool
	endReason string // why the peer ended it (its close frame), for Hangup
}

// openWebSocket starts a connection accepted on the HTTP port: it waits
// for a request head. The layer above hears of it only after the 101.
func (t *Transport) openWebSocket(c *Conn) {
	c.ws = &wsState{}
	c.ws.asm.MaxMessage = t.opts.MaxPayload
	timeout := t.opts.HeadTimeout
	c.ws.headTimer = t.loop.AfterFunc(timeout, func() {
		c.ws.headTimer = nil
		if !c.closing && !c.ws.upgraded {
			// 408 Request Timeout, then close: once the answer is
			// written, or after CloseTimeout if the client does not
			// read it either.
			reason := fmt.Sprintf("no whole request head within %v", timeout)
			t.refuseHTTP(c, httpwire.AppendError(nil, 408, reason), 408, reason)
		}
	})
}

// wsData handles bytes from a WebSocket connection, whichever phase it is
// in.
func (t *Transport) wsData(c *Conn, in []byte) {
	ws := c.ws
	if !ws.upgraded {
		in = t.wsHead(c, in)
		if in == nil || c.closing {
			return
		}
	}
	t.wsFrames(c, in)
}

// wsHead collects the request head and answers it. It returns the bytes
// after the head (a client may send its first frame right behind the
// request), or nil while the head is not all here or when it was refused.
func (t *Transport) wsHead(c *Conn, in []byte) []byte {
	ws := c.ws
	buf := in
	if len(ws.head) > 0 {
		ws.head = append(ws.head, in...)
		buf = ws.head
	}
	req, n, err := httpwire.ParseRequestHead(buf, httpwire.Limits{MaxHead: maxHead, MaxBody: t.opts.MaxPayload})
	if err != nil {
		herr, ok := err.(*httpwire.Error)
		if !ok {
			herr = &httpwire.Error{Status: 400, Reason: err.Error()}
		}
		t.refuseHTTP(c, herr.Append(nil), herr.Status, herr.Reason)
		return nil
	}
	if n == 0 {
		if len(ws.head) == 0 {
			ws.head = append(make([]byte, 0, min(maxHead+1, 2*len(in)+512)), in...)
		}
		t.hold(c, cap(ws.head)+c.waitingCap())
		return nil
	}
	rest := buf[n:]
	if t.opts.OnHTTP != nil {
		t.opts.OnHTTP(c, false, buf[:n])
	}
	if t.route(c, &req, rest) { // long-polling, upgrades, pages (polling.go)
		return nil
	}
	key, answer, status, reason := t.checkHandshake(&req)
	if answer != nil {
		t.refuseHTTP(c, answer, status, reason)
		return nil
	}
	accept := websocket.AppendAccept(nil, key, nil)
	if t.opts.OnHTTP != nil {
		t.opts.OnHTTP(c, true, accept)
	}
	c.link.Write(accept)
	ws.upgraded = true
	stop(&ws.headTimer)
	if len(rest) > 0 {
		rest = append([]byte(nil), rest...) // ws.head is let go next
	}
	ws.head = nil
	t.hold(c, c.waitingCap())
	c.opened = true
	t.h.Opened(c)
	if len(rest) == 0 {
		return nil
	}
	return rest
}

// checkHandshake decides whether the request opens an Engine.IO session
// on a WebSocket. A refusal comes back as the whole HTTP answer.
func (t *Transport) checkHandshake(req *httpwire.Request) (key string, answer []byte, status int, reason string) {
	if req.Path() != "/socket.io/" && !t.isEcho(req.Path()) {
		msg := "nothing here but /socket.io/"
		return "", httpwire.AppendError(nil, 404, msg), 404, msg
	}
	q, err := httpwire.ParseQuery(req.RawQuery())
	if err != nil {
		return "", engineError(3, "Bad request"), 400, err.Error()
	}
	// Engine.IO's own checks, in its order, with its codes.
	if tr, _ := q.Get("transport"); tr != "websocket" || q.Count("transport") != 1 {
		// (long-polling, and an upgrade with a sid, are route's: polling.go)
		why := "transport " + strconv.Quote(tr) + ": only polling and websocket are served"
		return "", engineError(0, "Transport unknown"), 400, why
	}
	if _, ok := q.Get("sid"); ok {
		return "", engineError(1, "Session ID unknown"), 400, "an upgrade of a long-polling session"
	}
	if v, _ := q.Get("EIO"); v != "4" {
		return "", engineError(5, "Unsupported protocol version"), 400, "EIO " + strconv.Quote(v)
	}
	if req.Method != "GET" {
		return "", engineError(2, "Bad handshake method"), 400, req.Method
	}
	key, herr := websocket.CheckRequest(req)
	if herr != nil {
		return "", herr.Append(nil), herr.Status, herr.Reason
	}
	return key, nil, 0, ""
}

// engineError is Engine.IO's answer to a request it refuses: 400 with
// {"code":N,"message":"…"}, the body socket.io's server sends.
func engineError(code int, message string) []byte {
	body := fmt.Appendf(nil, `{"code":%d,"message":%q}`, code, message)
	return httpwire.AppendResponse(nil, 400, []httpwire.Header{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Connection", Value: "close"},
	}, body)
}

// refuseHTTP answers a request that does not open a session, and closes.
func (t *Transport) refuseHTTP(c *Conn, answer []byte, status int, reason string) {
	if t.opts.OnHTTP != nil {
		t.opts.OnHTTP(c, true, answer)
	}
	t.note(c, "HTTP %d: %s", status, reason)
	if t.opts.OnRefuse != nil {
		t.opts.OnRefuse(c, status, reason)
	}
	c.ws.head = nil
	stop(&c.ws.headTimer)
	c.closing = true
	t.release(c)
	c.link.Write(answer)
	c.link.Close()
}

// wsFrames cuts frames off the input and hands each text message to the
// layer above, within the connection's turn budget.
func (t *Transport) wsFrames(c *Conn, in []byte) {
	ws := c.ws
	start := t.loop.Now()
	packets := 0
	for len(in) > 0 && !c.closing {
		if packets >= TurnPackets || (packets > 0 && t.loop.Now()-start >= t.opts.TurnTime) {
			t.wait(c, in)
			return
		}
		buf := in
		if len(ws.pending) > 0 {
			// Complete the frame that is on its way: up to its size once
			// its header is in, else up to the longest header (14 bytes;
			// what comes after the frame is given back below).
			want := frameSize(ws.pending)
			if want == 0 {
				want = 14
			}
			k := max(0, min(want-len(ws.pending), len(in)))
			ws.pending = append(ws.pending, in[:k]...)
			in = in[k:]
			buf = ws.pending
		}
		f, n, err := websocket.ParseFrame(buf, true, t.opts.MaxPayload)
		if err != nil {
			t.wsRefuse(c, err)
			return
		}
		if n == 0 {
			if len(ws.pending) == 0 {
				t.wsBegin(c, in)
				return
			}
			t.wsSize(c)
			continue
		}
		if len(ws.pending) > 0 {
			// buf was the pending frame: anything past n was not taken
			// from in (k stops at the frame's size once it is known).
			extra := ws.pending[n:]
			ws.pending = nil
			stop(&ws.timer)
			t.hold(c, c.waitingCap())
			if len(extra) > 0 {
				in = append(append([]byte(nil), extra...), in...)
			}
		} else {
			in = in[n:]
		}
		if t.opts.OnFrame != nil {
			t.opts.OnFrame(c, false, f)
		}
		msg, ok, err := ws.asm.Push(f)
		if err != nil {
			t.wsRefuse(c, err)
			return
		}
		if ok {
			t.wsMessage(c, msg)
			packets++
		}
	}
}

// frameSize is the whole size of the frame whose first bytes are b, or 0
// while its header is not all there.
func frameSize(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	pos, length := 2, int(b[1]&0x7f)
	switch length {
	case 126:
		if len(b) < 4 {
			return 0
		}
		length, pos = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0
		}
		length, pos = int(binary.BigEndian.Uint64(b[2:])&(1<<62-1)), 10
	}
	if b[1]&0x80 != 0 {
		pos += 4
	}
	if len(b) < pos {
		return 0
	}
	return pos + length
}

// wsBegin keeps the start of a frame whose rest has not arrived, and
// starts its deadline: a frame header, or a frame, that stops half-way is
// cut off after FrameTimeout.
func (t *Transport) wsBegin(c *Conn, in []byte) {
	ws := c.ws
	size := max(frameSize(in), len(in)) // ParseFrame checked the length against MaxPayload
	if !t.hold(c, size+c.waitingCap()) {
		return
	}
	ws.pending = append(make([]byte, 0, size), in...)
	timeout := t.opts.FrameTimeout
	ws.timer = t.loop.AfterFunc(timeout, func() {
		ws.timer = nil
		if !c.closing && ws.pending != nil {
			ws.closeCode = websocket.ClosePolicyViolation
			t.h.Refused(c, fmt.Sprintf("%s: %d bytes of a WebSocket frame came within %v", wire.ReasonFrameTimeout, len(ws.pending), timeout))
		}
	})
}

// wsSize gives the pending frame a buffer of its full size once its
// header is in (ParseFrame has checked the length by then).
func (t *Transport) wsSize(c *Conn) {
	ws := c.ws
	size := frameSize(ws.pending)
	if size > cap(ws.pending) {
		if !t.hold(c, size+c.waitingCap()) {
			return
		}
		ws.pending = append(make([]byte, 0, size), ws.pending...)
	}
}

// wsRefuse ends a connection that broke the WebSocket protocol, with the
// close code the codec chose (1002, 1007, 1009).
func (t *Transport) wsRefuse(c *Conn, err error) {
	code, reason := uint16(websocket.CloseProtocolError), err.Error()
	if ce, ok := err.(*websocket.CloseError); ok {
		code, reason = ce.Code, ce.Reason
	}
	c.ws.closeCode = code
	if !c.opened {
		c.wsClose(code, reason)
		return
	}
	if code == websocket.CloseMessageTooBig {
		reason = wire.ReasonTooLarge + ": " + reason
	} else {
		reason = wire.ReasonParseError + ": " + reason
	}
	t.h.Refused(c, reason)
}

// wsMessage handles one whole message or control frame.
func (t *Transport) wsMessage(c *Conn, msg websocket.Message) {
	switch msg.Opcode {
	case websocket.OpText:
		if c.probe != nil && !c.opened { // polling.go
			t.pollProbe(c, msg.Payload)
			return
		}
		t.h.Packet(c, msg.Payload)
	case websocket.OpBinary:
		t.wsAttachment(c, msg.Payload) // websocket_binary.go
	case websocket.OpPing:
		pong := websocket.AppendFrame(nil, true, websocket.OpPong, msg.Payload)
		t.wireFrame(c, pong)
		c.link.Write(pong)
	case websocket.OpPong:
		// An answer to a ping we never send; allowed, and ignored.
	case websocket.OpClose:
		// The client ends the session: answer with its own code, as RFC
		// 6455 asks, and close once the answer is written.
		code, _, _ := websocket.ParseClose(msg.Payload)
		c.ws.endReason = wire.ReasonTransportClose
		c.wsClose(code, "")
	}
}

// wsClose sends a close frame (once) and closes the connection after it.
func (c *Conn) wsClose(code uint16, reason string) {
	ws := c.ws
	if !ws.closeSent {
		ws.closeSent = true
		frame := websocket.AppendCloseFrame(nil, code, reason)
		c.t.wireFrame(c, frame)
		c.link.Write(frame)
	}
	c.closing = true
	c.t.release(c)
	c.link.Close()
}

// closeCodeFor maps a session's end reason onto a WebSocket close code.
func closeCodeFor(reason string) uint16 {
	switch {
	case hasPrefix(reason, wire.ReasonShuttingDown):
		return websocket.CloseGoingAway
	case hasPrefix(reason, wire.ReasonTooLarge):
		return websocket.CloseMessageTooBig
	case hasPrefix(reason, wire.ReasonParseError), hasPrefix(reason, wire.ReasonProtocolError):
		return websocket.ClosePolicyViolation
	}
	return websocket.CloseNormal
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// wireFrame shows a frame the server sends (Options.OnFrame).
func (t *Transport) wireFrame(c *Conn, frame []byte) {
	if t.opts.OnFrame == nil {
		return
	}
	if f, _, err := websocket.ParseFrame(frame, false, len(frame)); err == nil {
		t.opts.OnFrame(c, true, f)
	}
}

// note prints a line in the trace, when tracing is on.
func (t *Transport) note(c *Conn, format string, args ...any) {
	if sys.Tracing() {
		sys.Note("%d: "+format, append([]any{c.fd}, args...)...)
	}
}
