package loadgen

import (
	"fmt"

	"golang.org/x/sys/unix"

	"socklab/internal/wire"
)

// IdleResult is the idle workload's JSON line.
type IdleResult struct {
	Workload         string  `json:"workload"`
	Envelope         string  `json:"envelope,omitempty"` // "tcp" or "websocket"
	N                int     `json:"n"`
	ServerRSSBefore  int64   `json:"server_rss_before"`
	ServerRSSAfter   int64   `json:"server_rss_after"`
	BytesPerConn     int64   `json:"bytes_per_conn"`
	ServerHeapBefore int64   `json:"server_heap_before"`
	ServerHeapAfter  int64   `json:"server_heap_after"`
	HeapBytesPerConn int64   `json:"heap_bytes_per_conn"`
	ConnectSeconds   float64 `json:"connect_seconds"`
	ClientCPU        float64 `json:"client_cpu"`
	Error            string  `json:"error,omitempty"`
}

func (r *IdleResult) Failed() string { return r.Error }

func (r *IdleResult) Summary() string {
	return fmt.Sprintf("idle: %d connections: server RSS %s → %s bytes = %s bytes per connection (heap %s per connection); connected in %.2f s",
		r.N, thousands(r.ServerRSSBefore), thousands(r.ServerRSSAfter), thousands(r.BytesPerConn),
		thousands(r.HeapBytesPerConn), r.ConnectSeconds)
}

// runIdle: a probe connects and asks `mem`; N clients connect, each
// finishing its handshake, and then stay silent; the probe asks again. The
// probe is there both times, so the difference is the N clients alone.
//
// The clients connect one after another with blocking calls: ten thousand
// handshakes on loopback take a second or two that nobody times, and
// one at a time never floods the server's listen backlog (a dropped SYN
// would cost a one-second retransmit).
func runIdle(c Config) Result {
	r := &IdleResult{Workload: "idle", N: c.N}
	fail := func(format string, args ...any) Result {
		r.Error = fmt.Sprintf(format, args...)
		return r
	}
	if err := raiseFileLimit(c.N + 64); err != nil {
		return fail("%v", err)
	}
	t, err := c.target()
	if err != nil {
		return fail("%v", err)
	}
	probe, err := dial(t, c.Timeout, bigBuffer)
	if err != nil {
		return fail("probe: %v", err)
	}
	defer probe.close()
	r.Envelope = probe.env.name()
	before, err := probe.mem()
	if err != nil {
		return fail("probe: %v", err)
	}
	r.ServerRSSBefore, r.ServerHeapBefore = before.RSS, before.Heap

	// Only the file descriptors are kept: the generator's own memory per
	// idle client stays at a few bytes.
	fds := make([]int, 0, c.N)
	var env envelope
	defer func() {
		for _, fd := range fds {
			closeFD(fd)
		}
	}()
	clock := startClock()
	for i := range c.N {
		cn, err := dial(t, c.Timeout, smallBuffer)
		if err != nil {
			return fail("idle client %d of %d: %v", i+1, c.N, err)
		}
		fds = append(fds, cn.fd)
		env = cn.env
	}
	elapsed, cpu := clock.stop()
	r.ConnectSeconds = round(elapsed.Seconds(), 3)
	r.ClientCPU = cpu

	after, err := probe.mem()
	if err != nil {
		return fail("probe: %v", err)
	}
	r.ServerRSSAfter, r.ServerHeapAfter = after.RSS, after.Heap
	r.BytesPerConn = (after.RSS - before.RSS) / int64(c.N)
	r.HeapBytesPerConn = (after.Heap - before.Heap) / int64(c.N)

	if dropped := countDropped(fds, env); dropped > 0 {
		return fail("%d of %d idle clients were disconnected", dropped, c.N)
	}
	return r
}

// countDropped looks at every idle socket once without waiting
// (MSG_DONTWAIT): nothing to read means still connected; end of stream, an
// error or a CLOSE packet means the server let it go. A PING is answered.
func countDropped(fds []int, env envelope) int {
	buf := make([]byte, 4096)
	dropped := 0
	for _, fd := range fds {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		for err == unix.EINTR {
			n, _, err = unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		}
		switch {
		case err == unix.EAGAIN:
			continue // connected and quiet, as it should be
		case err != nil || n == 0:
			dropped++
			continue
		}
		if !stillOpen(fd, buf[:n], env) {
			dropped++
		}
	}
	return dropped
}

// stillOpen reads the whole frames in data: false on CLOSE or DISCONNECT
// (or a WebSocket close); PINGs are answered so the server keeps us.
func stillOpen(fd int, data []byte, env envelope) bool {
	for {
		text, reply, used, err := env.split(data, 0)
		if err != nil || used == 0 {
			return err == nil
		}
		data = data[used:]
		switch {
		case text == nil:
			if _, err := unix.Write(fd, reply); err != nil {
				return false
			}
		case len(text) == 0:
			return false // not a packet at all
		case text[0] == byte(wire.Close), string(text) == "41":
			return false
		case text[0] == byte(wire.Ping):
			if _, err := unix.Write(fd, env.pong()); err != nil {
				return false
			}
		}
	}
}
