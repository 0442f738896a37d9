package server

// Binary attachments on the stand-in loop. miniio's TCP frames carry text
// only, so a connection that carries binary (a WebSocket, once package
// transport has one) is played by fakeBinaryEnv: the attachments the
// server sends show up among the connection's frames as "BIN:" and their
// bytes, and the test hands the server the client's attachments through
// the entry point the transport will call (upcalls.Attachment).

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"socklab/internal/transport"
	"socklab/internal/wire"
)

type fakeBinaryEnv struct{ c *transport.Conn }

func (e fakeBinaryEnv) Binary() bool { return true }

func (e fakeBinaryEnv) SendBinary(p *transport.Packet) error {
	return e.c.Send(transport.NewPacket(append([]byte("BIN:"), p.Text()...)))
}

// binaryConns makes the connections dialled after it carry binary, those
// passed to text (by their socket) excepted.
func binaryConns(srv *Server) (text map[*Socket]bool) {
	text = make(map[*Socket]bool)
	srv.binaryOf = func(c *transport.Conn) binaryEnvelope {
		if s, ok := c.Context.(*Socket); ok && text[s] {
			return nil
		}
		return fakeBinaryEnv{c}
	}
	return text
}

// sendBinary hands the server one binary message from the client.
func (c *fakeConn) sendBinary(data ...byte) {
	buf := append([]byte(nil), data...)
	upcalls{c.srv}.Attachment(c.s.c, buf)
	for i := range buf {
		buf[i] = '#' // the server must have copied what it keeps
	}
}

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

// binaryServer has the conformance profile's echo handlers, written with
// OnBinary so that bytes go back as bytes, and an On handler that shows
// what a program that knows nothing of bytes sees.
func binaryServer(t *testing.T, opts ServerOptions) (*Server, *fakeLoop) {
	srv, loop := newFakeServer(t, opts)
	handlers := func(s *Socket) {
		s.OnBinary("message", func(a BinaryArgs, _ func(...any) error) {
			if err := s.Emit("message-back", a.Values()...); err != nil {
				s.Emit("error", err.Error())
			}
		})
		s.OnBinary("message-with-ack", func(a BinaryArgs, ack func(...any) error) { ack(a.Values()...) })
		s.On("plain", func(args []json.RawMessage, ack func(...any) error) { ack(raw(args)...) })
		s.OnBinary("nested", func(a BinaryArgs, ack func(...any) error) {
			var obj struct{ File json.RawMessage }
			json.Unmarshal(a.Args[0], &obj)
			b, ok := a.Attachment(obj.File)
			_, top := a.Bytes(0)
			ack(fmt.Sprintf("%q %v %v %d", b, ok, top, len(a.Attachments())))
		})
	}
	srv.OnConnection(handlers)
	srv.Of("/custom").OnConnection(handlers)
	return srv, loop
}

func TestBinaryEventReassembled(t *testing.T) {
	srv, _ := binaryServer(t, ServerOptions{})
	binaryConns(srv)
	c := join(t, srv)

	c.send(`452-["message",` + ph0 + `,` + ph1 + `]`)
	expectFrames(t, c) // nothing before the attachments
	c.sendBinary(1, 2, 3)
	expectFrames(t, c)
	c.sendBinary(4, 5, 6)
	expectFrames(t, c, `452-["message-back",`+ph0+`,`+ph1+`]`, "BIN:\x01\x02\x03", "BIN:\x04\x05\x06")

	// With an ack: the answer is a BINARY_ACK with the same bytes.
	c.send(`452-789["message-with-ack",` + ph0 + `,"text",` + ph1 + `]`)
	c.sendBinary(7)
	c.sendBinary()
	expectFrames(t, c, `462-789[`+ph0+`,"text",`+ph1+`]`, "BIN:\x07", "BIN:")

	// The same handlers take plain events too: no bytes, plain packets.
	c.send(`42["message",1,"2",{"3":[true]}]`, `42456["message-with-ack",1,"2",{"3":[false]}]`)
	expectFrames(t, c, `42["message-back",1,"2",{"3":[true]}]`, `43456[1,"2",{"3":[false]}]`)

	// An On handler sees the placeholders, as JSON.
	c.send(`451-5["plain","a",` + ph0 + `]`)
	c.sendBinary(9)
	expectFrames(t, c, `435["a",`+ph0+`]`)

	// A placeholder inside an argument is found with Attachment.
	c.send(`451-6["nested",{"File":` + ph0 + `}]`)
	c.sendBinary('x', 'y')
	expectFrames(t, c, `436["\"xy\" true false 1"]`)
	if srv.binaryHeld != 0 {
		t.Fatalf("%d attachment bytes still held", srv.binaryHeld)
	}
}

