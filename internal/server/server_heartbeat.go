package server

import (
	"fmt"
	"time"

	"socklab/internal/wire"
)

// The heartbeat. TCP alone does not notice a peer that vanished without a
// word (a laptop closed, a cable pulled, a process stopped): nothing is
// sent, so nothing fails. So the server asks: PING every pingInterval,
// and a peer that has not answered PONG within pingTimeout is gone.
//
// Every connection has its own PING schedule, but not its own timer. A
// timer per connection would cost each idle connection a timer, a
// closure and a slot in the loop's timer heap (about 100 bytes, almost a
// tenth of what an idle connection holds), and ten thousand heap entries
// to sort. Instead the server keeps two queues, one of connections
// waiting to be pinged and one of connections waiting for their PONG,
// with one loop timer each, set for the first connection in line.
//
// Why a plain queue is enough, no sorting: every connection joins the
// ping queue with the deadline "now + pingInterval", and pingInterval is
// the same for all, so whoever joins later is due later. The same goes
// for the pong queue and pingTimeout. Each queue is therefore always in
// deadline order: the timer only ever looks at the front. A connection
// that answers, or ends, steps out of the middle of its queue in one
// step, because the queue is a doubly linked list threaded through the
// sockets themselves (hbPrev, hbNext): no memory beyond those fields.

// hbQueue is one of the two queues: sockets in deadline order.
type hbQueue struct {
	srv        *Server
	head, tail *Socket
	interval   time.Duration   // pingInterval or pingTimeout
	due        func(s *Socket) // what to do when a socket's time has come
	timer      stopper         // set for the front's deadline, or earlier; nil when none is set
}

// Which queue a socket is in (Socket.hbIn).
const (
	inNoQueue   uint8 = iota
	inPingQueue       // waiting to be sent PING
	inPongQueue       // waiting for its PONG
)

func (srv *Server) initHeartbeat() {
	srv.pingQ = hbQueue{srv: srv, interval: srv.opts.PingInterval, due: (*Socket).ping}
	srv.pongQ = hbQueue{srv: srv, interval: srv.opts.PingTimeout, due: (*Socket).pingTimeout}
}

func (srv *Server) hbQueueOf(in uint8) *hbQueue {
	if in == inPingQueue {
		return &srv.pingQ
	}
	return &srv.pongQ
}

// push puts s at the back of the queue, due one interval from now.
func (q *hbQueue) push(s *Socket, in uint8) {
	s.hbDue = q.srv.loop.Now() + q.interval
	s.hbIn = in
	s.hbPrev, s.hbNext = q.tail, nil
	if q.tail != nil {
		q.tail.hbNext = s
	} else {
		q.head = s
	}
	q.tail = s
	if q.timer == nil {
		q.arm()
	}
}

// hbRemove takes s out of whichever queue it is in, if any. A timer set
// for it stays: when it fires it finds nobody due and is set again for the
// new front, which is cheaper than resetting it on every PONG.
func (s *Socket) hbRemove() {
	if s.hbIn == inNoQueue {
		return
	}
	q := s.srv.hbQueueOf(s.hbIn)
	if s.hbPrev != nil {
		s.hbPrev.hbNext = s.hbNext
	} else {
		q.head = s.hbNext
	}
	if s.hbNext != nil {
		s.hbNext.hbPrev = s.hbPrev
	} else {
		q.tail = s.hbPrev
	}
	s.hbPrev, s.hbNext, s.hbIn = nil, nil, inNoQueue
}

// arm sets the queue's timer for its front socket's deadline.
func (q *hbQueue) arm() {
	if q.head == nil {
		return
	}
	wait := q.head.hbDue - q.srv.loop.Now()
	if wait < 0 {
		wait = 0
	}
	q.timer = q.srv.after(wait, q.fire)
}

// fire handles every socket whose deadline has come, in order, then sets
// the timer for the next one. Each is taken out of the queue before its
// action runs, so the action may put it in the other queue.
func (q *hbQueue) fire() {
	q.timer = nil
	now := q.srv.loop.Now()
	for q.head != nil && q.head.hbDue <= now {
		s := q.head
		s.hbRemove()
		q.due(s)
	}
	if q.timer == nil {
		q.arm()
	}
}

// schedulePing starts the wait for the socket's next PING.
func (s *Socket) schedulePing() { s.srv.pingQ.push(s, inPingQueue) }

// ping sends PING and starts the wait for PONG.
func (s *Socket) ping() {
	if s.state >= stateClosing {
		return
	}
	s.send(s.srv.pingPacket)
	if s.state < stateClosing { // the send may have ended a slow consumer
		s.srv.pongQ.push(s, inPongQueue)
	}
}

// pingTimeout: no PONG came within pingTimeout.
func (s *Socket) pingTimeout() {
	s.closeWith(fmt.Sprintf("%s: no PONG within %v", wire.ReasonPingTimeout, s.srv.opts.PingTimeout))
}

// pong is the client's answer: the next PING is one interval from now.
func (s *Socket) pong() {
	if s.hbIn != inPongQueue {
		return // a PONG nobody asked for: harmless
	}
	s.hbRemove()
	s.schedulePing()
}
