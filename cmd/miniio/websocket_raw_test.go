//go:build linux

package main

// The WebSocket side of `miniio serve` on raw sockets, each answer checked
// byte for byte: the HTTP refusals before any upgrade, and the close codes
// for frames that break RFC 6455. (The full hostile suite, with fd and
// memory checks, builds on these helpers.)

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
	"socklab/internal/websocket"
)

// wsRaw is a hand-made WebSocket client: bytes in, bytes out.
type wsRaw struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func wsDialRaw(t *testing.T, port int) *wsRaw {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	return &wsRaw{t: t, conn: conn, r: bufio.NewReader(conn)}
}

const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

func wsRequest(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n"
}

func (w *wsRaw) write(b string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(b)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// answer reads an HTTP answer: the head, and the body by Content-Length.
func (w *wsRaw) answer() (head, body string) {
	w.t.Helper()
	var h strings.Builder
	n := 0
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			w.t.Fatalf("reading the answer's head (%q so far): %v", h.String(), err)
		}
		h.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(w.r, b); err != nil {
		w.t.Fatalf("reading the body: %v", err)
	}
	return h.String(), string(b)
}

// upgrade does the handshake and reads OPEN.
func (w *wsRaw) upgrade() string {
	w.t.Helper()
	w.write(wsRequest("/socket.io/?EIO=4&transport=websocket"))
	head, _ := w.answer()
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		w.t.Fatalf("handshake answered %q", head)
	}
	op, open := w.frame()
	if op != websocket.OpText || !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
		w.t.Fatalf("first message %v %q, want OPEN with upgrades []", op, open)
	}
	return open
}

// frame reads one frame from the server, which must be unmasked.
func (w *wsRaw) frame() (websocket.Opcode, string) {
	w.t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		w.t.Fatalf("reading a frame: %v", err)
	}
	if hdr[1]&0x80 != 0 {
		w.t.Fatalf("the server masked a frame")
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(w.r, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(w.r, b[:])
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.r, p); err != nil {
		w.t.Fatalf("reading a frame's %d bytes: %v", n, err)
	}
	return websocket.Opcode(hdr[0] & 0x0f), string(p)
}

// send writes one masked frame.
func (w *wsRaw) send(op websocket.Opcode, payload string) {
	w.t.Helper()
	w.write(string(websocket.AppendMaskedFrame(nil, true, op, [4]byte{1, 2, 3, 4}, []byte(payload))))
}

// expectClose reads up to a close frame and checks its code, and that the
// server then closes the connection.
func (w *wsRaw) expectClose(code uint16) string {
	w.t.Helper()
	for {
		op, p := w.frame()
		if op != websocket.OpClose {
			continue
		}
		if len(p) < 2 || binary.BigEndian.Uint16([]byte(p)) != code {
			w.t.Fatalf("close frame %q, want code %d", p, code)
		}
		if _, err := w.r.ReadByte(); err != io.EOF {
			w.t.Fatalf("after the close frame: %v, want EOF", err)
		}
		return p[2:]
	}
}

func TestWebSocketRefusedBeforeUpgrade(t *testing.T) {
	srv := startServer(t, "-head-timeout", "500ms")
	port := srv.httpPort()
	cases := []struct {
		name, request, status, body string
	}{
		{"wrong path", wsRequest("/chat"), "404", "nothing here but /socket.io/\n"},
		{"EIO 3", wsRequest("/socket.io/?EIO=3&transport=websocket"), "400", `{"code":5,"message":"Unsupported protocol version"}`},
		{"unknown transport", wsRequest("/socket.io/?EIO=4&transport=carrier-pigeon"), "400", `{"code":0,"message":"Transport unknown"}`},
		{"no transport", wsRequest("/socket.io/?EIO=4"), "400", `{"code":0,"message":"Transport unknown"}`},
		{"an upgrade's sid", wsRequest("/socket.io/?EIO=4&transport=websocket&sid=abc"), "400", `{"code":1,"message":"Session ID unknown"}`},
		{"POST", strings.Replace(wsRequest("/socket.io/?EIO=4&transport=websocket"), "GET", "POST", 1), "400", `{"code":2,"message":"Bad handshake method"}`},
		{"no Upgrade", strings.Replace(wsRequest("/socket.io/?EIO=4&transport=websocket"), "Upgrade: websocket\r\n", "", 1), "426", ""},
		{"header bomb", "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", "431", ""},
	}
	for _, c := range cases {
		w := wsDialRaw(t, port)
		w.write(c.request)
		head, body := w.answer()
		if !strings.HasPrefix(head, "HTTP/1.1 "+c.status+" ") || c.body != "" && body != c.body {
			t.Errorf("%s: answered %q %q, want %s %q", c.name, head, body, c.status, c.body)
		}
		if _, err := w.r.ReadByte(); err != io.EOF {
			t.Errorf("%s: after the answer: %v, want the connection closed", c.name, err)
		}
	}
	// slowloris: half a request head, then nothing.
	w := wsDialRaw(t, port)
	w.write("GET /socket.io/?EIO=4&trans")
	start := time.Now()
	if head, _ := w.answer(); !strings.HasPrefix(head, "HTTP/1.1 408 ") {
		t.Errorf("half a head: answered %q, want 408", head)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("half a head was cut off after %v; -head-timeout is 500ms", d)
	}
	// And the server still serves.
	good := wsDialRaw(t, port)
	good.upgrade()
	srv.checkNoPanic()
}