func TestBinaryInNamespace(t *testing.T) {
	srv, _ := binaryServer(t, ServerOptions{})
	binaryConns(srv)
	c := join(t, srv)
	joinNsp(t, c, `40/custom,`, "/custom")
	c.send(`451-/custom,3["message-with-ack",` + ph0 + `]`)
	c.sendBinary(0xff)
	expectFrames(t, c, `461-/custom,3[`+ph0+`]`, "BIN:\xff")
	c.send(`451-/custom,["message",` + ph0 + `]`)
	c.sendBinary(0)
	expectFrames(t, c, `451-/custom,["message-back",`+ph0+`]`, "BIN:\x00")
}

// The server's own emits and acks with []byte, and a BINARY_ACK coming
// back to EmitWithAckBinary.
func TestBinaryEmitAndAnswer(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	text := binaryConns(srv)
	var socks []*Socket
	srv.OnConnection(func(s *Socket) { socks = append(socks, s) })
	a, b := join(t, srv), join(t, srv)
	tcp := join(t, srv)
	text[tcp.s] = true

	if err := socks[0].Emit("file", "a.png", []byte{1, 2}, map[string]any{"thumb": []byte{3}}, map[string]int{"w": 4}); err != nil {
		t.Fatal(err)
	}
	loop.runPosted()
	expectFrames(t, a, `452-["file","a.png",`+ph0+`,{"thumb":`+ph1+`},{"w":4}]`, "BIN:\x01\x02", "BIN:\x03")

	// A broadcast reaches those that carry binary, and leaves out the
	// text-only one, which could not take the attachments.
	srv.Emit("all", []byte("hi"))
	loop.runPosted()
	expectFrames(t, a, `451-["all",`+ph0+`]`, "BIN:hi")
	expectFrames(t, b, `451-["all",`+ph0+`]`, "BIN:hi")
	expectFrames(t, tcp)

	var answer string
	err := socks[1].EmitWithAckBinary("q", time.Second, func(ans BinaryArgs, err error) {
		got, ok := ans.Bytes(1)
		answer = fmt.Sprintf("%s %q %v %v", ans.Args[0], got, ok, err)
	}, []byte{5})
	if err != nil {
		t.Fatal(err)
	}
	loop.runPosted()
	expectFrames(t, b, `451-0["q",`+ph0+`]`, "BIN:\x05")
	b.send(`461-0["ok",` + ph0 + `]`)
	b.sendBinary('z')
	if answer != `"ok" "z" true <nil>` {
		t.Fatalf("answer %s", answer)
	}
}

// On miniio's TCP frames, which carry text only, bytes are refused with a
// reason, both ways.
func TestBinaryRefusedOnTextOnlyEnvelope(t *testing.T) {
	srv, _ := binaryServer(t, ServerOptions{})
	var sock *Socket
	var ackErr error
	srv.OnConnection(func(s *Socket) {
		sock = s
		s.On("ask", func(_ []json.RawMessage, ack func(...any) error) { ackErr = ack([]byte{1}) })
	})
	c := join(t, srv)
	if err := sock.Emit("x", []byte{1}); !errors.Is(err, ErrTextOnly) {
		t.Fatalf("Emit with bytes on TCP: %v, want ErrTextOnly", err)
	}
	if err := sock.EmitWithAck("x", 0, func([]json.RawMessage, error) {}, []byte{1}); !errors.Is(err, ErrTextOnly) {
		t.Fatalf("EmitWithAck with bytes on TCP: %v, want ErrTextOnly", err)
	}
	c.send(`421["ask"]`)
	if !errors.Is(ackErr, ErrTextOnly) {
		t.Fatalf("ack with bytes on TCP: %v, want ErrTextOnly", ackErr)
	}
	// Without bytes the same handlers work as ever.
	c.send(`42["message",1]`)
	expectFrames(t, c, `42["message-back",1]`)
	c.send(`451-["message",` + ph0 + `]`)
	expectClosed(t, c, "protocol error: BINARY_EVENT: binary attachments need WebSocket or long-polling: this connection's envelope (TCP frames) carries text only")
}

