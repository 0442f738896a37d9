//go:build linux

package main

// Tests of the real program, `miniio serve`, with real peers: a Python
// client that knows only the socket module, and raw TCP connections made
// with Go's net package that speak the frames by hand (not our client, so
// the protocol is what DESIGN.md says, not what our client happens to do).
// Linux only: they read /proc/PID/{fd,status} and send signals.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/wire"
)

// TestMain removes the miniio binary the tests built, if they built one.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// miniioBinary builds cmd/miniio once per test run.
func miniioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// Without -race even under go test -race: the hostile tests
		// hold the server's memory to a bound.
		binDir, buildErr = proctest.BuildPlain("socklab/cmd/miniio")
		binPath = filepath.Join(binDir, "miniio")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is one `miniio serve` process.
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer // stderr: the log (and the trace when asked)
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// startServer runs `miniio serve -addr 127.0.0.1:0 -http 127.0.0.1:0 ARGS…` and waits for
// its "listening on" line, which names the port the kernel chose.
func startServer(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(miniioBinary(t), append([]string{"serve", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0"}, args...)...)
	return runServer(t, cmd)
}

func runServer(t *testing.T, cmd *exec.Cmd) *serveProc {
	t.Helper()
	s := &serveProc{t: t, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.out
	cmd.Stdout = s.out
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server output (last lines):\n%s", tail(s.out.String(), 40))
		}
	})
	line := s.waitFor(`listening on (\S+)`, 10*time.Second)
	s.addr = line[1]
	return s
}

// tail is the last n lines of s, each cut at 160 characters.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	for i, l := range lines {
		if len(l) > 160 {
			lines[i] = l[:160] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// waitFor waits until the server's output has a line matching re, and
// returns its submatches.
func (s *serveProc) waitFor(re string, within time.Duration) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(within)
	for {
		if m := rx.FindStringSubmatch(s.out.String()); m != nil {
			return m
		}
		select {
		case <-s.done:
			s.t.Fatalf("server exited (%v) before printing /%s/", s.err, re)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no /%s/ in the server's output within %v", re, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNoPanic fails the test if the server printed a Go panic or stack.
func (s *serveProc) checkNoPanic() {
	s.t.Helper()
	out := s.out.String()
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		s.t.Fatalf("the server panicked:\n%s", out)
	}
}

// fdCount is how many descriptors the server has open.
func (s *serveProc) fdCount() int {
	s.t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	return len(fds)
}

// memory returns VmRSS and VmHWM (the peak) from /proc/PID/status, in bytes.
func (s *serveProc) memory() (rss, peak int) {
	s.t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			kb, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "VmRSS:":
				rss = kb * 1024
			case "VmHWM:":
				peak = kb * 1024
			}
		}
	}
	return rss, peak
}

// syncBuffer collects a program's output while the test reads it.
type syncBuffer = proctest.Output

// rawClient speaks miniio by hand over a plain TCP connection.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	sid  string // the Engine.IO session id, from OPEN
	id   string // the socket's id, from the CONNECT answer
}

// dialRaw connects and reads OPEN.
func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: newReader(conn)}
	open := c.read()
	var h struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(open, "0{") || json.Unmarshal([]byte(open[1:]), &h) != nil {
		t.Fatalf("first frame %q, want OPEN", open)
	}
	c.sid = h.SID
	return c
}

// connectRaw dials and completes CONNECT.
func connectRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.send("40")
	c.id = connectAnswer(t, c.read(), c.sid)
	return c
}

// connectAnswer checks a CONNECT answer, 40{"sid":"…"}, and returns the
// socket id in it: never the session id of OPEN, which is a secret
// between the client and the server (it authorises long-polling
// requests), as in socket.io since v3.
func connectAnswer(t *testing.T, got, sessionID string) string {
	t.Helper()
	var a struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(got, "40{") || json.Unmarshal([]byte(got[2:]), &a) != nil || a.SID == "" || a.SID == sessionID {
		t.Fatalf("CONNECT answered %q, want 40{\"sid\":…} with a socket id other than the session id %q", got, sessionID)
	}
	return a.SID
}

func newReader(conn net.Conn) *bufio.Reader { return bufio.NewReader(conn) }

