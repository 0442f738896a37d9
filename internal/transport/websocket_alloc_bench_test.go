//go:build !race

// The race detector allocates on its own, so these counts are checked in
// normal builds only (go test ./internal/transport).

package transport

import (
	"testing"

	"socklab/internal/websocket"
)

// The WebSocket envelope's per-frame path allocates nothing: a whole
// frame in, a batch of frames in, and a shared packet out (a broadcast's
// further receivers). Counts, unlike times, do not depend on how busy the
// machine is. The benchmarks in websocket_bench_test.go show the same
// numbers with their times.
func TestWebSocketHotPathAllocations(t *testing.T) {
	h := &nullHandler{}
	tr := New(h, Options{})
	tr.Attach(&fakeLoop{})
	c := tr.OpenWebSocket(&nullLink{}, 7, "127.0.0.1:1")
	tr.Data(c, []byte(testRequest))
	if !c.opened {
		t.Fatal("no 101")
	}

	one := websocket.AppendMaskedFrame(nil, true, websocket.OpText, [4]byte{9, 8, 7, 6}, benchEvent)
	var many []byte
	for range 64 {
		many = websocket.AppendMaskedFrame(many, true, websocket.OpText, [4]byte{1, 2, 3, 4}, benchEvent)
	}
	buf := make([]byte, len(many))
	if n := testing.AllocsPerRun(100, func() {
		copy(buf, one)
		tr.Data(c, buf[:len(one)])
	}); n != 0 {
		t.Errorf("one frame per read: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		copy(buf, many)
		tr.Data(c, buf)
	}); n != 0 {
		t.Errorf("64 frames per read: %v allocations, want 0", n)
	}
	if want := 101 + 64*101; h.packets != want { // AllocsPerRun calls once more to warm up
		t.Errorf("%d packets reached the layer above, want %d", h.packets, want)
	}

	p := NewPacket(benchEvent)
	c.Send(p) // the frame is made here, once
	if n := testing.AllocsPerRun(100, func() {
		if err := c.Send(p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("sending a packet already framed: %v allocations, want 0", n)
	}
}
