package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// Input: from the bytes one read brought to the packets the handlers
// see, with three limits that a hostile client cannot talk its way
// around.
//
//  1. A frame that has not fully arrived is kept in a buffer of exactly
//     the size its length prefix announced, made once. (Growing it by
//     append as the bytes come, 64 KiB a read, would leave a trail of
//     garbage about as large as the frame.) The rest of the frame must
//     come within FrameTimeout of its first bytes.
//  2. Those buffers, for all connections together, stay under
//     InputBudget: past it, the connections holding the most are closed
//     with "input budget". Without it, a thousand clients that each
//     announce 1 MiB and send all but the last byte cost the server a
//     gigabyte, for as long as they care to wait.
//  3. One connection gets at most TurnTime of handler time (or
//     TurnPackets packets) per turn of the loop. The rest of its input
//     waits for its next turn, and the server stops reading from it
//     meanwhile, so that the waiting input stays in the kernel's buffer
//     and the peer's TCP window closes. Without it, a client streaming
//     an event that is cheap to send but slow to handle keeps the loop,
//     and every other client, waiting.
//
// After a burst of unfinished frames the Go runtime would keep the pages
// it got for them for minutes; releaseMemory gives them back to the
// kernel once the burst is over.

// The handler budget of one connection per turn of the loop. 1 ms is
// about a thousand echo round trips; one slow handler (a GC, a broadcast
// to everyone) uses a turn's budget on its own.
const (
	TurnPackets = 1024
	TurnTime    = time.Millisecond
)

// releaseAfter: once this much was held, and the total has fallen to an
// eighth of the budget, the free memory is given back to the kernel.
const releaseAfter = 8 << 20

// inputBudget is the server's account of the input it holds.
type inputBudget struct {
	held         int                // bytes, all connections together
	holders      map[*Conn]struct{} // connections holding any
	peak         int                // the most held since memory was last given back
	releaseTimer Stopper
}

// connInput is the input one connection holds: the frame that has not
// fully arrived, in a buffer of the size its prefix announced, and its
// deadline; and the input that arrived but waits for the connection's
// next turn.
type connInput struct {
	partial    []byte
	frameTimer Stopper
	waiting    []byte
	held       int // bytes of the two above charged to the input budget
}

// more returns the connection's input record, made on first use.
func (c *Conn) more() *connInput {
	if c.in == nil {
		c.in = new(connInput)
	}
	return c.in
}

// feed handles input in the connection's envelope.
func (t *Transport) feed(c *Conn, in []byte) {
	if c.hx != nil { // an HTTP request in progress (polling.go)
		t.httpData(c, in)
		return
	}
	if c.ws != nil {
		t.wsData(c, in)
		return
	}
	t.tcpFeed(c, in)
}

// tcpFeed handles the frames in `in`, which continues the connection's
// unfinished frame if it has one, within the connection's budget for
// this turn.
func (t *Transport) tcpFeed(c *Conn, in []byte) {
	start := t.loop.Now()
	packets := 0
	for len(in) > 0 && !c.closing {
		if packets >= TurnPackets || (packets > 0 && t.loop.Now()-start >= t.opts.TurnTime) {
			t.wait(c, in)
			return
		}
		if c.in != nil && c.in.partial != nil {
			var frame []byte
			frame, in = t.fill(c, in)
			if frame != nil {
				t.h.Packet(c, frame[wire.HeaderLen:])
				packets++
			}
			continue
		}
		_, n, err := wire.SplitFrame(in, t.opts.MaxPayload)
		if err != nil {
			t.refuse(c, err)
			return
		}
		if n == 0 {
			t.begin(c, in) // the rest of the frame is still on its way
			return
		}
		t.h.Packet(c, in[wire.HeaderLen:n])
		in = in[n:]
		packets++
	}
}

// refuse ends a connection whose length prefix was enough to refuse it:
// nothing of the frame's body was read or stored.
func (t *Transport) refuse(c *Conn, err error) {
	var tooLarge *wire.FrameTooLargeError
	if errors.As(err, &tooLarge) {
		t.h.Refused(c, wire.ReasonTooLarge+": "+err.Error())
	} else {
		t.h.Refused(c, wire.ReasonParseError+": "+err.Error())
	}
}

// begin keeps the start of a frame whose rest has not arrived, in a
// buffer of the frame's full size (or of the prefix's, while the prefix
// itself is not all there), and starts the frame's deadline.
func (t *Transport) begin(c *Conn, in []byte) {
	size := wire.HeaderLen
	if len(in) >= wire.HeaderLen {
		size += int(binary.BigEndian.Uint32(in)) // SplitFrame checked it
	}
	if !t.hold(c, size+cap(c.more().waiting)) {
		return // over the budget, and this was the largest
	}
	r := c.in
	r.partial = append(make([]byte, 0, size), in...)
	timeout := t.opts.FrameTimeout
	r.frameTimer = t.loop.AfterFunc(timeout, func() {
		r.frameTimer = nil
		if !c.closing && r.partial != nil {
			t.h.Refused(c, fmt.Sprintf("%s: %d of the frame's %d bytes came within %v", wire.ReasonFrameTimeout, len(r.partial), cap(r.partial), timeout))
		}
	})
}

