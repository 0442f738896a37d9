package transport

import (
	"strings"
	"testing"

	"socklab/internal/websocket"
)

// binRecorder is a layer above that takes binary messages: text packets
// and attachments go into one list, in the order they came.
type binRecorder struct {
	recorder
	order []string
}

func (r *binRecorder) Packet(c *Conn, text []byte) { r.order = append(r.order, "text "+string(text)) }
func (r *binRecorder) Attachment(c *Conn, data []byte) {
	r.order = append(r.order, "binary "+string(data))
}

// writes keeps each slice the transport hands the link, to see which
// bytes are shared.
type writes struct {
	fakeLink
	slices [][]byte
}

func (k *writes) Write(p []byte) error { k.slices = append(k.slices, p); return k.fakeLink.Write(p) }

// Binary messages go up in order among the text packets, whatever the
// pieces, a fragmented one too (with a ping between its fragments).
func TestWebSocketBinaryInOrder(t *testing.T) {
	stream := testRequest + masked(websocket.OpText, true, `451-["up",{"_placeholder":true,"num":0}]`) +
		masked(websocket.OpBinary, true, "\x00\x01\xff") +
		masked(websocket.OpText, true, `42["plain"]`) +
		masked(websocket.OpBinary, false, "ab") + masked(websocket.OpPing, true, "") +
		masked(websocket.OpContinuation, true, "\xc3\x28") // not UTF-8, and need not be
	want := `text 451-["up",{"_placeholder":true,"num":0}]|binary ` + "\x00\x01\xff" + `|text 42["plain"]|binary ab` + "\xc3\x28"
	for _, n := range []int{1, 3, 7, len(stream)} {
		r := &binRecorder{}
		tr := New(r, Options{})
		tr.Attach(&fakeLoop{})
		link := &fakeLink{}
		c := tr.OpenWebSocket(link, 7, "127.0.0.1:1")
		feed(tr, c, stream, n)
		if got := strings.Join(r.order, "|"); got != want {
			t.Fatalf("pieces of %d: got %q, want %q", n, got, want)
		}
		if link.closed || len(r.refused) != 0 {
			t.Fatalf("pieces of %d: closed %v, refused %q", n, link.closed, r.refused)
		}
	}
}

// An attachment is framed once, however many WebSocket clients it goes
// to: each link is handed the very same bytes. A TCP-framed connection
// says it carries no binary and refuses it.
func TestWebSocketBinaryFramedOnce(t *testing.T) {
	tr, _, _ := newFake(t, Options{})
	var links []*writes
	var conns []*Conn
	for i := range 3 {
		k := &writes{}
		c := tr.OpenWebSocket(k, 10+i, "127.0.0.1:1")
		feed(tr, c, testRequest, 1000)
		k.slices = nil
		links, conns = append(links, k), append(conns, c)
	}
	att := NewPacket([]byte{0, 1, 2, 0xff})
	for _, c := range conns {
		if !c.Binary() {
			t.Fatal("a WebSocket connection says it carries no binary")
		}
		if err := c.SendBinary(att); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range links {
		if len(k.slices) != 1 || string(k.slices[0]) != "\x82\x04\x00\x01\x02\xff" {
			t.Fatalf("client %d was written %q, want one binary frame", i, k.slices)
		}
		if &k.slices[0][0] != &links[0].slices[0][0] {
			t.Fatalf("client %d got its own copy of the frame: it was framed again", i)
		}
	}
	tcp := tr.Open(&fakeLink{}, 20, "127.0.0.1:2")
	if tcp.Binary() || tcp.SendBinary(att) == nil {
		t.Fatal("a TCP-framed connection took a binary message")
	}
}

// A layer above that takes no binary gets a binary message refused with
// 1003, as before binary was served.
func TestWebSocketBinaryNotTaken(t *testing.T) {
	tr, _, r := newFake(t, Options{})
	link := &fakeLink{}
	c := tr.OpenWebSocket(link, 7, "127.0.0.1:1")
	feed(tr, c, testRequest+masked(websocket.OpBinary, true, "x"), 1000)
	i := strings.LastIndex(string(link.out), "\x88")
	if len(r.refused) != 1 || i < 0 || string(link.out[i+2:i+4]) != "\x03\xeb" {
		t.Fatalf("refused %q, wrote %q, want a close 1003", r.refused, link.out)
	}
}
