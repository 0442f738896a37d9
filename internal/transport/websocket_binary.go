package transport

import (
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// Binary messages over WebSocket: socket.io's attachments.
//
// A BINARY_EVENT travels as a text message (the header, with a
// placeholder where each []byte was) followed by one binary message
// (opcode 2) per attachment:
//
//	text    451-["file",{"_placeholder":true,"num":0}]
//	binary  <the bytes>
//
// Coming in, each binary message goes up as it is (Attachment), in the
// order it came among the text packets; the server puts the packet back
// together. Going out, SendBinary frames an attachment once, and every
// receiver of a broadcast is written the same bytes. miniio's TCP frames
// stay text only: for them Binary is false and SendBinary refuses.

// attachmentHandler is the layer above when it takes binary messages
// (the socket.io server does: its Attachment upcall).
type attachmentHandler interface {
	Attachment(c *Conn, data []byte)
}

// errTextOnly is SendBinary's answer on a TCP-framed connection.
type errTextOnly struct{}

func (errTextOnly) Error() string {
	return "binary message on a TCP-framed connection: its frames carry text only"
}

// Binary says whether the connection's envelope carries binary messages:
// true for WebSocket and long-polling (binary rides there as "b" + base64),
// false for TCP frames. It is fixed when the connection is made (a polling
// session that upgrades stays binary-capable), so any goroutine may ask.
func (c *Conn) Binary() bool { return c.poll != nil || c.ws != nil }

// SendBinary queues p's bytes (p.Text) as one binary message. As with
// Send, the bytes are kept, not copied, and the frame is made once for
// all the receivers of p.
func (c *Conn) SendBinary(p *Packet) error {
	if c.poll != nil && c.link == nil {
		return c.pollSendBinary(p) // still on long-polling: "b" + base64 in the next payload
	}
	if c.ws == nil {
		return errTextOnly{}
	}
	if p.wsBin == nil {
		data := p.Text()
		p.wsBin = websocket.AppendFrame(make([]byte, 0, len(data)+10), true, websocket.OpBinary, data)
	}
	if c.t.opts.OnFrame != nil {
		c.t.opts.OnFrame(c, true, websocket.Frame{Fin: true, Opcode: websocket.OpBinary, Payload: p.Text()})
	}
	return c.link.Write(p.wsBin)
}

// wsAttachment hands a binary message up. A layer that takes no binary
// gets the connection closed with 1003 (unsupported data), as before
// binary was served.
func (t *Transport) wsAttachment(c *Conn, data []byte) {
	if h, ok := t.h.(attachmentHandler); ok {
		h.Attachment(c, data)
		return
	}
	c.ws.closeCode = websocket.CloseUnsupportedData
	t.h.Refused(c, wire.ReasonProtocolError+": binary messages are not taken here")
}
