//go:build linux

package main

// The WebSocket side of `miniio serve` against hostile clients, on raw
// sockets. Each case checks the exact answer (an HTTP status before the
// upgrade, a close code after it), then that a good client is still
// served and that the server's descriptors are back to what they were.
// At the end, the server's memory must be back near where it started,
// and must never have grown by the 1 GiB one frame announced.

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"socklab/internal/websocket"
)

// The server's timeouts in this suite, short so that the slow clients
// are cut off quickly. The head timeout leaves room for 1,000 dials.
const (
	hostileHeadTimeout  = 3 * time.Second
	hostileFrameTimeout = time.Second
)

// wsHostile is one hostile client: the bytes it sends (in pieces, with
// a pause after each, for the slow ones) and the answer it must get.
type wsHostile struct {
	name     string
	upgraded bool          // do the handshake first: the pieces are frames
	pieces   []string      // sent in order
	gap      time.Duration // the pause after each piece
	status   string        // before the upgrade: the HTTP status, "431"
	code     uint16        // after it: the close code
	reason   string        // a part of the 408's body, or of the close reason
}

// frameHead is a masked frame's header with a zero mask key (so the
// payload that follows is sent as it is): fin, opcode, and the payload
// length in the shortest of the three sizes.
func frameHead(fin bool, op websocket.Opcode, n uint64) string {
	b := []byte{byte(op)}
	if fin {
		b[0] |= 0x80
	}
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), n)
	}
	return string(append(b, 0, 0, 0, 0))
}

