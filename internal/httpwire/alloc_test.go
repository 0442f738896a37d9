package httpwire

import "testing"

// A request costs two allocations however many headers it has: one copy
// of the head as a string (every name and value points into it) and one
// slice of headers. A trickle of "need more" calls costs none.
func TestParseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	buf := []byte(upgradeRequest)
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseRequest(buf, Limits{}) }); n > 2 {
		t.Errorf("parsing the upgrade request: %v allocations, want at most 2", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseRequest(buf[:len(buf)-1], Limits{}) }); n != 0 {
		t.Errorf("need-more: %v allocations, want 0", n)
	}
	dst := make([]byte, 0, 256)
	headers := []Header{{"Upgrade", "websocket"}}
	if n := testing.AllocsPerRun(100, func() { dst = AppendResponse(dst[:0], 101, headers, nil) }); n != 0 {
		t.Errorf("AppendResponse into a reused buffer: %v allocations, want 0", n)
	}
}
