package loadgen

import (
	"fmt"

	"socklab/internal/wire"
)

// TputResult is the tput workload's JSON line.
type TputResult struct {
	Workload  string  `json:"workload"`
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	PerSec    int64   `json:"per_sec"`
	Batch     int     `json:"batch"`
	ClientCPU float64 `json:"client_cpu"`
	Counted   *int    `json:"counted,omitempty"`
	Error     string  `json:"error,omitempty"`
}

func (r *TputResult) Failed() string { return r.Error }

func (r *TputResult) Summary() string {
	return fmt.Sprintf("tput: %d events in %.3f s = %s events/s, %d events per write(2) (load generator CPU %.2f)",
		r.Count, r.Seconds, thousands(r.PerSec), r.Batch, r.ClientCPU)
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
func runTput(c Config) Result {
	r := &TputResult{Workload: "tput", Count: c.Count}
	cn, err := dial(c.Addr, c.Timeout, bigBuffer)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer cn.close()

	var frame []byte
	frame, mark := wire.BeginFrame(frame)
	if frame, err = wire.AppendEvent(frame, wire.NoAck, "count", payload(c.Size)); err != nil {
		r.Error = err.Error()
		return r
	}
	frame = wire.EndFrame(frame, mark)
	batch := c.Batch
	if batch <= 0 {
		batch = max(1, DefaultBatchBytes/len(frame))
	}
	r.Batch = batch
	buf := make([]byte, 0, batch*len(frame))
	for range batch {
		buf = append(buf, frame...)
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