// bytesOf cuts s into one-byte pieces, for a client that drips.
func bytesOf(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

var wsHostileCases = []wsHostile{
	// RFC 6455 protocol errors: 1002.
	{name: "unmasked client frame", upgraded: true, pieces: []string{"\x81\x0242"}, code: 1002, reason: "unmasked"},
	{name: "RSV bits set", upgraded: true, pieces: []string{"\xc1\x82\x00\x00\x00\x0042"}, code: 1002, reason: "RSV"},
	{name: "unknown opcode", upgraded: true, pieces: []string{frameHead(true, 3, 0)}, code: 1002, reason: "opcode"},
	{name: "fragmented control frame", upgraded: true, pieces: []string{frameHead(false, websocket.OpPing, 0)}, code: 1002, reason: "fragmented control"},
	{name: "control frame over 125 bytes", upgraded: true, pieces: []string{frameHead(true, websocket.OpPing, 126) + strings.Repeat("p", 126)}, code: 1002},
	{name: "continuation without a start", upgraded: true, pieces: []string{frameHead(true, websocket.OpContinuation, 0)}, code: 1002, reason: "continuation"},
	// Too big, from the header alone: 1 GiB announced, none of it sent.
	{name: "64-bit length past maxPayload", upgraded: true, pieces: []string{frameHead(true, websocket.OpText, 1<<30)}, code: 1009, reason: "1073741824"},
	// Not UTF-8: 1007, in one frame and across two fragments ("a\xc3"
	// would be the start of "é", but "(" does not finish it).
	{name: "invalid UTF-8 in a text message", upgraded: true, pieces: []string{frameHead(true, websocket.OpText, 2) + "\xc3\x28"}, code: 1007, reason: "UTF-8"},
	{name: "invalid UTF-8 across fragments", upgraded: true, pieces: []string{frameHead(false, websocket.OpText, 2) + "a\xc3", frameHead(true, websocket.OpContinuation, 1) + "("}, code: 1007, reason: "UTF-8"},
	// Request heads that are too big: 431.
	{name: "header bomb (bytes)", pieces: []string{"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n"}, status: "431", reason: "over"},
	{name: "header bomb (lines)", pieces: []string{"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" + strings.Repeat("X: a\r\n", 101) + "\r\n"}, status: "431", reason: "header lines"},
	// Slowloris: a byte now and then, never a whole head or frame
	// header. Each drip lasts twice the timeout: only the timer, not
	// the bytes running out, can end it.
	{name: "slowloris on the request head",
		pieces: append([]string{"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nX-Slow: "}, bytesOf(strings.Repeat("a", 30))...),
		gap:    2 * hostileHeadTimeout / 30, status: "408", reason: "no whole request head within 3s"},
	{name: "slowloris on a frame header", upgraded: true,
		pieces: bytesOf(frameHead(true, websocket.OpText, 200)),
		gap:    2 * hostileFrameTimeout / 8, code: 1008, reason: "frame timeout"},
}

func TestWebSocketHostile(t *testing.T) {
	srv := startServer(t, "-head-timeout", hostileHeadTimeout.String(), "-frame-timeout", hostileFrameTimeout.String())
	port := srv.httpPort()
	// The baseline, once the server has served one client: what it
	// holds at rest.
	wsGoodClient(t, port, "warm-up")
	fds0 := srv.fdsSettle(t, -1)
	rss0, _ := srv.memory()
	peakVM0 := srv.vmPeak()

	for _, c := range wsHostileCases {
		t.Run(c.name, func(t *testing.T) {
			w := wsDialRaw(t, port)
			if c.upgraded {
				w.upgrade()
			}
			stop := drip(w.conn, c.pieces, c.gap)
			defer close(stop)
			start := time.Now()
			if c.upgraded {
				if reason := w.expectClose(c.code); !strings.Contains(reason, c.reason) {
					t.Errorf("close %d with reason %q, want one that says %q", c.code, reason, c.reason)
				}
			} else {
				head, body := w.answer()
				if !strings.HasPrefix(head, "HTTP/1.1 "+c.status+" ") || !strings.Contains(body, c.reason) {
					t.Errorf("answered %q %q, want %s and a body that says %q", head, body, c.status, c.reason)
				}
				if _, err := w.r.ReadByte(); err != io.EOF {
					t.Errorf("after the answer: %v, want the connection closed", err)
				}
			}
			if drip := c.gap * time.Duration(len(c.pieces)); c.gap > 0 && time.Since(start) >= drip {
				t.Errorf("cut off after %v, when the drip was over (%v): not by the timeout", time.Since(start), drip)
			}
			wsGoodClient(t, port, "after")
			srv.fdsSettle(t, fds0)
		})
	}

	// 1,000 clients send half a request head each, at once. They all
	// hold a descriptor until the head timeout reaps them with a 408;
	// meanwhile a good client is served as usual.
	t.Run("1000 half-finished handshakes", func(t *testing.T) {
		const n = 1000
		conns := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range n {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatalf("dial %d: %v", len(conns), err)
			}
			conns = append(conns, c)
			if _, err := c.Write([]byte("GET /socket.io/?EIO=4&transport=web")); err != nil {
				t.Fatalf("write %d: %v", len(conns), err)
			}
		}
		if got := srv.fdsReach(t, fds0+n, hostileHeadTimeout); got < fds0+n {
			t.Fatalf("the server held %d descriptors at most, want %d + %d half-finished handshakes", got, fds0, n)
		}
		wsGoodClient(t, port, "meanwhile")
		reaped := 0
		for i, c := range conns {
			c.SetReadDeadline(time.Now().Add(hostileHeadTimeout + 10*time.Second))
			answer, err := io.ReadAll(c)
			if err != nil || !strings.HasPrefix(string(answer), "HTTP/1.1 408 ") {
				t.Errorf("half-finished handshake %d: got %q, %v; want a 408 and the end", i, answer, err)
				continue
			}
			reaped++
		}
		if reaped != n {
			t.Fatalf("%d of %d half-finished handshakes reaped", reaped, n)
		}
		srv.fdsSettle(t, fds0)
		wsGoodClient(t, port, "after")
	})

	// A named client that goes away without the close handshake, by a
	// FIN or by a reset: the server closes its descriptor and tells the
	// others "user left".
	for _, how := range []string{"FIN", "RST"} {
		t.Run("gone without a close frame ("+how+")", func(t *testing.T) {
			watch := wsNamed(t, port, "watch")
			gone := wsNamed(t, port, "zed-"+how)
			wsExpectEvent(watch, `42["user joined","zed-`+how+`"]`)
			if how == "RST" {
				gone.conn.(*net.TCPConn).SetLinger(0) // close sends a reset
			}
			gone.conn.Close()
			wsExpectEvent(watch, `42["user left","zed-`+how+`"]`)
			watch.send(websocket.OpClose, "\x03\xe8")
			watch.expectClose(1000)
			srv.fdsSettle(t, fds0)
			wsGoodClient(t, port, "after")
		})
	}

	// Memory: back near the start, and the 1 GiB frame header reserved
	// nothing: neither the peak of resident memory nor that of the
	// address space grew by anything like it.
	rss, peak := srv.memory()
	peakVM := srv.vmPeak()
	t.Logf("server memory: VmRSS %d → %d kB, VmHWM %d kB, VmPeak %d → %d kB", rss0>>10, rss>>10, peak>>10, peakVM0>>10, peakVM>>10)
	if rss-rss0 > 32<<20 {
		t.Errorf("VmRSS grew from %d to %d kB over the suite", rss0>>10, rss>>10)
	}
	if peak-rss0 > 128<<20 {
		t.Errorf("VmHWM reached %d kB from %d kB: something was allocated for the announced 1 GiB", peak>>10, rss0>>10)
	}
	if peakVM-peakVM0 > 512<<20 {
		t.Errorf("VmPeak grew from %d to %d kB: address space was reserved for the announced 1 GiB", peakVM0>>10, peakVM>>10)
	}
	srv.checkNoPanic()
}

