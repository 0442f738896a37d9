//go:build linux

package main

// Hostile and broken clients against the real `miniio serve`: each bad
// input gets its reason in a CLOSE frame and its connection closed, while
// a well-behaved client connected throughout keeps exchanging events
// without a gap, and the server never panics. Then the slow consumer, the
// stopped client, the connection limit, running out of descriptors, and
// leaks.

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/server"
	"socklab/internal/wire"
)

// wellBehaved runs a client that does echo round trips with a sequence
// number until stop is closed, and checks every answer is the one asked
// for, in order. It returns how many round trips it made.
//
// The goroutine must never outlive the test: a t.Errorf after the test
// has ended panics the whole test binary. A test that fails with Fatal
// before it closes stop would leave it running, so a Cleanup registered
// here ends it (closing its connection wakes a blocked read or write) and
// waits for it to return. Once the test is ending, its errors are the
// noise of being stopped, not findings, and are not reported. For the
// same reason it writes frames itself instead of calling c.send, whose
// Fatalf belongs to the test's own goroutine.
func wellBehaved(t *testing.T, addr string, stop <-chan struct{}) <-chan int {
	c := connectRaw(t, addr)
	done := make(chan int, 1)
	ending := make(chan struct{})   // closed by the Cleanup below
	returned := make(chan struct{}) // closed when the goroutine returns
	t.Cleanup(func() {
		close(ending)
		c.conn.Close()
		<-returned
	})
	report := func(format string, args ...any) {
		select {
		case <-ending:
		default:
			// Safe: the Cleanup waits for this goroutine, so the test
			// has not ended yet.
			t.Errorf(format, args...)
		}
	}
	send := func(text string) error {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(text)))
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := c.conn.Write(append(b, text...))
		return err
	}
	go func() {
		n := 0
		defer close(returned)
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			case <-ending:
				return
			default:
			}
			if err := send(fmt.Sprintf(`42%d["echo",%d]`, n, n)); err != nil {
				report("well-behaved client, round trip %d: write: %v", n, err)
				return
			}
			want := fmt.Sprintf(`43%d[%d]`, n, n)
			for {
				text, err := c.next(10 * time.Second)
				if err != nil {
					report("well-behaved client, round trip %d: %v", n, err)
					return
				}
				if text == "2" {
					if err := send("3"); err != nil {
						report("well-behaved client, answering a PING: %v", err)
						return
					}
					continue
				}
				if strings.HasPrefix(text, "42[") {
					continue // an event for everyone ("user joined"): not ours to check
				}
				if text != want {
					report("well-behaved client, round trip %d: got %q, want %q", n, text, want)
					return
				}
				break
			}
			n++
		}
	}()
	return done
}

