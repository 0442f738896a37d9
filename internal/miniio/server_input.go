package miniio

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
//  3. One connection gets at most turnTime of handler time (or
//     turnPackets packets) per turn of the loop. The rest of its input
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
	turnPackets = 1024
	turnTime    = time.Millisecond
)

// releaseAfter: once this much was held, and the total has fallen to an
// eighth of the budget, the free memory is given back to the kernel.
const releaseAfter = 8 << 20

// inputBudget is the server's account of the input it holds.
type inputBudget struct {
	held         int                  // bytes, all sockets together
	holders      map[*Socket]struct{} // sockets holding any
	peak         int                  // the most held since memory was last given back
	releaseTimer stopper
}

// data handles the bytes a read brought. It uses all of them: what cannot
// be handled now is kept by the socket (an unfinished frame, or input
// waiting for the next turn).
func (srv *Server) data(s *Socket, in []byte) int {
	srv.feed(s, in)
	return len(in)
}

// feed handles the frames in `in`, which continues the socket's
// unfinished frame if it has one, within the socket's budget for this
// turn.
func (srv *Server) feed(s *Socket, in []byte) {
	start := srv.loop.Now()
	packets := 0
	for len(in) > 0 && s.state < stateClosing {
		if packets >= turnPackets || (packets > 0 && srv.loop.Now()-start >= turnTime) {
			srv.wait(s, in)
			return
		}
		if s.rare != nil && s.rare.partial != nil {
			var frame []byte
			frame, in = srv.fill(s, in)
			if frame != nil {
				srv.frame(s, frame)
				packets++
			}
			continue
		}
		_, n, err := wire.SplitFrame(in, srv.opts.MaxPayload)
		if err != nil {
			srv.refuse(s, err)
			return
		}
		if n == 0 {
			srv.begin(s, in) // the rest of the frame is still on its way
			return
		}
		srv.frame(s, in[:n])
		in = in[n:]
		packets++
	}
}

// frame hands one whole frame (prefix and text) to the packet handling.
func (srv *Server) frame(s *Socket, frame []byte) {
	if srv.opts.OnFrame != nil {
		srv.opts.OnFrame(s, false, frame)
	}
	s.packet(frame[wire.HeaderLen:])
}

// refuse closes a connection whose length prefix was enough to refuse
// it: nothing of the frame's body was read or stored.
func (srv *Server) refuse(s *Socket, err error) {
	var tooLarge *wire.FrameTooLargeError
	if errors.As(err, &tooLarge) {
		s.closeWith(ReasonTooLarge + ": " + err.Error())
	} else {
		s.closeWith(ReasonParseError + ": " + err.Error())
	}
}

// begin keeps the start of a frame whose rest has not arrived, in a
// buffer of the frame's full size (or of the prefix's, while the prefix
// itself is not all there), and starts the frame's deadline.
func (srv *Server) begin(s *Socket, in []byte) {
	size := wire.HeaderLen
	if len(in) >= wire.HeaderLen {
		size += int(binary.BigEndian.Uint32(in)) // SplitFrame checked it
	}
	if !srv.hold(s, size+cap(s.more().waiting)) {
		return // over the budget, and this was the largest
	}
	r := s.rare
	r.partial = append(make([]byte, 0, size), in...)
	timeout := srv.opts.FrameTimeout
	r.frameTimer = srv.after(timeout, func() {
		r.frameTimer = nil
		if s.state < stateClosing && r.partial != nil {
			s.closeWith(fmt.Sprintf("%s: %d of the frame's %d bytes came within %v", ReasonFrameTimeout, len(r.partial), cap(r.partial), timeout))
		}
	})
}

