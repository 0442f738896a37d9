//go:build race

package websocket

// The race detector adds allocations of its own, so the allocation counts
// are only checked in normal builds.
const raceEnabled = true