func TestHostileClients(t *testing.T) {
	srv := startServer(t, "-max-payload", "1000", "-connect-timeout", "300ms")
	stop := make(chan struct{})
	trips := wellBehaved(t, srv.addr, stop)

	frame := func(text string) []byte {
		return binary.BigEndian.AppendUint32(nil, uint32(len(text))) // the body follows separately
	}
	cases := []struct {
		name    string
		connect bool     // send CONNECT first
		bytes   [][]byte // what the offender sends, in writes
		reason  string   // the start of the CLOSE reason
	}{
		// The length prefix alone is enough: no body is sent, none is waited for.
		{"frame over maxPayload", true, [][]byte{{0, 0, 0x03, 0xe9}}, "payload too large: frame of 1001 bytes exceeds maxPayload 1000"},
		{"4 GiB frame", false, [][]byte{{0xff, 0xff, 0xff, 0xff}}, "payload too large: frame of 4294967295 bytes"},
		{"zero-length frame", true, [][]byte{{0, 0, 0, 0}}, "parse error: empty frame"},
		{"unknown packet type", true, [][]byte{frame("x"), []byte("x")}, `parse error: unknown packet type 'x'`},
		{"unknown socket.io type", true, [][]byte{frame("49"), []byte("49")}, `parse error: unknown packet type '9'`},
		{"malformed JSON", true, [][]byte{frame(`42["chat","hi"`), []byte(`42["chat","hi"`)}, "parse error: malformed JSON"},
		{"not UTF-8", true, [][]byte{frame("42[\"\xff\"]"), []byte("42[\"\xff\"]")}, "parse error: packet is not valid UTF-8"},
		{"event name not a string", true, [][]byte{frame(`42[42,"hi"]`), []byte(`42[42,"hi"]`)}, "parse error: event name is not a string"},
		{"reserved event name", true, [][]byte{frame(`42["disconnect"]`), []byte(`42["disconnect"]`)}, `parse error: reserved event name "disconnect"`},
		{"ack id out of range", true, [][]byte{frame(`424294967296["echo"]`), []byte(`424294967296["echo"]`)}, "parse error: ack id out of range"},
		{"binary attachment", true, [][]byte{frame(`451-["x",{"_placeholder":true,"num":0}]`), []byte(`451-["x",{"_placeholder":true,"num":0}]`)}, "protocol error: BINARY_EVENT: binary attachments need WebSocket or long-polling"},
		{"unknown namespace", false, [][]byte{frame(`40/admin,`), []byte(`40/admin,`)}, "connect timeout: no CONNECT within 300ms"},
		{"event before CONNECT", false, [][]byte{frame(`42["echo"]`), []byte(`42["echo"]`)}, "protocol error: EVENT before CONNECT"},
		{"PING from a client", true, [][]byte{frame("2"), []byte("2")}, "protocol error: PING is the server's to send"},
		{"no CONNECT", false, nil, "connect timeout: no CONNECT within 300ms"},
		{"half a frame, then nothing", false, [][]byte{{0, 0, 0, 9}, []byte("40")}, "connect timeout"},
		{"HTTP instead of miniio", false, [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, "payload too large: frame of 1195725856 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.addr)
			if tc.connect {
				c.send("40")
				c.read()
			}
			for _, b := range tc.bytes {
				c.sendBytes(b)
				time.Sleep(5 * time.Millisecond) // separate reads: the server must cope with pieces
			}
			c.expectClose(tc.reason)
		})
	}
	close(stop)
	n := <-trips
	if n == 0 {
		t.Fatal("the well-behaved client made no round trips")
	}
	t.Logf("the well-behaved client made %d round trips meanwhile, none missing", n)
	// Every offender was logged with its reason.
	srv.waitFor(`ack id out of range`, 5*time.Second)
	srv.waitFor(`fd \d+ \(127\.0\.0\.1:\d+\) closed: connect timeout`, 5*time.Second)
	srv.checkNoPanic()
}

