package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// receiverSet is bcast's receiving side: every receiver's socket in one
// epoll set, read by one goroutine. A thousand receivers then cost one
// thread and one epoll_wait per burst of readiness, not a thousand
// blocked threads taking turns on two cores.
type receiverSet struct {
	epfd    int
	byFD    map[int]*receiver
	events  []unix.EpollEvent
	readBuf []byte // one big scratch buffer that every read shares
	want    []byte // the packet text of one delivery: 42["msg","xx…"]
	quiet   time.Duration

	target    int       // messages each receiver should have now
	complete  int       // receivers that have exactly target
	delivered int       // `msg` events with the right payload, all receivers
	wrong     int       // `msg` events with some other payload
	last      time.Time // when the last receiver completed
	acked     int       // receivers whose barrier echo came back
}

// receiver is one connection's state in the set.
type receiver struct {
	fd      int
	env     envelope // TCP frames or WebSocket messages, as the connection was made
	max     int      // the server's maxPayload
	partial []byte   // the start of a frame whose end has not arrived yet
	got     int      // `msg` deliveries since the last expect
	ackID   int      // the barrier echo's ack id, -1 when none is out
	acked   bool
}

func newReceiverSet(want []byte, quiet time.Duration) (*receiverSet, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %s", sys.Describe(err))
	}
	return &receiverSet{
		epfd:    epfd,
		byFD:    make(map[int]*receiver),
		events:  make([]unix.EpollEvent, 256),
		readBuf: make([]byte, 256<<10),
		want:    want,
		quiet:   quiet,
	}, nil
}

// add takes over a connection that has finished its handshake: its socket
// turns non-blocking and joins the epoll set (level-triggered EPOLLIN).
func (s *receiverSet) add(cn *conn) error {
	if err := unix.SetNonblock(cn.fd, true); err != nil {
		return fmt.Errorf("fcntl O_NONBLOCK: %s", sys.Describe(err))
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(cn.fd)}
	if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, cn.fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl ADD: %s", sys.Describe(err))
	}
	rc := &receiver{fd: cn.fd, env: cn.env, max: cn.max, ackID: -1}
	s.byFD[cn.fd] = rc
	// Bytes that came in right behind the handshake belong to the stream.
	if cn.w > cn.r {
		rc.partial = append(rc.partial, cn.in[cn.r:cn.w]...)
		return s.consume(rc, nil)
	}
	return nil
}

// expect starts a new round: every receiver should now get `target`
// messages, counted from zero.
func (s *receiverSet) expect(target int) {
	s.target, s.complete, s.delivered = target, 0, 0
	for _, rc := range s.byFD {
		rc.got = 0
	}
}

// wait reads until every receiver has its target, and returns when the
// last one got there. It fails when nothing arrives for `quiet`.
func (s *receiverSet) wait() (time.Time, error) {
	err := s.loop(func() bool { return s.complete == len(s.byFD) })
	if err == errNoData {
		err = fmt.Errorf("nothing arrived for %v: %d of %d receivers have all %d messages (%d deliveries)",
			s.quiet, s.complete, len(s.byFD), s.target, s.delivered)
	}
	return s.last, err
}

// barrier sends every receiver an echo with an ack and waits for all the
// answers; see runBcast for why.
func (s *receiverSet) barrier(arg []byte) error {
	const id = 1 // the receivers emit nothing else that wants an ack
	s.acked = 0
	var frame []byte
	for _, rc := range s.byFD {
		rc.ackID, rc.acked = id, false
		frame, mark := rc.env.begin(frame[:0])
		frame, err := wire.AppendEvent(frame, id, "echo", arg)
		if err != nil {
			return err
		}
		frame = rc.env.end(frame, mark)
		if err := writeNonblocking(rc.fd, frame); err != nil {
			return fmt.Errorf("receiver fd %d: echo: %w", rc.fd, err)
		}
	}
	err := s.loop(func() bool { return s.acked == len(s.byFD) })
	if err == errNoData {
		err = fmt.Errorf("nothing arrived for %v: %d of %d receivers have the ack of their echo",
			s.quiet, s.acked, len(s.byFD))
	}
	return err
}

// miscounted says how many receivers got fewer or more than the target.
func (s *receiverSet) miscounted() (short, extra int) {
	for _, rc := range s.byFD {
		switch {
		case rc.got < s.target:
			short++
		case rc.got > s.target:
			extra++
		}
	}
	return short, extra
}

func (s *receiverSet) close() {
	for fd := range s.byFD {
		closeFD(fd)
	}
	closeFD(s.epfd)
}

