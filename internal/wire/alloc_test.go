package wire

import "testing"

// The hot path's allocation counts are part of its contract: the event loop
// calls these for every packet. Counts, unlike times, do not depend on how
// busy the machine is.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		out, mark := BeginFrame(dst[:0])
		out, _ = AppendEvent(out, 17, "chat", chatArg)
		dst = EndFrame(out, mark)
	}); n != 0 {
		t.Errorf("framing an event: %v allocations, want 0", n)
	}

	var p Packet
	if n := testing.AllocsPerRun(100, func() { _ = p.Parse(chatText) }); n > 1 {
		t.Errorf("parsing an event into a reused Packet: %v allocations, want at most 1 (the name)", n)
	}

	stream := AppendFrame(AppendFrame(nil, chatText), chatText)
	if n := testing.AllocsPerRun(100, func() {
		rest := stream
		for len(rest) > 0 {
			_, n, err := SplitFrame(rest, 0)
			if err != nil || n == 0 {
				break
			}
			rest = rest[n:]
		}
	}); n != 0 {
		t.Errorf("splitting frames: %v allocations, want 0", n)
	}
}