// TestHostileGarbage throws random bytes at the server from many
// connections at once; it must stay up and keep serving.
func TestHostileGarbage(t *testing.T) {
	srv := startServer(t, "-max-payload", "4096", "-connect-timeout", "500ms")
	stop := make(chan struct{})
	trips := wellBehaved(t, srv.addr, stop)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(seed int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", srv.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			junk := make([]byte, 2000)
			x := uint32(seed*7919 + 1)
			for j := range junk {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				junk[j] = byte(x)
			}
			if seed%2 == 0 { // half of them look like the start of a session
				junk = append([]byte("\x00\x00\x00\x0240\x00\x00\x00\x10"), junk...)
			}
			conn.Write(junk)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := conn.Read(buf); err != nil {
					return // closed by the server, as it should be
				}
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	if n := <-trips; n == 0 {
		t.Fatal("the well-behaved client made no round trips")
	}
	c := connectRaw(t, srv.addr)
	if ack := c.ask(1, "echo", `"still up"`); ack != `["still up"]` {
		t.Fatalf("after the garbage: %q", ack)
	}
	srv.checkNoPanic()
}

// TestSlowConsumer: one client stops reading while a sender broadcasts
// 40 MB. The server drops it as a slow consumer and its memory stays
// bounded; the clients that read get every message.
//
// The sender sends in windows of 50 messages and waits until both good
// readers have the window before sending the next: the good readers keep
// up by construction (a reader slower than the sender for long enough
// would be a slow consumer too), the stopped one falls behind without end.
func TestSlowConsumer(t *testing.T) {
	const (
		messages = 10000
		window   = 50
		size     = 4000 // 10000 × 4 kB = 40 MB to each receiver
		// The bound: the server's own start-up size (about 6 MB) plus
		// room for a few windows in flight and the stopped client's queue
		// up to the cap (1 MiB). Without the cap that queue alone would
		// grow to about 40 MB (run with -max-output -1 to see it).
		memoryBound = 24 << 20
	)
	srv := startServer(t, "-max-output", strconv.Itoa(server.DefaultMaxOutput), "-bench-events")
	sender := connectRaw(t, srv.addr)

	// The slow consumer: a small receive buffer, so the kernel holds
	// little for it and the server's queue is what fills.
	slow := dialSmallBuffer(t, srv.addr)
	slow.send("40")
	slow.read()

	var received [2]atomic.Int64
	var wg sync.WaitGroup
	for i := range received {
		c := connectRaw(t, srv.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for received[i].Load() < messages {
				text, err := c.next(20 * time.Second)
				if err != nil {
					t.Errorf("reader %d after %d messages: %v", i, received[i].Load(), err)
					return
				}
				switch {
				case text == "2":
					c.send("3")
				case strings.HasPrefix(text, `42["msg","`):
					received[i].Add(1)
				default:
					t.Errorf("reader %d got %.100q", i, text)
					return
				}
			}
		}()
	}

	payload := `"` + strings.Repeat("x", size) + `"`
	var batch []byte
	for i := 0; i < window; i++ {
		text := `42["bcast",` + payload + `]`
		batch = binary.BigEndian.AppendUint32(batch, uint32(len(text)))
		batch = append(batch, text...)
	}
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		for sent := 0; sent < messages; sent += window {
			// Wait for the good readers to have the previous window.
			for deadline := time.Now().Add(20 * time.Second); received[0].Load() < int64(sent) || received[1].Load() < int64(sent); {
				if time.Now().After(deadline) || t.Failed() {
					t.Errorf("sender: the readers are stuck at %d and %d of %d", received[0].Load(), received[1].Load(), sent)
					return
				}
				time.Sleep(time.Millisecond)
			}
			if _, err := sender.conn.Write(batch); err != nil {
				t.Errorf("sender: %v", err)
				return
			}
		}
	}()

	srv.waitFor(`disconnected: slow consumer: more than 1048576 bytes waiting to be sent`, 30*time.Second)
	// The slow consumer, reading again now, finds after whatever it had
	// been sent why it was dropped. (The server gives it a few seconds to
	// take that; a client stopped for longer just finds its connection
	// closed.)
	slow.expectClose(wire.ReasonSlowConsumer)

	<-sendDone
	wg.Wait()
	for i := range received {
		if n := received[i].Load(); n != messages {
			t.Errorf("reader %d got %d of %d messages", i, n, messages)
		}
	}
	rss, peak := srv.memory()
	t.Logf("server memory: VmRSS %d kB now, VmHWM (peak) %d kB; bound %d kB", rss>>10, peak>>10, memoryBound>>10)
	if peak > memoryBound {
		t.Errorf("server memory peaked at %d kB, over the %d kB bound", peak>>10, memoryBound>>10)
	}
	srv.checkNoPanic()
}

// dialSmallBuffer connects with a 4 kB receive buffer (set before
// connect, so the TCP window is small from the start).
func dialSmallBuffer(t *testing.T, addr string) *rawClient {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return err
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: newReader(conn)}
	if open := c.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("first frame %q", open)
	}
	return c
}

