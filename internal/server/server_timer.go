package server

import "time"

// AfterFunc runs f on the loop goroutine after d, the way a handler
// runs: what f emits is written when it returns. Call it on the loop
// goroutine (from a handler, or from f itself to run again); the timer
// is the loop's own, so it costs no wake-up call. The function it
// returns cancels it.
func (srv *Server) AfterFunc(d time.Duration, f func()) (cancel func()) {
	return srv.after(d, f).Stop
}
