//go:build !linux

package sys

// threadID is -1 where gettid(2) is missing: every thread then counts as
// the stop function's, and ExitOnStopSignal holds no goroutine back (the
// rare race it closes stays open there).
func threadID() int64 { return -1 }