// TestHeartbeatStoppedClient: a client that is alive as far as TCP can
// tell, but whose process is stopped (SIGSTOP), is found by the
// heartbeat: "ping timeout".
func TestHeartbeatStoppedClient(t *testing.T) {
	python := proctest.NeedTool(t, "python3")
	srv := startServer(t, "-ping-interval", "200ms", "-ping-timeout", "400ms")
	stop := make(chan struct{})
	trips := wellBehaved(t, srv.addr, stop)

	// A client that CONNECTs, answers PINGs, and prints what it gets.
	script := filepath.Join(t.TempDir(), "pinger.py")
	os.WriteFile(script, []byte(`
import json, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
buf = b""
def read():
    global buf
    while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
        chunk = s.recv(4096)
        if not chunk:
            return None
        buf += chunk
    n = struct.unpack(">I", buf[:4])[0]
    text, buf = buf[4:4 + n].decode(), buf[4 + n:]
    return text
def send(text):
    s.sendall(struct.pack(">I", len(text)) + text.encode())
read()
send('40{"name":"sleepy"}')
print("connected", read(), flush=True)
while True:
    text = read()
    if text is None:
        print("closed by the server", flush=True)
        break
    if text == "2":
        send("3")
    else:
        print("got", text, flush=True)
`), 0o644)
	_, port, _ := net.SplitHostPort(srv.addr)
	out := &syncBuffer{}
	cmd := exec.Command(python, script, port)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	srv.waitFor(`sleepy connected`, 5*time.Second)
	time.Sleep(time.Second) // five PINGs answered: alive
	if strings.Contains(srv.out.String(), "sleepy disconnected") {
		t.Fatalf("disconnected while answering PINGs:\n%s", srv.out.String())
	}

	cmd.Process.Signal(syscall.SIGSTOP)
	srv.waitFor(`sleepy disconnected: ping timeout: no PONG within 400ms`, 5*time.Second)

	// Woken up, the client reads what waited in its receive buffer: the
	// PING it never answered, then the CLOSE that says why.
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Wait()
	if !strings.Contains(out.String(), `got 1{"reason":"ping timeout: no PONG within 400ms"}`) ||
		!strings.Contains(out.String(), "closed by the server") {
		t.Fatalf("the stopped client, resumed, printed:\n%s", out.String())
	}
	close(stop)
	if n := <-trips; n == 0 {
		t.Fatal("the well-behaved client made no round trips")
	}
	srv.checkNoPanic()
}

func TestMaxConns(t *testing.T) {
	srv := startServer(t, "-max-conns", "3")
	a := connectRaw(t, srv.addr)
	connectRaw(t, srv.addr)
	dialRaw(t, srv.addr) // not connected yet, but it counts: it holds a descriptor
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	full := &rawClient{t: t, conn: conn, r: newReader(conn)}
	full.expectClose("server full: 3 connections already")

	a.send("41")
	a.expectClose(wire.ReasonClientDisconnect)
	// One went: there is room again (the server may need a moment to see
	// the descriptor closed).
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialRaw(t, srv.addr)
		c.send("40")
		text := c.read()
		if strings.HasPrefix(text, "40{") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a client left: %q", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.checkNoPanic()
}