func (c *rawClient) send(texts ...string) {
	c.t.Helper()
	var b []byte
	for _, text := range texts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
		b = append(b, text...)
	}
	c.sendBytes(b)
}

func (c *rawClient) sendBytes(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame's text; it fails the test on EOF or after
// 10 seconds.
func (c *rawClient) read() string {
	c.t.Helper()
	text, err := c.next(10 * time.Second)
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return text
}

func (c *rawClient) next(within time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(within))
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return "", err
	}
	text := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.r, text); err != nil {
		return "", err
	}
	return string(text), nil
}

// readEvent skips PINGs (answering them) and returns the next other frame.
func (c *rawClient) readEvent() string {
	c.t.Helper()
	for {
		text := c.read()
		if text != "2" {
			return text
		}
		c.send("3")
	}
}

// expectClose reads up to the CLOSE frame, checks its reason starts with
// prefix, and checks that the server then closes the connection.
func (c *rawClient) expectClose(prefix string) string {
	c.t.Helper()
	var last string
	for {
		text, err := c.next(10 * time.Second)
		if err != nil {
			c.t.Fatalf("no CLOSE frame (after %q): %v", last, err)
		}
		last = text
		if strings.HasPrefix(text, "1") {
			break
		}
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(last[1:]), &body) != nil || !strings.HasPrefix(body.Reason, prefix) {
		c.t.Fatalf("CLOSE %q, want a reason starting %q", last, prefix)
	}
	if _, err := c.next(10 * time.Second); !errors.Is(err, io.EOF) && !isReset(err) {
		c.t.Fatalf("after CLOSE: %v, want the connection closed", err)
	}
	return body.Reason
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// ask sends an event with an ack id and returns the ack's arguments.
func (c *rawClient) ask(id int, event string, args ...string) string {
	c.t.Helper()
	text := fmt.Sprintf(`42%d[%q`, id, event)
	for _, a := range args {
		text += "," + a
	}
	c.send(text + "]")
	prefix := fmt.Sprintf("43%d", id)
	for {
		got := c.readEvent()
		if strings.HasPrefix(got, prefix+"[") {
			return got[len(prefix):]
		}
		if strings.HasPrefix(got, "1") {
			c.t.Fatalf("waiting for ack %d the server closed: %q", id, got)
		}
	}
}

// stats asks the server for its counters (the `stats` event): open
// connections, sockets that completed CONNECT, goroutines.
func (c *rawClient) stats(id int) (conns, connected, goroutines int) {
	c.t.Helper()
	var st []struct {
		Conns      int `json:"conns"`
		Connected  int `json:"connected"`
		Goroutines int `json:"goroutines"`
	}
	ack := c.ask(id, "stats")
	if json.Unmarshal([]byte(ack), &st) != nil || len(st) != 1 {
		c.t.Fatalf("stats ack %q", ack)
	}
	return st[0].Conns, st[0].Connected, st[0].Goroutines
}

// pythonClient is a miniio client in Python with nothing but the socket
// module: the protocol as DESIGN.md writes it, in another language.
const pythonClient = `
import json, socket, struct, sys

port = int(sys.argv[1])

class Peer:
    def __init__(self, name=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        kind, body = self.read()
        assert kind == "0", ("OPEN expected", kind, body)
        self.open = json.loads(body)
        auth = "" if name is None else json.dumps({"name": name})
        self.send("40" + auth)
        kind, body = self.read()
        assert kind == "4" and body.startswith('0{"sid":'), ("CONNECT answer", kind, body)
        self.sid = json.loads(body[1:])["sid"]
        # The socket's id, not the session's: that one stays a secret.
        assert self.sid and self.sid != self.open["sid"], (self.sid, self.open)

    def send(self, text):
        data = text.encode()
        self.s.sendall(struct.pack(">I", len(data)) + data)

    def fill(self, n):
        # Bytes stay in self.buf until a whole frame is there, so a
        # timeout in the middle of one loses nothing.
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk

    def read(self):
        self.fill(4)
        (n,) = struct.unpack(">I", self.buf[:4])
        self.fill(4 + n)
        text, self.buf = self.buf[4:4 + n].decode(), self.buf[4 + n:]
        return text[0], text[1:]

    def next_event(self):
        # Answer PINGs on the way, as every client must.
        while True:
            kind, body = self.read()
            if kind == "2":
                print("ping answered", flush=True)
                self.send("3")
                continue
            return kind, body

a = Peer("ann")
b = Peer()
o = a.open
assert o["pingInterval"] == 300 and o["pingTimeout"] == 5000 and o["maxPayload"] == 1048576, o
print("handshake ok", a.sid, b.sid, flush=True)

a.send('42["chat","hi from python"]')          # emit without ack
kind, body = b.next_event()
assert (kind, body) == ("4", '2["chat","ann","hi from python"]'), body
print("broadcast received:", body, flush=True)

a.send('427["echo","x",{"n":[1,2]}]')           # emit with ack 7
kind, body = a.next_event()
assert (kind, body) == ("4", '37["x",{"n":[1,2]}]'), body
print("ack received:", body, flush=True)

b.send('42["shout","hey"]')
for p in (a, b):
    kind, body = p.next_event()
    want = '2["shout","%s","hey"]' % b.sid
    assert (kind, body) == ("4", want), (body, want)
print("shout received by both", flush=True)

# Stay a while: the server PINGs every 300 ms, the answer keeps us in.
import time
end = time.time() + 1
pings = 0
b.s.settimeout(0.2)
while time.time() < end:
    try:
        kind, body = b.read()
    except socket.timeout:
        continue
    if kind == "2":
        b.send("3")
        pings += 1
assert pings >= 2, pings
b.s.settimeout(10)
print("pings answered:", pings, flush=True)

a.send("41")                                    # DISCONNECT
kind, body = a.read()
while kind == "2":                              # PINGs sent while we were not looking
    kind, body = a.read()
assert kind == "1" and json.loads(body)["reason"] == "client namespace disconnect", body
assert a.s.recv(1) == b""
print("disconnected", flush=True)
`

func TestServePythonClient(t *testing.T) {
	python := proctest.NeedTool(t, "python3")
	srv := startServer(t, "-ping-interval", "300ms", "-ping-timeout", "5s")
	_, port, _ := net.SplitHostPort(srv.addr)
	script := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(script, []byte(pythonClient), 0o644)
	out, err := exec.Command(python, script, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	for _, want := range []string{"handshake ok", "broadcast received", "ack received", "shout received by both", "pings answered", "disconnected"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("python client did not print %q:\n%s", want, out)
		}
	}
	// The server's log shows the conversation.
	srv.waitFor(`ann: chat "hi from python"`, 5*time.Second)
	srv.waitFor(`ann disconnected: client namespace disconnect`, 5*time.Second)
	srv.checkNoPanic()
}

func TestServeTokenAuth(t *testing.T) {
	srv := startServer(t, "-token", "s3cret")
	for _, auth := range []string{``, `{"token":"wrong"}`, `{"token":"s3cre"}`, `{"token":null}`} {
		c := dialRaw(t, srv.addr)
		c.send("40" + auth)
		if got := c.read(); got != `44{"message":"not authorized"}` {
			t.Fatalf("CONNECT %q answered %q", auth, got)
		}
		c.expectClose("not authorized")
	}
	c := dialRaw(t, srv.addr)
	c.send(`40{"token":"s3cret"}`)
	connectAnswer(t, c.read(), c.sid)
	if ack := c.ask(1, "echo", `"in"`); ack != `["in"]` {
		t.Fatalf("echo after auth: %q", ack)
	}
	srv.checkNoPanic()
}

func TestServeListensOnLoopbackByDefault(t *testing.T) {
	if wire.DefaultAddr != "127.0.0.1:7070" {
		t.Fatalf("wire.DefaultAddr %q: the server must bind loopback unless told otherwise", wire.DefaultAddr)
	}
	// Told otherwise, without a token: it says what that means.
	cmd := exec.Command(miniioBinary(t), "serve", "-addr", "0.0.0.0:0", "-http", "127.0.0.1:0")
	srv := runServer(t, cmd)
	srv.waitFor(`warning: listening beyond this machine without -token`, 5*time.Second)
}

// The warning judges the address the socket was bound to, not the
// flag's text: "localhost" is loopback.
func TestServeLocalhostIsLoopback(t *testing.T) {
	srv := runServer(t, exec.Command(miniioBinary(t), "serve", "-addr", "localhost:0", "-http", "127.0.0.1:0"))
	if !strings.HasPrefix(srv.addr, "127.0.0.1:") && !strings.HasPrefix(srv.addr, "[::1]:") {
		t.Fatalf("bound to %s", srv.addr)
	}
	c := connectRaw(t, srv.addr) // the log is written in order: the warning would come first
	c.ask(1, "echo", "1")
	srv.waitFor(`: echo 1`, 5*time.Second)
	if out := srv.out.String(); strings.Contains(out, "warning") {
		t.Errorf("bound to %s, it warns:\n%s", srv.addr, out)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := startServer(t)
			connected := []*rawClient{connectRaw(t, srv.addr), connectRaw(t, srv.addr)}
			waiting := dialRaw(t, srv.addr) // OPEN read, no CONNECT yet
			srv.cmd.Process.Signal(sig)
			for _, c := range append(connected, waiting) {
				c.expectClose(wire.ReasonShuttingDown)
			}
			select {
			case <-srv.done:
			case <-time.After(shutdownBound):
				t.Fatalf("still running %v after %v", shutdownBound, sig)
			}
			if srv.err != nil {
				t.Fatalf("exit: %v, want status 0", srv.err)
			}
			srv.checkNoPanic()
		})
	}
}

