package loadgen

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"socklab/internal/wire"
)

// AckResult is the ack workload's JSON line.
type AckResult struct {
	Workload  string  `json:"workload"`
	Envelope  string  `json:"envelope,omitempty"` // "tcp" or "websocket"
	Clients   int     `json:"clients,omitempty"`
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	PerSec    int64   `json:"per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	ClientCPU float64 `json:"client_cpu"`
	Error     string  `json:"error,omitempty"`
}

func (r *AckResult) Failed() string { return r.Error }

func (r *AckResult) Summary() string {
	clients := "1 client"
	if r.Clients > 1 {
		clients = fmt.Sprintf("%d clients, each", r.Clients)
	}
	return fmt.Sprintf("ack: %d round trips in %.3f s = %s/s; p50 %.1f µs, p99 %.1f µs; %s one at a time over %s (load generator CPU %.2f)",
		r.Count, r.Seconds, thousands(r.PerSec), r.P50us, r.P99us, clients, r.Envelope, r.ClientCPU)
}

// runAck: `clients` connections (one unless -c says more), each making
// emit("echo", payload) round trips one after another: the next emit
// leaves only when the last ack is in. The -count round trips are shared
// out among the clients. Each round trip is timed on its own, from just
// before write(2) to just after the read that completed the ACK; the rate
// is all of them over the time from the start signal to the last one.
//
// One client is a goroutine locked to its thread: a read that blocks
// parks the thread in the kernel, and the wake-up comes straight back to
// it, the shortest path there is. Many clients share one epoll loop on
// Linux (ackOverEpoll): a thread per client was tried first, and with 100
// of them on two cores the generator spent most of a core waking threads
// (client_cpu 0.82) and capped every server near the same rate. Elsewhere
// each client keeps a thread of its own.
func runAck(c Config) Result {
	clients := max(1, c.Clients)
	r := &AckResult{Workload: "ack", Count: c.Count, Clients: clients}
	t, err := c.target()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if err := raiseFileLimit(clients + 64); err != nil {
		r.Error = err.Error()
		return r
	}
	conns := make([]*conn, 0, clients)
	defer func() {
		for _, cn := range conns {
			cn.close()
		}
	}()
	for i := range clients {
		cn, err := dial(t, c.Timeout, bigBuffer)
		if err != nil {
			r.Error = fmt.Sprintf("client %d of %d: %v", i+1, clients, err)
			return r
		}
		conns = append(conns, cn)
	}
	r.Envelope = conns[0].env.name()

	latency := make([]time.Duration, c.Count)
	if clients > 1 && haveEpoll {
		elapsed, cpu, err := ackOverEpoll(conns, c.Size, latency, c.Timeout)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		r.fill(latency, elapsed, cpu)
		return r
	}
	errs := make([]error, clients)
	var warm, done sync.WaitGroup
	start := make(chan struct{})
	from := 0
	for i, cn := range conns {
		share := c.Count / clients
		if i < c.Count%clients {
			share++
		}
		mine := latency[from : from+share]
		from += share
		warm.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			errs[i] = ackClient(cn, c.Size, mine, &warm, start)
		}()
	}
	warm.Wait()
	clock := startClock()
	close(start)
	done.Wait()
	elapsed, cpu := clock.stop()
	for i, err := range errs {
		if err != nil {
			if clients > 1 {
				err = fmt.Errorf("client %d of %d: %w", i+1, clients, err)
			}
			r.Error = err.Error()
			return r
		}
	}

	r.fill(latency, elapsed, cpu)
	return r
}

// fill sets the result's numbers from the timed round trips.
func (r *AckResult) fill(latency []time.Duration, elapsed time.Duration, cpu float64) {
	slices.Sort(latency)
	r.Seconds = round(elapsed.Seconds(), 6)
	r.PerSec = perSec(len(latency), elapsed)
	r.P50us = micros(percentile(latency, 0.50))
	r.P99us = micros(percentile(latency, 0.99))
	r.ClientCPU = cpu
}

// ackClient is one client of runAck: an untimed warm-up of a tenth of its
// share (at least one), then warm.Done, then, once start closes, its
// share of timed round trips into latency.
func ackClient(cn *conn, size int, latency []time.Duration, warm *sync.WaitGroup, start <-chan struct{}) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rt := newRoundTrip(cn, size)
	warmup := max(1, len(latency)/10)
	for i := range warmup {
		if _, err := rt.do(); err != nil {
			warm.Done()
			return fmt.Errorf("warm-up round trip %d: %v", i+1, err)
		}
	}
	warm.Done()
	<-start
	for i := range latency {
		d, err := rt.do()
		if err != nil {
			return fmt.Errorf("round trip %d of %d: %v", i+1, len(latency), err)
		}
		latency[i] = d
	}
	return nil
}

// roundTrip is one echo: the EVENT frame to send and the ACK text to
// expect, both rebuilt in place for each new ack id.
type roundTrip struct {
	cn      *conn
	payload []byte
	event   []byte // the frame: length, then 42<id>["echo","xx…"]
	want    []byte // the reply's text: 43<id>["xx…"]
}

func newRoundTrip(cn *conn, size int) *roundTrip {
	return &roundTrip{cn: cn, payload: payload(size)}
}

// do makes one round trip and returns how long it took.
func (rt *roundTrip) do() (time.Duration, error) {
	start, err := rt.send()
	if err != nil {
		return 0, err
	}
	for {
		text, err := rt.cn.frame()
		if err != nil {
			return 0, err
		}
		if done, err := rt.match(text); done || err != nil {
			return time.Since(start), err
		}
	}
}

// send builds the next echo (a new ack id) and writes it; it returns the
// moment just before write(2), where the round trip's clock starts.
func (rt *roundTrip) send() (time.Time, error) {
	id := rt.cn.acks
	rt.cn.acks++
	var err error
	out, mark := rt.cn.env.begin(rt.event[:0])
	if out, err = wire.AppendEvent(out, id, "echo", rt.payload); err != nil {
		return time.Time{}, err
	}
	rt.event = rt.cn.env.end(out, mark)
	if rt.want, err = wire.AppendAck(rt.want[:0], id, rt.payload); err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	return start, rt.cn.write(rt.event)
}

// match says whether text is the ACK the last send waits for. Anything
// else is a PING to answer, an event to skip, or a mistake (the error).
func (rt *roundTrip) match(text []byte) (bool, error) {
	if bytes.Equal(text, rt.want) {
		return true, nil
	}
	return false, rt.cn.unexpected(text, fmt.Sprintf("ack %d of echo", rt.cn.acks-1))
}

// unexpected deals with a packet that is not the one a fast path waited
// for: PINGs are answered and other events skipped (nil error); anything
// else is an error that says what came instead of `waiting`.
func (c *conn) unexpected(text []byte, waiting string) error {
	if err := c.packet.Parse(text); err != nil {
		return fmt.Errorf("waiting for %s: the server sent a bad packet %q: %v", waiting, clip(text), err)
	}
	p := &c.packet
	switch {
	case p.Engine == wire.Ping:
		return c.pong()
	case p.Engine == wire.Message && p.Socket == wire.Event:
		return nil
	}
	return fmt.Errorf("waiting for %s, got %q", waiting, clip(text))
}

func (c *conn) close() { closeFD(c.fd) }

// thousands writes n with commas: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}
