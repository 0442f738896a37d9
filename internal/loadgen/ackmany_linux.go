package loadgen

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

const haveEpoll = true

// ackClientState is one client of ackOverEpoll.
type ackClientState struct {
	rt      *roundTrip
	warm    int             // untimed round trips still to make
	latency []time.Duration // this client's share of the timed ones
	next    int             // index in latency of the round trip in flight
	sent    time.Time       // when it left
}

// ackOverEpoll drives every connection from one thread: each client has
// one echo in flight at a time, and the moment its ack is read the next
// one leaves. First every client makes its warm-up round trips (a tenth
// of its share, at least one); the clock starts when the last has
// finished, and runs until the last timed ack is in.
func ackOverEpoll(conns []*conn, size int, latency []time.Duration, quiet time.Duration) (time.Duration, float64, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return 0, 0, fmt.Errorf("epoll_create1: %s", sys.Describe(err))
	}
	defer closeFD(epfd)

	clients := make(map[int]*ackClientState, len(conns))
	from := 0
	for i, cn := range conns {
		share := len(latency) / len(conns)
		if i < len(latency)%len(conns) {
			share++
		}
		if err := unix.SetNonblock(cn.fd, true); err != nil {
			return 0, 0, fmt.Errorf("fcntl O_NONBLOCK: %s", sys.Describe(err))
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(cn.fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, cn.fd, &ev); err != nil {
			return 0, 0, fmt.Errorf("epoll_ctl ADD: %s", sys.Describe(err))
		}
		clients[cn.fd] = &ackClientState{rt: newRoundTrip(cn, size), warm: max(1, share/10),
			latency: latency[from : from+share]}
		from += share
	}

	// The warm-up, then the timed part, each until every client is done.
	warming := len(clients)
	for _, cl := range clients {
		if _, err := cl.rt.send(); err != nil {
			return 0, 0, fmt.Errorf("warm-up: %w", err)
		}
	}
	onAck := func(cl *ackClientState) error {
		cl.warm--
		if cl.warm > 0 {
			_, err := cl.rt.send()
			return err
		}
		warming--
		return nil
	}
	if err := ackLoop(epfd, clients, quiet, func() bool { return warming == 0 }, onAck); err != nil {
		return 0, 0, fmt.Errorf("warm-up: %w", err)
	}

	running := len(clients)
	clock := startClock()
	for _, cl := range clients {
		var err error
		if cl.sent, err = cl.rt.send(); err != nil {
			return 0, 0, err
		}
	}
	onAck = func(cl *ackClientState) error {
		cl.latency[cl.next] = time.Since(cl.sent)
		cl.next++
		if cl.next < len(cl.latency) {
			var err error
			cl.sent, err = cl.rt.send()
			return err
		}
		running--
		return nil
	}
	if err := ackLoop(epfd, clients, quiet, func() bool { return running == 0 }, onAck); err != nil {
		return 0, 0, err
	}
	elapsed, cpu := clock.stop()
	return elapsed, cpu, nil
}

// ackLoop: epoll_wait, then every ready client reads what it has and hands
// each ack it waited for to onAck, until done() or nothing arrives for quiet.
func ackLoop(epfd int, clients map[int]*ackClientState, quiet time.Duration,
	done func() bool, onAck func(*ackClientState) error) error {
	events := make([]unix.EpollEvent, 256)
	lastProgress := time.Now()
	for !done() {
		n, err := unix.EpollWait(epfd, events, 100)
		switch {
		case err == unix.EINTR:
			continue // Go's runtime signals threads now and then; wait again
		case err != nil:
			return fmt.Errorf("epoll_wait: %s", sys.Describe(err))
		case n == 0:
			if time.Since(lastProgress) > quiet {
				return fmt.Errorf("no ack arrived for %v", quiet)
			}
			continue
		}
		lastProgress = time.Now()
		for _, ev := range events[:n] {
			cl := clients[int(ev.Fd)]
			if err := readAcks(cl, onAck); err != nil {
				return fmt.Errorf("client fd %d: %w", cl.rt.cn.fd, err)
			}
		}
	}
	return nil
}

// readAcks reads once from a ready client and handles every whole packet
// it now holds. Level-triggered epoll brings the client back if more is
// waiting in the socket.
func readAcks(cl *ackClientState, onAck func(*ackClientState) error) error {
	cn := cl.rt.cn
	if err := cn.fill(); err != nil {
		if err == errQuiet { // EAGAIN: nothing after all
			return nil
		}
		return err
	}
	for {
		text, reply, n, err := cn.env.split(cn.in[cn.r:cn.w], cn.max)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		cn.r += n
		if text == nil { // a WebSocket ping
			if err := cn.write(reply); err != nil {
				return err
			}
			continue
		}
		matched, err := cl.rt.match(text)
		if err != nil {
			return err
		}
		if matched {
			if err := onAck(cl); err != nil {
				return err
			}
		}
	}
}