// Binary packets that cannot be completed, or that pass a limit, end the
// connection with a reason, and what was held of them is let go.
func TestBinaryRefusals(t *testing.T) {
	cases := []struct {
		name        string
		header      string
		attachments [][]byte
		reason      string
	}{
		{"placeholder out of range", `451-["message",{"_placeholder":true,"num":1}]`, nil,
			"parse error: placeholder number 1 out of range: the packet has 1 attachments"},
		{"placeholder repeated", `452-["message",` + ph0 + `,` + ph0 + `]`, nil,
			"parse error: placeholder number 0 appears twice"},
		{"placeholder missing", `452-["message",` + ph0 + `]`, nil,
			"parse error: no placeholder for attachment 1 of 2"},
		{"too many attachments", `453-["message",` + ph0 + `,` + ph1 + `,{"_placeholder":true,"num":2}]`, nil,
			"parse error: 3 attachments, the limit is 2"},
		{"attachments past maxPayload", `452-["message",` + ph0 + `,` + ph1 + `]`, [][]byte{make([]byte, 150), make([]byte, 60)},
			"payload too large: binary attachments exceed maxPayload 200"},
		{"text while waiting", `452-["message",` + ph0 + `,` + ph1 + `]`, [][]byte{{1}, []byte("42[\"message\"]")},
			"protocol error: a text packet came while a binary packet waited for 1 attachments"},
		{"binary packet while waiting", `451-["message",` + ph0 + `]`, [][]byte{[]byte(`451-["message",` + ph0 + `]`)},
			"protocol error: a text packet came while a binary packet waited for 1 attachments"},
		{"attachment with nothing waiting", `42["message"]`, [][]byte{{1}},
			"protocol error: a binary message came with no binary packet waiting for it"},
		{"binary packet before CONNECT to its namespace", `451-/custom,["message",` + ph0 + `]`, nil,
			"protocol error: BINARY_EVENT before CONNECT to /custom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := binaryServer(t, ServerOptions{MaxPayload: 200, MaxAttachments: 2})
			binaryConns(srv)
			var reason string
			srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(r string) { reason = r }) })
			good, bad := join(t, srv), join(t, srv)
			bad.send(tc.header)
			for _, a := range tc.attachments {
				if strings.HasPrefix(string(a), "4") { // a text packet, in the middle
					bad.send(string(a))
				} else {
					bad.sendBinary(a...)
				}
			}
			expectClosed(t, bad, tc.reason)
			if !strings.HasPrefix(reason, tc.reason) {
				t.Errorf("OnDisconnect got %q", reason)
			}
			if srv.binaryHeld != 0 {
				t.Errorf("%d attachment bytes still held", srv.binaryHeld)
			}
			good.send(`421["plain","still here"]`)
			expectFrames(t, good, `431["still here"]`)
		})
	}
}

// Attachments that never come: the half-assembled packet is dropped when
// the connection ends, or when FrameTimeout passes; and what all the
// connections hold together stays under InputBudget.
func TestBinaryAttachmentsThatNeverCome(t *testing.T) {
	srv, loop := binaryServer(t, ServerOptions{FrameTimeout: 5 * time.Second, InputBudget: 1000, MaxPayload: 800,
		PingInterval: time.Hour, ConnectTimeout: time.Hour})
	binaryConns(srv)
	ran := 0
	srv.OnConnection(func(s *Socket) {
		s.OnBinary("message", func(BinaryArgs, func(...any) error) { ran++ })
	})

	// The connection ends first.
	gone := join(t, srv)
	gone.send(`452-["message",` + ph0 + `,` + ph1 + `]`)
	gone.sendBinary(make([]byte, 100)...)
	if srv.binaryHeld != 100 {
		t.Fatalf("held %d bytes, want 100", srv.binaryHeld)
	}
	srv.handleClose(gone.s, wire.ReasonTransportClose)
	if srv.binaryHeld != 0 || gone.s.waiting() != 0 {
		t.Fatalf("after the connection ended: %d bytes held, %d attachments awaited", srv.binaryHeld, gone.s.waiting())
	}

	// The time runs out.
	slow := join(t, srv)
	slow.send(`452-["message",` + ph0 + `,` + ph1 + `]`)
	slow.sendBinary(1)
	loop.advance(4 * time.Second)
	if slow.closed {
		t.Fatal("closed before the frame timeout")
	}
	loop.advance(2 * time.Second)
	expectClosed(t, slow, "frame timeout: 1 of a binary packet's 2 attachments came within 5s")

	// Many connections each hold part of a packet: past the budget, the
	// one that went over is ended.
	var holders []*fakeConn
	for i := range 3 {
		c := join(t, srv)
		c.send(`452-["message",` + ph0 + `,` + ph1 + `]`)
		c.sendBinary(make([]byte, 400)...)
		holders = append(holders, c)
		if i < 2 && c.closed {
			t.Fatalf("holder %d closed under the budget", i)
		}
	}
	expectClosed(t, holders[2], "input budget: the server holds 1200 bytes of binary attachments")
	if srv.binaryHeld != 800 {
		t.Fatalf("held %d bytes, want 800", srv.binaryHeld)
	}
	// A complete packet still goes through, and lets go of its bytes.
	holders[0].sendBinary(7)
	if ran != 1 || srv.binaryHeld != 400 {
		t.Fatalf("handler ran %d times, %d bytes held", ran, srv.binaryHeld)
	}
}

// The common path stays as it was: an event without bytes allocates
// nothing more to be dispatched for a program that registered OnBinary
// handlers nowhere.
func TestBinaryPlainEmitUnchanged(t *testing.T) {
	if hasBytes([]any{"a", 1, json.RawMessage(`{}`), map[string]any{"x": []any{"y"}}}) {
		t.Fatal("hasBytes found bytes where there are none")
	}
	if !hasBytes([]any{"a", []any{map[string]any{"x": []byte{}}}}) {
		t.Fatal("hasBytes missed nested bytes")
	}
	args := []any{"hi", 3, json.RawMessage(`{"a":1}`)}
	if n := testing.AllocsPerRun(100, func() { _ = hasBytes(args) }); n != 0 {
		t.Fatalf("hasBytes allocates %v times", n)
	}
}