// shutdownBound is how long a graceful shutdown may take in the tests:
// the server's own bound (3 s for clients that do not read) and slack.
const shutdownBound = 8 * time.Second

func TestServeShutdownWithAStuckClient(t *testing.T) {
	// No output cap, so the client that stops reading is not dropped as a
	// slow consumer before the shutdown starts.
	srv := startServer(t, "-max-output", "-1", "-bench-events")
	sender := connectRaw(t, srv.addr)
	stuck := connectRaw(t, srv.addr)
	// stuck never reads: fill the kernel's buffers and the server's queue
	// for it with broadcasts, so its CLOSE frame can never be flushed.
	payload := `"` + strings.Repeat("x", 60000) + `"`
	for i := 0; i < 300; i++ {
		sender.send(`42["bcast",` + payload + `]`)
	}
	sender.ask(1, "echo") // all 300 were handled
	start := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(shutdownBound):
		t.Fatalf("a client that does not read kept the server from exiting for %v", shutdownBound)
	}
	if srv.err != nil {
		t.Fatalf("exit: %v", srv.err)
	}
	t.Logf("exited %v after SIGTERM with a stuck client", time.Since(start).Round(time.Millisecond))
	_ = stuck
	srv.checkNoPanic()
}

// The demo server keeps each room a client joins for as long as it stays,
// so it caps both how many and how long their names are: one client must
// not be able to make it hold a megabyte per join. Past either limit the
// join is refused in its ack, and the client stays connected.
func TestServeRoomLimits(t *testing.T) {
	srv := startServer(t)
	c := connectRaw(t, srv.addr)
	id := 0
	join := func(room string) string {
		id++
		return c.ask(id, "join", strconv.Quote(room))
	}
	for i := 1; i <= 20; i++ {
		if ack := join(fmt.Sprintf("r%02d", i)); !strings.Contains(ack, fmt.Sprintf(`"r%02d"`, i)) {
			t.Fatalf("join r%02d: ack %s", i, ack)
		}
	}
	if ack := join("r21"); ack != `[{"error":"at most 20 rooms at once: leave one first"}]` {
		t.Fatalf("a 21st room: ack %s", ack)
	}
	if ack := join("r05"); !strings.Contains(ack, `"r05"`) || strings.Contains(ack, "error") {
		t.Fatalf("joining a room it is in already: ack %s", ack)
	}
	id++
	if ack := c.ask(id, "leave", `"r01"`); strings.Contains(ack, `"r01"`) {
		t.Fatalf("leave r01: ack %s", ack)
	}
	if ack := join("r21"); !strings.Contains(ack, `"r21"`) {
		t.Fatalf("r21 after leaving one: ack %s", ack)
	}
	long := strings.Repeat("é", 41)
	if ack := join(long); ack != `[{"error":"a room name has at most 40 characters"}]` {
		t.Fatalf("a 41-character name: ack %s", ack)
	}
	if ack := c.ask(100, "echo", `"still here"`); ack != `["still here"]` {
		t.Fatalf("echo after the refusals: %q", ack)
	}
	srv.checkNoPanic()
}
