package transport

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"socklab/internal/websocket"
)

const testRequest = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
	"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

func masked(op websocket.Opcode, fin bool, payload string) string {
	return string(websocket.AppendMaskedFrame(nil, fin, op, [4]byte{9, 8, 7, 6}, []byte(payload)))
}

// feed hands the transport s in pieces of n bytes, as reads would.
func feed(tr *Transport, c *Conn, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		buf := []byte(s[:k])
		tr.Data(c, buf)
		for i := range buf {
			buf[i] = '#' // the transport must not keep the loop's buffer
		}
		s = s[k:]
	}
}

// Whatever the pieces the bytes come in, the same packets come out: the
// request head, a short frame, a 16-bit-length frame, and a text message
// in three fragments with a ping between them.
func TestWebSocketAnyPieces(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: a 16-bit length
	stream := testRequest + masked(websocket.OpText, true, "40") +
		masked(websocket.OpText, true, `42["m","`+long+`"]`) +
		masked(websocket.OpText, false, `42["fr`) + masked(websocket.OpPing, true, "p") +
		masked(websocket.OpContinuation, false, `ag","`) + masked(websocket.OpContinuation, true, `x"]`)
	want := []string{"40", `42["m","` + long + `"]`, `42["frag","x"]`}
	for _, n := range []int{1, 2, 3, 5, 13, 64, len(stream)} {
		tr, _, r := newFake(t, Options{})
		link := &fakeLink{}
		c := tr.OpenWebSocket(link, 7, "127.0.0.1:1")
		feed(tr, c, stream, n)
		if r.opened != 1 || strings.Join(r.packets, "|") != strings.Join(want, "|") {
			t.Fatalf("pieces of %d: opened %d, packets %q", n, r.opened, r.packets)
		}
		if !strings.HasPrefix(string(link.out), "HTTP/1.1 101 ") || !strings.HasSuffix(string(link.out), "\x8a\x01p") {
			t.Fatalf("pieces of %d: wrote %q, want the 101 and then the pong", n, link.out)
		}
		if tr.InputHeld() != 0 {
			t.Fatalf("pieces of %d: %d bytes still held", n, tr.InputHeld())
		}
	}
}

// A frame header that stops half-way, and a frame that stops half-way,
// are cut off after FrameTimeout; the budget is given back.
func TestWebSocketFrameTimeout(t *testing.T) {
	for _, part := range []string{"\x81", "\x81\xfe\x01", masked(websocket.OpText, true, strings.Repeat("a", 300))[:100]} {
		tr, loop, r := newFake(t, Options{FrameTimeout: time.Second})
		link := &fakeLink{}
		c := tr.OpenWebSocket(link, 7, "127.0.0.1:1")
		feed(tr, c, testRequest+part, 1000)
		if tr.InputHeld() == 0 {
			t.Fatalf("%q: nothing held for the unfinished frame", part)
		}
		loop.advance(999 * time.Millisecond)
		if len(r.refused) != 0 {
			t.Fatalf("%q: refused before the timeout: %q", part, r.refused)
		}
		loop.advance(time.Millisecond)
		if len(r.refused) != 1 || !strings.HasPrefix(r.refused[0], "frame timeout") || !link.closed {
			t.Fatalf("%q: refused %q, closed %v", part, r.refused, link.closed)
		}
		if i := strings.LastIndex(string(link.out), "\x88"); i < 0 || binary.BigEndian.Uint16(link.out[i+2:]) != websocket.ClosePolicyViolation {
			t.Fatalf("%q: no close frame 1008 in %q", part, link.out)
		}
		if tr.InputHeld() != 0 {
			t.Fatalf("%q: %d bytes still held", part, tr.InputHeld())
		}
	}
}

// A request head that stops half-way gets 408 after HeadTimeout, and the
// layer above never hears of the connection.
func TestWebSocketHeadTimeout(t *testing.T) {
	tr, loop, r := newFake(t, Options{HeadTimeout: 2 * time.Second})
	link := &fakeLink{}
	c := tr.OpenWebSocket(link, 7, "127.0.0.1:1")
	feed(tr, c, testRequest[:40], 7)
	loop.advance(2 * time.Second)
	if !strings.HasPrefix(string(link.out), "HTTP/1.1 408 ") || !link.closed || r.opened != 0 {
		t.Fatalf("wrote %q, closed %v, opened %d", link.out, link.closed, r.opened)
	}
	tr.Hangup(c, "transport close")
	if len(r.closed) != 0 || tr.InputHeld() != 0 {
		t.Fatalf("closed %q, held %d", r.closed, tr.InputHeld())
	}
}

// Many connections' unfinished frames together stay under the input
// budget: past it, the largest holder is refused.
func TestWebSocketInputBudget(t *testing.T) {
	tr, _, r := newFake(t, Options{InputBudget: 5000, MaxPayload: 4000})
	var conns []*Conn
	for i := range 3 {
		c := tr.OpenWebSocket(&fakeLink{}, 10+i, "127.0.0.1:1")
		feed(tr, c, testRequest, 1000)
		conns = append(conns, c)
	}
	// Each announces 2,000 bytes and sends 10.
	part := masked(websocket.OpText, true, strings.Repeat("a", 2000))[:18]
	feed(tr, conns[0], part, 100)
	feed(tr, conns[1], part, 100)
	if len(r.refused) != 0 {
		t.Fatalf("refused %q under the budget", r.refused)
	}
	feed(tr, conns[2], part, 100)
	if len(r.refused) != 1 || !strings.HasPrefix(r.refused[0], "input budget") {
		t.Fatalf("refused %q, want one \"input budget\"", r.refused)
	}
	if held := tr.InputHeld(); held > 5000 {
		t.Fatalf("%d bytes held, over the budget", held)
	}
}

// The same packet goes to a TCP client and a WebSocket client, each in
// its own envelope, from one encoding.
func TestPacketFramedPerEnvelope(t *testing.T) {
	tr, _, _ := newFake(t, Options{})
	tcp, ws := &fakeLink{}, &fakeLink{}
	tc := tr.Open(tcp, 5, "127.0.0.1:1")
	wc := tr.OpenWebSocket(ws, 6, "127.0.0.1:2")
	feed(tr, wc, testRequest, 1000)
	ws.out = nil
	p := NewPacket([]byte(`42["hi"]`))
	for range 2 {
		tc.Send(p)
		wc.Send(p)
	}
	if string(tcp.out) != "\x00\x00\x00\x0842[\"hi\"]\x00\x00\x00\x0842[\"hi\"]" {
		t.Fatalf("TCP got %q", tcp.out)
	}
	if string(ws.out) != "\x81\x0842[\"hi\"]\x81\x0842[\"hi\"]" {
		t.Fatalf("WebSocket got %q", ws.out)
	}
}
