package websocket

import "testing"

// The hot path's allocation counts are part of its contract: the event
// loop calls these for every frame. Counts, unlike times, do not depend on
// how busy the machine is.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	buf := AppendMaskedFrame(nil, true, OpText, rfcMaskKey, chatText)
	payloadAt := len(buf) - len(chatText)
	var a Assembler
	if n := testing.AllocsPerRun(100, func() {
		f, _, err := ParseFrame(buf, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Push(f); err != nil {
			t.Fatal(err)
		}
		Mask(buf[payloadAt:], f.MaskKey)
	}); n != 0 {
		t.Errorf("parsing and assembling a frame: %v allocations, want 0", n)
	}

	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		dst = AppendFrame(dst[:0], true, OpText, chatText)
		dst = AppendMaskedFrame(dst, true, OpText, rfcMaskKey, chatText)
		dst = AppendCloseFrame(dst, CloseNormal, "bye")
	}); n != 0 {
		t.Errorf("writing frames into a reused buffer: %v allocations, want 0", n)
	}

	// Fragments into an Assembler whose buffer has grown once.
	frag := []Frame{frame(false, OpText, "héllo "), frame(true, OpPing, ""), frame(true, OpContinuation, "wörld")}
	for _, f := range frag {
		a.Push(f)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, f := range frag {
			if _, _, err := a.Push(f); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("assembling fragments: %v allocations, want 0", n)
	}
}