// TestOutOfDescriptors runs the server with only a few file descriptors:
// clients beyond them wait in the kernel's accept queue while the server
// does not spin on EMFILE, and are served once descriptors are free.
func TestOutOfDescriptors(t *testing.T) {
	// 3 standard + listening socket (-http "": only the TCP one) + epoll + eventfd + the Go runtime's
	// own epoll and eventfd (opened at start, see reactor's
	// startRuntimePoller) = 8 of 13, so a handful of clients fit and the
	// seven below are more than that.
	cmd := exec.Command("bash", "-c", `ulimit -n 13 && exec "$0" serve -addr 127.0.0.1:0 -http ""`, miniioBinary(t))
	srv := runServer(t, cmd)
	var clients []*rawClient
	for i := 0; i < 3; i++ {
		clients = append(clients, connectRaw(t, srv.addr))
	}
	// These connect (the kernel completes the handshake) but cannot all
	// be accepted: the first take the last descriptors, the rest wait.
	var waiting []net.Conn
	for i := 0; i < 4; i++ {
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		waiting = append(waiting, conn)
	}
	cpuBefore := cpuTicks(t, srv.cmd.Process.Pid)
	time.Sleep(time.Second)
	spent := cpuTicks(t, srv.cmd.Process.Pid) - cpuBefore
	// A loop that retried accept at full speed would use the whole second
	// (100 ticks); this one looks again once a second or when a
	// connection closes.
	if spent > 30 {
		t.Errorf("the server used %d/100 of a CPU second while out of descriptors: spinning on EMFILE?", spent)
	}
	if ack := clients[0].ask(1, "echo", `"ok"`); ack != `["ok"]` {
		t.Fatalf("a connected client while out of descriptors: %q", ack)
	}
	// Free descriptors: the waiting clients are accepted and get OPEN.
	for _, c := range clients {
		c.conn.Close()
	}
	for i, conn := range waiting {
		c := &rawClient{t: t, conn: conn, r: newReader(conn)}
		text, err := c.next(10 * time.Second)
		if err != nil || !strings.HasPrefix(text, "0{") {
			t.Fatalf("waiting client %d: %q, %v", i, text, err)
		}
	}
	srv.checkNoPanic()
}

// cpuTicks is the process's user + system CPU time, in clock ticks
// (1/100 s), from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name is in parentheses and may hold spaces: count from
	// the last ")". utime and stime are fields 14 and 15.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime + stime
}

// TestNoLeaks: hundreds of connections come and go, politely and not;
// afterwards the server's descriptors and goroutines are what they were,
// and so is its count of connected sockets (a socket the server forgot to
// detach when its peer vanished would stay in its lists and rooms for
// ever, with no descriptor or goroutine to show for it).
func TestNoLeaks(t *testing.T) {
	srv := startServer(t, "-connect-timeout", "2s")
	probe := connectRaw(t, srv.addr)
	id := 0
	ask := func() (conns, connected, goroutines int) { id++; return probe.stats(id) }
	fds0 := srv.fdCount()
	conns0, connected0, goroutines0 := ask()

	ways := []func(){
		func() { // polite: DISCONNECT
			c := connectRaw(t, srv.addr)
			c.send("41")
			c.expectClose(wire.ReasonClientDisconnect)
		},
		func() { // just close after CONNECT
			c := connectRaw(t, srv.addr)
			c.conn.Close()
		},
		func() { // close before CONNECT
			c := dialRaw(t, srv.addr)
			c.conn.Close()
		},
		func() { // reset (SO_LINGER 0: close sends RST)
			c := connectRaw(t, srv.addr)
			c.conn.(*net.TCPConn).SetLinger(0)
			c.conn.Close()
		},
		func() { // die mid-frame, with an ack pending
			c := connectRaw(t, srv.addr)
			c.sendBytes([]byte("\x00\x00\x00\x10" + `421["ec`))
			c.conn.Close()
		},
		func() { // a parse error
			c := connectRaw(t, srv.addr)
			c.send("42[")
			c.expectClose(wire.ReasonParseError)
		},
		func() { // join a room, then vanish
			c := connectRaw(t, srv.addr)
			c.ask(1, "join", `"leaky"`)
			c.conn.(*net.TCPConn).SetLinger(0)
			c.conn.Close()
		},
	}
	const cycles = 350
	for i := 0; i < cycles; i++ {
		ways[i%len(ways)]()
	}

	// The server sees the last closes a moment later: wait until its
	// counts are back, or fail with what they are.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conns, connected, goroutines := ask()
		fds := srv.fdCount()
		if conns == conns0 && connected == connected0 && goroutines <= goroutines0 && fds == fds0 {
			t.Logf("after %d connections: %d conns, %d connected, %d goroutines, %d fds, as at the start", cycles, conns, connected, goroutines, fds)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d connections: conns %d (start %d), connected %d (start %d), goroutines %d (start %d), fds %d (start %d)",
				cycles, conns, conns0, connected, connected0, goroutines, goroutines0, fds, fds0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.checkNoPanic()
}
