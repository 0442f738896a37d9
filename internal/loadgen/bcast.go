package loadgen

import (
	"fmt"

	"socklab/internal/wire"
)

// BcastResult is the bcast workload's JSON line.
type BcastResult struct {
	Workload  string  `json:"workload"`
	Envelope  string  `json:"envelope,omitempty"` // "tcp" or "websocket"
	Receivers int     `json:"receivers"`
	Messages  int     `json:"messages"`
	Delivered int     `json:"delivered"`
	Expected  int     `json:"expected"`
	Seconds   float64 `json:"seconds"`
	PerSec    int64   `json:"per_sec"`
	ClientCPU float64 `json:"client_cpu"`
	Error     string  `json:"error,omitempty"`
}

func (r *BcastResult) Failed() string { return r.Error }

func (r *BcastResult) Summary() string {
	return fmt.Sprintf("bcast: %d receivers × %d messages: %s of %s deliveries in %.3f s = %s deliveries/s (load generator CPU %.2f)",
		r.Receivers, r.Messages, thousands(int64(r.Delivered)), thousands(int64(r.Expected)),
		r.Seconds, thousands(r.PerSec), r.ClientCPU)
}

// runBcast: `receivers` connections listen, one more sends. One untimed
// warm-up broadcast that every receiver must get (it also proves the server
// has every receiver registered); then the clock runs from the first of
// `messages` back-to-back bcast emits to the last delivery.
//
// Afterwards, untimed, every connection asks the server an echo with an
// ack. The server handles a connection's packets in order and writes its
// output in order, so once that ack is in, anything the server meant for
// this connection before it has arrived too: a receiver that got an extra
// copy, or a sender that got its own broadcast, is caught for certain
// rather than by waiting and hoping.
func runBcast(c Config) Result {
	n, m := c.Receivers, c.Messages
	r := &BcastResult{Workload: "bcast", Receivers: n, Messages: m, Expected: n * m}
	fail := func(format string, args ...any) Result {
		r.Error = fmt.Sprintf(format, args...)
		return r
	}
	if err := raiseFileLimit(n + 64); err != nil {
		return fail("%v", err)
	}

	// Several servers (one cluster): receivers round robin, the sender on
	// the first, so most deliveries cross the cluster's bus.
	ts, err := c.targets()
	if err != nil {
		return fail("%v", err)
	}
	t := ts[0]
	arg := payload(c.Size)
	want, err := wire.AppendEvent(nil, wire.NoAck, "msg", arg)
	if err != nil {
		return fail("%v", err)
	}
	set, err := newReceiverSet(want, c.Timeout)
	if err != nil {
		return fail("%v", err)
	}
	defer set.close()
	for i := range n {
		cn, err := dial(ts[i%len(ts)], c.Timeout, smallBuffer)
		if err != nil {
			return fail("receiver %d of %d: %v", i+1, n, err)
		}
		if err := set.add(cn); err != nil {
			return fail("receiver %d of %d: %v", i+1, n, err)
		}
	}
	sender, err := dial(t, c.Timeout, bigBuffer)
	if err != nil {
		return fail("sender: %v", err)
	}
	defer sender.close()
	r.Envelope = sender.env.name()

	// One bcast frame; over WebSocket each call masks with a new key.
	appendBcast := func(buf []byte) []byte {
		buf, mark := sender.env.begin(buf)
		buf, _ = wire.AppendEvent(buf, wire.NoAck, "bcast", arg) // a plain string argument cannot fail
		return sender.env.end(buf, mark)
	}
	frame := appendBcast(nil)

	// Warm-up: one broadcast, every receiver must get it.
	set.expect(1)
	if err := sender.write(frame); err != nil {
		return fail("sender: warm-up: %v", err)
	}
	if _, err := set.wait(); err != nil {
		return fail("warm-up broadcast: %v", err)
	}

	// The timed part: all M emits in as few write(2)s as the kernel takes.
	burst := make([]byte, 0, m*len(frame))
	for range m {
		burst = appendBcast(burst)
	}
	set.expect(m)
	clock := startClock()
	if err := sender.write(burst); err != nil {
		return fail("sender: %v", err)
	}
	last, err := set.wait()
	_, cpu := clock.stop()
	r.Delivered = set.delivered
	if err != nil {
		return fail("%v", err)
	}
	elapsed := last.Sub(clock.wall)
	r.Seconds = round(elapsed.Seconds(), 6)
	r.PerSec = perSec(r.Delivered, elapsed)
	r.ClientCPU = cpu

	// The checks, untimed.
	toSender, err := sender.countUntilAck(want, arg)
	if err != nil {
		return fail("sender: %v", err)
	}
	if err := set.barrier(arg); err != nil {
		return fail("%v", err)
	}
	r.Delivered = set.delivered
	if short, extra := set.miscounted(); short+extra > 0 {
		return fail("%d receivers got fewer than %d messages and %d got more", short, m, extra)
	}
	if set.wrong > 0 {
		return fail("%d deliveries carried something other than the payload", set.wrong)
	}
	if toSender > 0 {
		return fail("the sender got %d of its own broadcasts", toSender)
	}
	return r
}

// countUntilAck emits echo with an ack and reads up to its answer,
// counting the packets on the way whose text is `msg` (what a broadcast
// delivers). A connection's packets come out of the server in order, so
// this counts every `msg` the server queued for us before the echo.
func (c *conn) countUntilAck(msg []byte, arg []byte) (int, error) {
	id := c.acks
	c.acks++
	out, mark := c.env.begin(c.out[:0])
	out, err := wire.AppendEvent(out, id, "echo", arg)
	if err != nil {
		return 0, err
	}
	c.out = c.env.end(out, mark)
	if err := c.write(c.out); err != nil {
		return 0, err
	}
	seen := 0
	for {
		p, err := c.next()
		if err != nil {
			return seen, fmt.Errorf("waiting for the ack of echo: %w", err)
		}
		switch {
		case p.Socket == wire.Ack && p.AckID == id:
			return seen, nil
		case p.Socket == wire.Event && p.Event == "msg":
			seen++
		}
	}
}