// fill adds input to the unfinished frame. It returns the frame once it
// is whole, and the input after it.
func (t *Transport) fill(c *Conn, in []byte) (frame, rest []byte) {
	r := c.in
	if len(r.partial) < wire.HeaderLen {
		// Not even the length has come yet: complete it, check it, and
		// make the frame's buffer.
		k := min(wire.HeaderLen-len(r.partial), len(in))
		r.partial, in = append(r.partial, in[:k]...), in[k:]
		if len(r.partial) < wire.HeaderLen {
			return nil, in
		}
		if _, _, err := wire.SplitFrame(r.partial, t.opts.MaxPayload); err != nil {
			t.refuse(c, err)
			return nil, nil
		}
		size := wire.HeaderLen + int(binary.BigEndian.Uint32(r.partial))
		if !t.hold(c, size+cap(r.waiting)) {
			return nil, nil
		}
		r.partial = append(make([]byte, 0, size), r.partial...)
	}
	k := min(cap(r.partial)-len(r.partial), len(in))
	r.partial, in = append(r.partial, in[:k]...), in[k:]
	if len(r.partial) < cap(r.partial) {
		return nil, in
	}
	frame = r.partial
	r.partial = nil
	stop(&r.frameTimer)
	t.hold(c, cap(r.waiting))
	return frame, in
}

// wait keeps input the connection has no budget left for this turn,
// stops reading from it, and asks the loop for another turn.
func (t *Transport) wait(c *Conn, in []byte) {
	r := c.more()
	if !t.hold(c, c.unfinished()+max(cap(r.waiting), len(in))) {
		return
	}
	// in may be the end of r.waiting itself (when nextTurn is feeding
	// it): append then moves it to the front, which copy allows.
	r.waiting = append(r.waiting[:0], in...)
	if sys.Tracing() {
		sys.Note("%d: %d bytes wait for the next turn (this connection used its handler time); not reading from it meanwhile", c.fd, len(in))
	}
	c.link.PauseReading()
	t.loop.Post(func() { t.nextTurn(c) })
}

// nextTurn handles what waited, as if it had just been read; once
// nothing waits, reading from the connection goes on.
func (t *Transport) nextTurn(c *Conn) {
	r := c.in
	if !c.closing && r != nil && len(r.waiting) > 0 {
		in := r.waiting
		r.waiting = r.waiting[:0]
		t.feed(c, in)
		if !c.closing && len(r.waiting) == 0 {
			r.waiting = nil
			t.hold(c, c.unfinished())
			c.link.ResumeReading()
		}
	}
}

// unfinished is the size of the buffer of the frame (or request head) c
// has not fully received, which the input budget counts.
func (c *Conn) unfinished() int {
	n := 0
	if c.in != nil {
		n += cap(c.in.partial)
	}
	if c.ws != nil {
		n += cap(c.ws.pending) + cap(c.ws.head)
	}
	return n
}

// waitingCap is the size of the input c keeps for its next turn.
func (c *Conn) waitingCap() int {
	if c.in == nil {
		return 0
	}
	return cap(c.in.waiting)
}

// release lets go of all the input a connection holds; for one that
// ends.
func (t *Transport) release(c *Conn) {
	if c.in == nil {
		return
	}
	r := c.in
	r.partial, r.waiting = nil, nil
	stop(&r.frameTimer)
	t.hold(c, 0)
}

// hold sets how many bytes of the input budget c holds to n. When the
// total goes over the budget, it has the connections holding the most
// (c first when it is one of them) ended until it is not. It reports
// whether c is still open.
func (t *Transport) hold(c *Conn, n int) bool {
	b := &t.input
	r := c.more()
	if c.closing {
		n = 0
	}
	b.held += n - r.held
	r.held = n
	if n > 0 {
		b.holders[c] = struct{}{}
	} else {
		delete(b.holders, c)
	}
	b.peak = max(b.peak, b.held)
	for b.held > t.opts.InputBudget {
		largest := c
		for h := range b.holders {
			if h.in.held > largest.in.held {
				largest = h
			}
		}
		held := b.held
		t.h.Refused(largest, fmt.Sprintf("%s: the server holds %d bytes of unfinished input, over its budget of %d; this connection held the most (%d)",
			wire.ReasonInputBudget, held, t.opts.InputBudget, largest.in.held))
		if largest.in.held > 0 { // ending it did not release it (it was ending already)
			largest.closing = true
			t.release(largest)
		}
	}
	if b.held <= t.opts.InputBudget/8 && b.peak >= releaseAfter && b.releaseTimer == nil {
		b.releaseTimer = t.loop.AfterFunc(time.Second, t.releaseMemory)
	}
	return !c.closing
}

// releaseMemory gives the pages the unfinished frames used back to the
// kernel, a second after a burst of them ended. The garbage collector
// would free them for the Go heap soon enough, but the runtime keeps
// freed pages for minutes before returning them, and the server's RSS
// stays at the burst's peak meanwhile. It costs one garbage collection on
// the loop goroutine, once per burst.
func (t *Transport) releaseMemory() {
	b := &t.input
	b.releaseTimer = nil
	if b.held > t.opts.InputBudget/8 {
		return // a new burst: the next drop will try again
	}
	debug.FreeOSMemory()
	b.peak = b.held
}

func stop(t *Stopper) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}
