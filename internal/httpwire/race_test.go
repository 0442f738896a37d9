//go:build race

package httpwire

// The race detector adds allocations of its own, so the allocation counts
// are only checked in normal builds.
const raceEnabled = true