// errNoData: the server has sent none of the receivers anything for the
// whole -timeout.
var errNoData = errors.New("no data")

// loop is the event loop: epoll_wait, then one read per ready socket,
// until done() holds or nothing arrives for s.quiet.
func (s *receiverSet) loop(done func() bool) error {
	lastProgress := time.Now()
	for !done() {
		n, err := unix.EpollWait(s.epfd, s.events, 100)
		switch {
		case err == unix.EINTR:
			continue // Go's runtime signals threads now and then; wait again
		case err != nil:
			return fmt.Errorf("epoll_wait: %s", sys.Describe(err))
		case n == 0:
			if time.Since(lastProgress) > s.quiet {
				return errNoData
			}
			continue
		}
		lastProgress = time.Now()
		for _, ev := range s.events[:n] {
			rc := s.byFD[int(ev.Fd)]
			if err := s.read(rc); err != nil {
				return err
			}
		}
	}
	return nil
}

// read takes what one receiver's socket holds (one read(2); level
// triggering brings us back if more is left) and counts the packets.
func (s *receiverSet) read(rc *receiver) error {
	n, err := unix.Read(rc.fd, s.readBuf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return nil // nothing after all, or a signal: epoll will say again
	case err != nil:
		return fmt.Errorf("receiver fd %d: read: %s", rc.fd, sys.Describe(err))
	case n == 0:
		return fmt.Errorf("receiver fd %d: the server closed the connection", rc.fd)
	}
	return s.consume(rc, s.readBuf[:n])
}

// consume cuts whole frames off the receiver's partial frame plus data,
// and keeps the unfinished rest for next time.
func (s *receiverSet) consume(rc *receiver, data []byte) error {
	if len(rc.partial) > 0 {
		rc.partial = append(rc.partial, data...)
		data = rc.partial
	}
	for {
		text, reply, used, err := rc.env.split(data, rc.max)
		if err != nil {
			return fmt.Errorf("receiver fd %d: %v", rc.fd, err)
		}
		if used == 0 {
			break
		}
		data = data[used:]
		if text == nil { // a WebSocket ping
			if err := writeNonblocking(rc.fd, reply); err != nil {
				return fmt.Errorf("receiver fd %d: pong: %w", rc.fd, err)
			}
			continue
		}
		if err := s.packet(rc, text); err != nil {
			return err
		}
	}
	// copy, not append: data may already point into rc.partial.
	rest := len(data)
	if cap(rc.partial) < rest {
		rc.partial = make([]byte, 0, rest)
	}
	rc.partial = rc.partial[:rest]
	copy(rc.partial, data)
	return nil
}

// packet handles one packet; the common case is a delivery whose text is
// exactly want, counted without parsing it.
func (s *receiverSet) packet(rc *receiver, text []byte) error {
	if bytes.Equal(text, s.want) {
		s.count(rc)
		return nil
	}
	p, err := wire.ParsePacket(text)
	if err != nil {
		return fmt.Errorf("receiver fd %d: bad packet %q: %v", rc.fd, clip(text), err)
	}
	switch {
	case p.Engine == wire.Ping:
		return writeNonblocking(rc.fd, rc.env.pong())
	case p.Engine == wire.Close:
		return fmt.Errorf("receiver fd %d: the server closed the session: %q", rc.fd, p.Reason)
	case p.Engine != wire.Message:
		return fmt.Errorf("receiver fd %d: unexpected packet %q", rc.fd, clip(text))
	case p.Socket == wire.Event && p.Event == "msg":
		s.wrong++ // a msg, but not with our payload
	case p.Socket == wire.Ack && p.AckID == rc.ackID && !rc.acked:
		rc.acked = true
		s.acked++
	case p.Socket == wire.Event:
		// Some other event: a socket.io client with no handler for it
		// drops it too.
	default:
		return fmt.Errorf("receiver fd %d: unexpected packet %q", rc.fd, clip(text))
	}
	return nil
}

func (s *receiverSet) count(rc *receiver) {
	rc.got++
	s.delivered++
	if rc.got == s.target {
		s.complete++
		if s.complete == len(s.byFD) {
			s.last = time.Now()
		}
	}
}

// writeNonblocking sends a small frame on a non-blocking socket. It fits
// in any socket buffer that is not already full; a full one means the
// server stopped reading from us, which is an error worth reporting.
func writeNonblocking(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return errors.New("the server stopped reading (send buffer full)")
		case err != nil:
			return fmt.Errorf("write: %s", sys.Describe(err))
		}
		p = p[n:]
	}
	return nil
}