func TestWebSocketFrames(t *testing.T) {
	srv := startServer(t, "-max-payload", "1000")
	port := srv.httpPort()

	// A good session: CONNECT, an echo, a ping, an unknown namespace,
	// then the client's close handshake.
	w := wsDialRaw(t, port)
	w.upgrade()
	w.send(websocket.OpText, "40")
	if _, p := w.frame(); !strings.HasPrefix(p, `40{"sid":"`) {
		t.Fatalf("CONNECT answered %q", p)
	}
	w.send(websocket.OpText, `421["echo","hé"]`)
	if _, p := w.frame(); p != `431["hé"]` {
		t.Fatalf("echo answered %q", p)
	}
	w.send(websocket.OpPing, "are you there")
	if op, p := w.frame(); op != websocket.OpPong || p != "are you there" {
		t.Fatalf("ping answered %v %q", op, p)
	}
	w.send(websocket.OpText, "40/admin,")
	if _, p := w.frame(); p != `44/admin,{"message":"Invalid namespace"}` {
		t.Fatalf("CONNECT to /admin answered %q", p)
	}
	w.send(websocket.OpClose, "\x03\xe8bye")
	w.expectClose(1000)

	frames := []struct {
		name  string
		bytes string
		code  uint16
	}{
		{"unmasked", "\x81\x0242", 1002},
		{"RSV bits", "\xc1\x82\x00\x00\x00\x0042", 1002},
		{"unknown opcode", "\x83\x80\x00\x00\x00\x00", 1002},
		{"fragmented ping", "\x09\x80\x00\x00\x00\x00", 1002},
		{"continuation without a start", "\x80\x80\x00\x00\x00\x00", 1002},
		{"64-bit length past maxPayload", "\x81\xff\x00\x00\x00\x01\x00\x00\x00\x00", 1009},
		{"invalid UTF-8", "\x81\x82\x00\x00\x00\x00\xc3\x28", 1007},
		{"binary", "\x82\x82\x00\x00\x00\x0042", 1003},
	}
	for _, f := range frames {
		w := wsDialRaw(t, port)
		w.upgrade()
		w.write(f.bytes)
		if reason := w.expectClose(f.code); reason == "" {
			t.Errorf("%s: close %d without a reason", f.name, f.code)
		}
	}
	srv.checkNoPanic()
}

// The promise of every socklab program, for a WebSocket session: the
// socket calls `miniio serve -trace` prints are the ones strace sees, in
// the same order, from the listening sockets through accept4 on the HTTP
// port to close, epoll and eventfd included.
func TestWebSocketTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	srv := proctest.Start(t, tracetest.Command(log, miniioBinary(t), "serve", "-trace", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0"))
	m := regexp.MustCompile(`socket\.io clients: http://127\.0\.0\.1:(\d+)/`).FindStringSubmatch(srv.WaitFor(t, &srv.Stderr, "socket.io clients: "))
	if m == nil {
		t.Fatalf("no -http address in:\n%s", srv.Stderr.String())
	}
	port, _ := strconv.Atoi(m[1])
	// The server is strace's child; SIGINT goes to it, not to strace.
	pid := straceChild(t, srv)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })

	w := wsDialRaw(t, port)
	w.upgrade()
	w.send(websocket.OpText, "40")
	w.frame()
	w.send(websocket.OpText, `421["echo","hi"]`)
	if _, p := w.frame(); p != `431["hi"]` {
		t.Fatalf("echo answered %q", p)
	}
	w.send(websocket.OpClose, "\x03\xe8")
	w.expectClose(1000)
	srv.WaitFor(t, &srv.Stderr, "disconnected: transport close")
	// Killed, not interrupted: the shutdown is two threads at once (the
	// signal's goroutine wakes the loop through the eventfd while the
	// loop returns from epoll_wait), and which of them prints first is
	// not the order strace saw. The session itself is one thread's.
	// strace leaves out the epoll_wait that never returned.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.ExitCode(t)
	printed := srv.Stderr.String()
	for _, want := range []string{"accept4(4, ", `read(7, "GET /socket.io/?EIO=4&transport=`, `writev(7, [{iov_base="HTTP/1.1 101 Switching Protocols`, "close(7) = 0"} {
		if !strings.Contains(printed, want) {
			t.Errorf("trace lacks %q:\n%s", want, printed)
		}
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// Descriptors: 3 the TCP listener, 4 the HTTP one, 5 epoll, 6 eventfd.
	ours := tracetest.Ours(printed)
	theirs := tracetest.Theirs(string(raw), []string{"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}, map[int]bool{5: true, 6: true})
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
}

// straceChild is the PID of the program strace started.
func straceChild(t *testing.T, strace *proctest.Proc) int {
	t.Helper()
	pid := strace.Cmd.Process.Pid
	path := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	deadline := time.Now().Add(proctest.Limit)
	for time.Now().Before(deadline) {
		raw, _ := os.ReadFile(path)
		if f := strings.Fields(string(raw)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			return child
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("strace (pid %d) started no program", pid)
	return 0
}
