package loadgen

import (
	"fmt"

	"socklab/internal/wire"
)

// TputResult is the tput workload's JSON line.
type TputResult struct {
	Workload string  `json:"workload"`
	Envelope string  `json:"envelope,omitempty"` // "tcp" or "websocket"
	Count    int     `json:"count"`
	Seconds  float64 `json:"seconds"`
	PerSec   int64   `json:"per_sec"`
	Batch    int     `json:"batch"` // events (= frames, = WebSocket messages) per write(2)
	// EventsPerMessage is 1 over WebSocket: every message carries exactly
	// one event, so the server pays its per-message cost for each one.
	EventsPerMessage int     `json:"events_per_message,omitempty"`
	ClientCPU        float64 `json:"client_cpu"`
	Counted          *int    `json:"counted,omitempty"`
	Error            string  `json:"error,omitempty"`
}

func (r *TputResult) Failed() string { return r.Error }

func (r *TputResult) Summary() string {
	unit := "frames"
	if r.Envelope == "websocket" {
		unit = "WebSocket messages, one event per message, never batched inside one,"
	}
	return fmt.Sprintf("tput: %d events in %.3f s = %s events/s, %d %s per write(2) (load generator CPU %.2f)",
		r.Count, r.Seconds, thousands(r.PerSec), r.Batch, unit, r.ClientCPU)
}

// DefaultBatchBytes is how much tput hands the kernel per write(2) unless
// -batch says otherwise.
const DefaultBatchBytes = 64 << 10

// runTput: one connection; a warm-up of count/10 events and a count_done;
// then `count` events back to back and count_done, whose ack must say the
// server counted every one of them.
//
// The events go out Batch at a time, one write(2) per batch: every
// `count` event is the same bytes, so one buffer holds Batch copies and is
// written again and again. This is the generator doing the least work
// possible per event. socket.io's client (client.js) makes one writev(2)
// per event instead; -batch 1 does the same here, for a like-for-like look.
//
// Over WebSocket every event is a message of its own, in a frame of its
// own with its own mask key: the server does the full per-message work
// (parse a frame, unmask, parse a packet) for each event, and the batch
// only saves the generator system calls. The buffer is written again and
// again, so the keys repeat from one batch to the next; no server can
// tell, and masking guards browsers, not load generators.
func runTput(c Config) Result {
	r := &TputResult{Workload: "tput", Count: c.Count}
	t, err := c.target()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	cn, err := dial(t, c.Timeout, bigBuffer)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer cn.close()
	r.Envelope = cn.env.name()
	if r.Envelope == "websocket" {
		r.EventsPerMessage = 1
	}

	arg := payload(c.Size)
	appendCount := func(buf []byte) ([]byte, error) {
		buf, mark := cn.env.begin(buf)
		buf, err := wire.AppendEvent(buf, wire.NoAck, "count", arg)
		return cn.env.end(buf, mark), err
	}
	frame, err := appendCount(nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	batch := c.Batch
	if batch <= 0 {
		batch = max(1, DefaultBatchBytes/len(frame))
	}
	r.Batch = batch
	buf := make([]byte, 0, batch*len(frame))
	for range batch {
		buf, _ = appendCount(buf)
	}

	send := func(n int) error {
		for n > 0 {
			k := min(n, batch)
			if err := cn.write(buf[:k*len(frame)]); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}

	warmup := max(1, c.Count/10)
	if err := send(warmup); err != nil {
		r.Error = "warm-up: " + err.Error()
		return r
	}
	if got, err := cn.countDone(); err != nil || got != warmup {
		if err == nil {
			err = fmt.Errorf("the server counted %d of %d", got, warmup)
		}
		r.Error = "warm-up: " + err.Error()
		return r
	}

	clock := startClock()
	if err := send(c.Count); err != nil {
		r.Error = err.Error()
		return r
	}
	got, err := cn.countDone()
	elapsed, cpu := clock.stop()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Seconds = round(elapsed.Seconds(), 6)
	r.PerSec = perSec(c.Count, elapsed)
	r.ClientCPU = cpu
	if got != c.Count {
		r.Counted = &got
		r.Error = fmt.Sprintf("the server counted %d of %d events", got, c.Count)
	}
	return r
}