// drip writes the pieces in order, pausing gap after each, until they
// are all sent, a write fails (the server closed), or stop is closed.
// It runs on its own goroutine so that the test can read the answer
// while the client is still dripping.
func drip(conn net.Conn, pieces []string, gap time.Duration) chan struct{} {
	stop := make(chan struct{})
	go func() {
		for _, p := range pieces {
			if _, err := conn.Write([]byte(p)); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
		}
	}()
	return stop
}

// wsNamed opens a socket.io session on a raw WebSocket, as a named chat
// user (CONNECT with auth {"name":…}).
func wsNamed(t *testing.T, port int, name string) *wsRaw {
	t.Helper()
	w := wsDialRaw(t, port)
	w.upgrade()
	w.send(websocket.OpText, `40{"name":"`+name+`"}`)
	if _, p := w.frame(); !strings.HasPrefix(p, `40{"sid":"`) {
		t.Fatalf("%s: CONNECT answered %q", name, p)
	}
	return w
}

// wsExpectEvent reads text frames until want, skipping other events
// (someone else's "user joined") and answering PINGs.
func wsExpectEvent(w *wsRaw, want string) {
	w.t.Helper()
	for range 50 {
		op, p := w.frame()
		switch {
		case op == websocket.OpText && p == want:
			return
		case op == websocket.OpText && p == "2":
			w.send(websocket.OpText, "3")
		case op == websocket.OpText && strings.HasPrefix(p, "42["):
		default:
			w.t.Fatalf("got %v %q while waiting for %q", op, p, want)
		}
	}
	w.t.Fatalf("no %q in 50 frames", want)
}

// wsGoodClient is a well-behaved client: it connects, gets an echo back
// (its text split across two fragments in the middle of "é", which is
// valid UTF-8 once joined), and says goodbye with the close handshake.
func wsGoodClient(t *testing.T, port int, name string) {
	t.Helper()
	w := wsNamed(t, port, name)
	msg := `421["echo","hé"]`
	cut := strings.Index(msg, "é") + 1
	w.write(frameHead(false, websocket.OpText, uint64(cut)) + msg[:cut] +
		frameHead(true, websocket.OpContinuation, uint64(len(msg)-cut)) + msg[cut:])
	if _, p := w.frame(); p != `431["hé"]` {
		t.Fatalf("good client %s: echo answered %q", name, p)
	}
	w.send(websocket.OpClose, "\x03\xe8")
	w.expectClose(1000)
}

// fdsSettle waits until the server holds want descriptors (want < 0:
// until the count stops changing) and returns the count.
func (s *serveProc) fdsSettle(t *testing.T, want int) int {
	t.Helper()
	last, same := -1, 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n := s.fdCount()
		if n == want || (want < 0 && n == last && same >= 5) {
			return n
		}
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server holds %d descriptors, want %d:\n%s", last, want, fdList(s.cmd.Process.Pid))
	return 0
}

// fdsReach waits, at most within, until the server holds want
// descriptors; it returns the most it saw.
func (s *serveProc) fdsReach(t *testing.T, want int, within time.Duration) int {
	t.Helper()
	most := 0
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		most = max(most, s.fdCount())
		if most >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return most
}

// fdList names the descriptors a process holds, for a failure report.
func fdList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range entries {
		target, _ := os.Readlink(dir + "/" + e.Name())
		fmt.Fprintf(&b, "  %s → %s\n", e.Name(), target)
	}
	return b.String()
}

// vmPeak is the peak size of the server's address space (VmPeak), in
// bytes: reserving memory for a frame grows it, even if the pages are
// never touched and VmRSS does not see them.
func (s *serveProc) vmPeak() int {
	s.t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmPeak:" {
			kb, _ := strconv.Atoi(f[1])
			return kb << 10
		}
	}
	s.t.Fatal("no VmPeak in /proc/PID/status")
	return 0
}
