package loadgen

import (
	"strings"
	"testing"

	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// What the server sends is never masked; a test plays the server here.
func serverFrame(op websocket.Opcode, payload string) []byte {
	return websocket.AppendFrame(nil, true, op, []byte(payload))
}

func TestWSEnvelopeSplitsTextAndAnswersPings(t *testing.T) {
	env := newWSEnvelope()
	stream := append(serverFrame(websocket.OpText, `42["msg","x"]`), serverFrame(websocket.OpPing, "hi")...)
	stream = append(stream, serverFrame(websocket.OpText, "2")...)

	// Not a whole frame yet: read more, nothing used.
	if text, reply, used, err := env.split(stream[:3], 0); text != nil || reply != nil || used != 0 || err != nil {
		t.Fatalf("split of a partial frame = %q, %q, %d, %v; want nothing", text, reply, used, err)
	}
	text, _, used, err := env.split(stream, 0)
	if err != nil || string(text) != `42["msg","x"]` {
		t.Fatalf("first split = %q, %v", text, err)
	}
	stream = stream[used:]
	text, reply, used, err := env.split(stream, 0)
	if err != nil || text != nil || reply == nil {
		t.Fatalf("ping: split = %q, %q, %v; want a reply and no text", text, reply, err)
	}
	// The reply is a masked pong with the ping's payload, as a server reads it.
	f, n, err := websocket.ParseFrame(reply, true, 0)
	if err != nil || n != len(reply) || f.Opcode != websocket.OpPong || !f.Masked || string(f.Payload) != "hi" {
		t.Fatalf("pong reply %+v (%d of %d bytes, %v)", f, n, len(reply), err)
	}
	stream = stream[used:]
	if text, _, _, err := env.split(stream, 0); err != nil || string(text) != "2" {
		t.Fatalf("PING packet: split = %q, %v", text, err)
	}
}

func TestWSEnvelopeRefusesWhatTheContractNeverSends(t *testing.T) {
	env := newWSEnvelope()
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"close", websocket.AppendCloseFrame(nil, websocket.CloseGoingAway, "bye"), "closed the WebSocket: code 1001"},
		{"fragment", websocket.AppendFrame(nil, false, websocket.OpText, []byte("4")), "fragmented"},
		{"binary", serverFrame(websocket.OpBinary, "\x01"), "unexpected WebSocket frame"},
		{"masked", websocket.AppendMaskedFrame(nil, true, websocket.OpText, [4]byte{1, 2, 3, 4}, []byte("3")), "mask"},
		{"too long", serverFrame(websocket.OpText, strings.Repeat("x", 200)), "over the limit"},
	} {
		_, _, _, err := env.split(tc.frame, 100)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: split error = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

// Every frame a client sends is masked with a key of its own: two frames
// of the same text differ, and each unmasks to the text.
func TestWSEnvelopeMasksEachFrameWithAFreshKey(t *testing.T) {
	env := newWSEnvelope()
	var frames [2][]byte
	for i := range frames {
		buf, mark := env.begin([]byte("prefix"))
		buf, _ = wire.AppendEvent(buf, 7, "echo", []byte(`"xx"`))
		frames[i] = env.end(buf, mark)[len("prefix"):]
		f, n, err := websocket.ParseFrame(frames[i], true, 0)
		if err != nil || n != len(frames[i]) || string(f.Payload) != `427["echo","xx"]` {
			t.Fatalf("frame %d: %+v, %d of %d bytes, %v", i, f, n, len(frames[i]), err)
		}
	}
	// ParseFrame unmasked in place, so compare the keys (bytes 2..5).
	if string(frames[0][2:6]) == string(frames[1][2:6]) {
		t.Errorf("two frames share the mask key % x", frames[0][2:6])
	}
}

// The hot path of ack over WebSocket (build the masked EVENT, split the
// server's ACK frame, compare) allocates nothing once its buffers have
// grown, so a round trip costs the generator no garbage collection.
func TestWSRoundTripPathAllocatesNothing(t *testing.T) {
	env := newWSEnvelope()
	ack := serverFrame(websocket.OpText, `43["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]`)
	in := make([]byte, len(ack))
	arg := payload(64)
	var out, want []byte
	allocs := testing.AllocsPerRun(1000, func() {
		buf, mark := env.begin(out[:0])
		buf, _ = wire.AppendEvent(buf, 3, "echo", arg)
		out = env.end(buf, mark)
		want, _ = wire.AppendAck(want[:0], 3, arg)
		copy(in, ack) // ParseFrame would unmask in place; a server frame is not masked
		text, _, _, err := env.split(in, 0)
		if err != nil || string(text) == "" {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per round trip, want 0", allocs)
	}
}

func BenchmarkWSSealEvent(b *testing.B) {
	env := newWSEnvelope()
	arg := payload(64)
	var out []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, mark := env.begin(out[:0])
		buf, _ = wire.AppendEvent(buf, i, "echo", arg)
		out = env.end(buf, mark)
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkWSSplitAck(b *testing.B) {
	env := newWSEnvelope()
	frame := serverFrame(websocket.OpText, `4312345["`+strings.Repeat("x", 64)+`"]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, n, err := env.split(frame, 0); n == 0 || err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPSplitAck(b *testing.B) {
	env := tcpEnvelope{}
	frame := wire.AppendFrame(nil, []byte(`4312345["`+strings.Repeat("x", 64)+`"]`))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, n, err := env.split(frame, 0); n == 0 || err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPSealEvent(b *testing.B) {
	env := tcpEnvelope{}
	arg := payload(64)
	var out []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, mark := env.begin(out[:0])
		buf, _ = wire.AppendEvent(buf, i, "echo", arg)
		out = env.end(buf, mark)
	}
	b.SetBytes(int64(len(out)))
}
