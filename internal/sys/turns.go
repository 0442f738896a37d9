package sys

import (
	"sync"
	"time"
)

// Turns is for a client that sends and receives at once, UNP's str_cli
// in two goroutines: one copies stdin to the socket, the other copies
// the socket to stdout. Both directions must run together, or a big
// input deadlocks (the server echoes while we still send; if nobody
// reads the echo, the buffers between us fill and both writes wait
// forever).
//
// Run free, the two race in the trace: for `printf 'hello\n' | tcpclient`
// the echo often comes back while the sender is still finding the end of
// stdin, and read would come before shutdown in some runs and after it
// in others. So the receiver waits for its turn: until the sender is
// done, or stuck for StallTime (waiting for stdin, or for room in the
// socket's buffer). At a terminal a person types far slower than any of
// this, and the receiver starts at once. Only the order of the trace
// depends on this; the data does not.
type Turns struct {
	receiverTurn chan struct{} // closed: the receiver may read
	given        sync.Once
	sent         chan struct{} // closed: the sender is done
}

// StallTime is how long the sender may wait before the receiver starts
// anyway.
const StallTime = 500 * time.Millisecond

// NewTurns starts with the sender's turn, or with both at once when
// stdin is a terminal.
func NewTurns() *Turns {
	t := &Turns{receiverTurn: make(chan struct{}), sent: make(chan struct{})}
	if IsTerminal(0) {
		t.LetReceive()
	}
	return t
}

// MayStall is called before a step of the sender that may wait
// (reading stdin, a write to a full socket); if the step is not over
// within StallTime, the receiver starts meanwhile. Stop the returned
// timer when the step is over:
//
//	stuck := turns.MayStall()
//	n, err := os.Stdin.Read(buf)
//	stuck.Stop()
func (t *Turns) MayStall() *time.Timer { return time.AfterFunc(StallTime, t.LetReceive) }

// LetReceive lets the receiver start now; calling it again does nothing.
func (t *Turns) LetReceive() { t.given.Do(func() { close(t.receiverTurn) }) }

// SenderDone is the sender's last call: it has sent its FIN (or failed).
func (t *Turns) SenderDone() {
	t.LetReceive()
	close(t.sent)
}

// ReceiverWaits waits for the receiver's turn; the receiver calls it
// before its first read.
func (t *Turns) ReceiverWaits() { <-t.receiverTurn }

// WaitForSender waits until the sender is done, so that the socket is
// closed only after both directions are.
func (t *Turns) WaitForSender() { <-t.sent }
