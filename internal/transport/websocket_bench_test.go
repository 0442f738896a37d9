package transport

import (
	"encoding/binary"
	"testing"

	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// The WebSocket envelope's per-message work, without the event loop or a
// socket: what the transport adds to the codec (internal/websocket) on
// the way in and on the way out.

// nullLink takes writes and keeps nothing, so a benchmark measures the
// transport, not a growing test buffer.
type nullLink struct{ n int }

func (k *nullLink) Write(p []byte) error { k.n += len(p); return nil }
func (k *nullLink) Close()               {}
func (k *nullLink) Abort()               {}
func (k *nullLink) OutputLen() int       { return 0 }
func (k *nullLink) PauseReading()        {}
func (k *nullLink) ResumeReading()       {}

// nullHandler is a layer above that only counts packets.
type nullHandler struct{ packets int }

func (h *nullHandler) Opened(c *Conn)                 { c.Context = h }
func (h *nullHandler) Packet(c *Conn, text []byte)    { h.packets++ }
func (h *nullHandler) Refused(c *Conn, reason string) {}
func (h *nullHandler) Closed(c *Conn, reason string)  {}

// upgraded is a transport with one WebSocket connection past its 101.
func upgraded(b *testing.B) (*Transport, *Conn, *nullHandler) {
	b.Helper()
	h := &nullHandler{}
	tr := New(h, Options{})
	tr.Attach(&fakeLoop{})
	c := tr.OpenWebSocket(&nullLink{}, 7, "127.0.0.1:1")
	tr.Data(c, []byte(testRequest))
	if !c.opened {
		b.Fatal("no 101")
	}
	return tr, c, h
}

// benchEvent is a typical event as a client sends it: one masked text frame.
var benchEvent = []byte(`42["echo","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]`)

// One whole frame per read: the ack workload's case. The frame is copied
// back in each round because parsing unmasks it in place.
func BenchmarkWebSocketReceive(b *testing.B) {
	tr, c, h := upgraded(b)
	frame := websocket.AppendMaskedFrame(nil, true, websocket.OpText, [4]byte{9, 8, 7, 6}, benchEvent)
	buf := make([]byte, len(frame))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		copy(buf, frame)
		tr.Data(c, buf)
	}
	if h.packets == 0 {
		b.Fatal("no packets")
	}
}

// Many frames in one read (a client that sends back to back): the
// one-way events' case, per frame.
func BenchmarkWebSocketReceiveBatch(b *testing.B) {
	tr, c, h := upgraded(b)
	var frames []byte
	const perRead = 64 // at most TurnPackets, so nothing waits for a next turn
	for range perRead {
		frames = websocket.AppendMaskedFrame(frames, true, websocket.OpText, [4]byte{9, 8, 7, 6}, benchEvent)
	}
	buf := make([]byte, len(frames))
	b.ReportAllocs()
	b.SetBytes(int64(len(frames)))
	for b.Loop() {
		copy(buf, frames)
		tr.Data(c, buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(h.packets), "ns/frame")
}

// A new packet per message (an ack, an emit to one client): encoding it,
// and Send making its text frame.
func BenchmarkWebSocketSendNew(b *testing.B) {
	_, c, _ := upgraded(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := EncodePacket(func(dst []byte) ([]byte, error) {
			return wire.AppendEventArgs(dst, wire.NoAck, "echo", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Send(p); err != nil {
			b.Fatal(err)
		}
	}
}

// One packet to many connections (a broadcast): the frame is made once;
// each further Send only queues the same bytes.
func BenchmarkWebSocketSendShared(b *testing.B) {
	_, c, _ := upgraded(b)
	p := NewPacket(benchEvent)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(p); err != nil {
			b.Fatal(err)
		}
	}
}

// A packet sent in both envelopes, in either order (a broadcast to TCP
// and WebSocket clients), comes out whole in each, and the bytes handed
// out first do not change when the second envelope is made: the first
// one's header sits in the headroom, the second gets its own copy.
func TestPacketBothEnvelopes(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 200, 65535, 65536, 70000} {
		text := make([]byte, size)
		for i := range text {
			text[i] = 'a' + byte(i%26)
		}
		for _, wsFirst := range []bool{true, false} {
			p := NewPacket(text)
			var first, second []byte
			if wsFirst {
				first = p.wsFrame()
			} else {
				first = p.tcpFrame()
			}
			saved := string(first)
			if wsFirst {
				second = p.tcpFrame()
			} else {
				second = p.wsFrame()
			}
			if string(first) != saved {
				t.Fatalf("size %d, ws first %v: the first frame changed when the second was made", size, wsFirst)
			}
			ws, tcp := p.wsFrame(), p.tcpFrame()
			if !wsFirst {
				ws, tcp = second, first
			}
			f, n, err := websocket.ParseFrame(ws, false, 1<<20)
			if err != nil || n != len(ws) || !f.Fin || f.Opcode != websocket.OpText || string(f.Payload) != string(text) {
				t.Fatalf("size %d, ws first %v: WebSocket frame %d of %d bytes, %v, payload ok %v", size, wsFirst, n, len(ws), err, string(f.Payload) == string(text))
			}
			if len(tcp) != wire.HeaderLen+size || int(binary.BigEndian.Uint32(tcp)) != size || string(tcp[wire.HeaderLen:]) != string(text) {
				t.Fatalf("size %d, ws first %v: TCP frame wrong (%d bytes)", size, wsFirst, len(tcp))
			}
		}
	}
}
