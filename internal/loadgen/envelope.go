package loadgen

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mathrand "math/rand/v2"

	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// envelope is how one packet text travels on the stream: miniio's own
// length-prefixed frame on plain TCP (tcpEnvelope), or one WebSocket
// message per packet after an HTTP upgrade (wsEnvelope), the way a
// socket.io client sends it. The workloads build and read packet texts;
// the envelope wraps and unwraps them, and nothing else differs.
type envelope interface {
	// begin and end bracket a packet text appended to dst:
	//   dst, mark := env.begin(dst); dst = append…(dst); dst = env.end(dst, mark)
	// leaves one whole frame at dst[mark:].
	begin(dst []byte) ([]byte, int)
	end(dst []byte, mark int) []byte
	// split cuts the next packet off the front of data, as wire.SplitFrame
	// does: used == 0 means read more. When the frame was a WebSocket
	// control frame instead (a ping), text is nil and reply is the frame
	// to send back now.
	split(data []byte, max int) (text, reply []byte, used int, err error)
	// pong is the Engine.IO PONG packet, wrapped: the answer to a PING.
	pong() []byte
	// name is "tcp" or "websocket", for results and messages.
	name() string
}

// tcpEnvelope is miniio's own framing: a length, then the packet text.
type tcpEnvelope struct{}

func (tcpEnvelope) begin(dst []byte) ([]byte, int)  { return wire.BeginFrame(dst) }
func (tcpEnvelope) end(dst []byte, mark int) []byte { return wire.EndFrame(dst, mark) }
func (tcpEnvelope) pong() []byte                    { return pongFrame }
func (tcpEnvelope) name() string                    { return "tcp" }

func (tcpEnvelope) split(data []byte, max int) (text, reply []byte, used int, err error) {
	text, used, err = wire.SplitFrame(data, max)
	return text, nil, used, err
}

// pongFrame is PONG, framed for TCP: the answer to every PING there.
var pongFrame = wire.AppendFrame(nil, wire.AppendPong(nil))

// wsEnvelope is the client side of a WebSocket: every packet is one text
// message in one unfragmented frame, masked with a key of its own (RFC
// 6455 5.3: a client masks every frame, with a fresh key each time).
//
// The keys come from a ChaCha8 stream seeded once from the system's random
// source, not from crypto/rand per frame: masking exists so that a script
// in a browser cannot choose the bytes that reach a proxy, and a load
// generator has no such script; a getrandom(2) per frame would only add a
// system call to the path being measured. The keys still change with every
// frame.
type wsEnvelope struct {
	keys *mathrand.ChaCha8
	text []byte // scratch: end copies the packet text here before it masks it
	ctl  []byte // scratch for pong replies
}

func newWSEnvelope() *wsEnvelope {
	var seed [32]byte
	rand.Read(seed[:]) // never fails (crypto/rand, Go 1.24 and later)
	return &wsEnvelope{keys: mathrand.NewChaCha8(seed)}
}

func (e *wsEnvelope) key() [4]byte {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], uint32(e.keys.Uint64()))
	return k
}

func (e *wsEnvelope) begin(dst []byte) ([]byte, int) { return dst, len(dst) }

// end moves the packet text aside and writes it back as a masked frame:
// the header's length depends on the text's, so it cannot go first. After
// the first few calls both buffers are big enough and nothing is allocated.
func (e *wsEnvelope) end(dst []byte, mark int) []byte {
	e.text = append(e.text[:0], dst[mark:]...)
	return websocket.AppendMaskedFrame(dst[:mark], true, websocket.OpText, e.key(), e.text)
}

func (e *wsEnvelope) pong() []byte {
	return websocket.AppendMaskedFrame(nil, true, websocket.OpText, e.key(), wire.AppendPong(nil))
}

func (e *wsEnvelope) name() string { return "websocket" }

// split reads one server frame (never masked). socket.io and miniio send
// each packet as one whole text frame; a fragmented message or a binary
// one is not part of the benchmark contract and ends the run with a clear
// error rather than being pieced together.
func (e *wsEnvelope) split(data []byte, max int) (text, reply []byte, used int, err error) {
	// The frame's payload is the packet text, so max bounds it directly.
	f, n, err := websocket.ParseFrame(data, false, max)
	if err != nil || n == 0 {
		return nil, nil, 0, err
	}
	switch f.Opcode {
	case websocket.OpText:
		if !f.Fin {
			return nil, nil, 0, fmt.Errorf("the server fragmented a message; the load generator expects one frame per packet")
		}
		return f.Payload, nil, n, nil
	case websocket.OpPing:
		e.ctl = websocket.AppendMaskedFrame(e.ctl[:0], true, websocket.OpPong, e.key(), f.Payload)
		return nil, e.ctl, n, nil
	case websocket.OpPong:
		return nil, nil, n, nil // unasked-for pongs are allowed (RFC 6455 5.5.3)
	case websocket.OpClose:
		code, reason, _ := websocket.ParseClose(f.Payload)
		return nil, nil, 0, fmt.Errorf("the server closed the WebSocket: code %d %q", code, reason)
	}
	return nil, nil, 0, fmt.Errorf("unexpected WebSocket frame: %s", websocket.Describe(f))
}