// fill adds input to the unfinished frame. It returns the frame once it
// is whole, and the input after it.
func (srv *Server) fill(s *Socket, in []byte) (frame, rest []byte) {
	r := s.rare
	if len(r.partial) < wire.HeaderLen {
		// Not even the length has come yet: complete it, check it, and
		// make the frame's buffer.
		k := min(wire.HeaderLen-len(r.partial), len(in))
		r.partial, in = append(r.partial, in[:k]...), in[k:]
		if len(r.partial) < wire.HeaderLen {
			return nil, in
		}
		if _, _, err := wire.SplitFrame(r.partial, srv.opts.MaxPayload); err != nil {
			srv.refuse(s, err)
			return nil, nil
		}
		size := wire.HeaderLen + int(binary.BigEndian.Uint32(r.partial))
		if !srv.hold(s, size+cap(r.waiting)) {
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
	srv.hold(s, cap(r.waiting))
	return frame, in
}

// wait keeps input the socket has no budget left for this turn, stops
// reading from it, and asks the loop for another turn.
func (srv *Server) wait(s *Socket, in []byte) {
	r := s.more()
	if !srv.hold(s, cap(r.partial)+max(cap(r.waiting), len(in))) {
		return
	}
	// in may be the end of r.waiting itself (when nextTurn is feeding
	// it): append then moves it to the front, which copy allows.
	r.waiting = append(r.waiting[:0], in...)
	if sys.Tracing() {
		sys.Note("%d: %d bytes wait for the next turn (this connection used its handler time); not reading from it meanwhile", s.fd, len(in))
	}
	s.c.PauseReading()
	srv.loop.Post(func() { srv.nextTurn(s) })
}

// nextTurn handles what waited, as if it had just been read; once
// nothing waits, reading from the socket goes on.
func (srv *Server) nextTurn(s *Socket) {
	srv.enter()
	r := s.rare
	if s.state < stateClosing && len(r.waiting) > 0 {
		in := r.waiting
		r.waiting = r.waiting[:0]
		srv.feed(s, in)
		if s.state < stateClosing && len(r.waiting) == 0 {
			r.waiting = nil
			srv.hold(s, cap(r.partial))
			s.c.ResumeReading()
		}
	}
	srv.drain()
}

// release lets go of all the input a socket holds; for a socket that
// ends.
func (srv *Server) release(s *Socket) {
	if s.rare == nil {
		return
	}
	r := s.rare
	r.partial, r.waiting = nil, nil
	stop(&r.frameTimer)
	srv.hold(s, 0)
}

// hold sets how many bytes of the input budget s holds to n. When the
// total goes over the budget, it closes the connections holding the most
// (s first when it is one of them) until it is not. It reports whether s
// is still open.
func (srv *Server) hold(s *Socket, n int) bool {
	b := &srv.input
	r := s.more()
	if s.state >= stateClosing {
		n = 0
	}
	b.held += n - r.held
	r.held = n
	if n > 0 {
		b.holders[s] = struct{}{}
	} else {
		delete(b.holders, s)
	}
	b.peak = max(b.peak, b.held)
	for b.held > srv.opts.InputBudget {
		largest := s
		for h := range b.holders {
			if h.rare.held > largest.rare.held {
				largest = h
			}
		}
		held := b.held
		largest.closeWith(fmt.Sprintf("%s: the server holds %d bytes of unfinished input, over its budget of %d; this connection held the most (%d)",
			ReasonInputBudget, held, srv.opts.InputBudget, largest.rare.held))
		if largest.rare.held > 0 { // closing did not release it (it was closing already)
			srv.release(largest)
		}
	}
	if b.held <= srv.opts.InputBudget/8 && b.peak >= releaseAfter && b.releaseTimer == nil {
		b.releaseTimer = srv.after(time.Second, srv.releaseMemory)
	}
	return s.state < stateClosing
}

// releaseMemory gives the pages the unfinished frames used back to the
// kernel, a second after a burst of them ended. The garbage collector
// would free them for the Go heap soon enough, but the runtime keeps
// freed pages for minutes before returning them, and the server's RSS
// stays at the burst's peak meanwhile. It costs one garbage collection on
// the loop goroutine, once per burst.
func (srv *Server) releaseMemory() {
	b := &srv.input
	b.releaseTimer = nil
	if b.held > srv.opts.InputBudget/8 {
		return // a new burst: the next drop will try again
	}
	debug.FreeOSMemory()
	b.peak = b.held
}
