//go:build linux

package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// TestTraceMatchesStrace is the promise of the trace: run tcpclient
// under strace against a server; the socket calls strace saw are the ones
// tcpclient printed, in the same order, with the same descriptors and
// results. Also when nothing listens (ECONNREFUSED).
func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			srv, addr := startServer(t, host)
			log := filepath.Join(t.TempDir(), "strace.log")
			cmd := tracetest.Command(log, prog("tcpclient"), "-addr", addr)
			cmd.Stdin = strings.NewReader("hello\n")
			cl := proctest.Start(t, cmd)
			if code := cl.ExitCode(t); code != 0 {
				t.Fatalf("exit status %d\n%s", code, cl.Stderr.String())
			}
			if got := cl.Stdout.String(); got != "hello\n" {
				t.Fatalf("stdout %q, want exactly the echo %q", got, "hello\n")
			}
			printed := cl.Stderr.String()
			ours := tracetest.Ours(printed)
			want := []string{"socket(", "connect(3, ", "getsockname(3, ", `write(3, "hello\n", 6) = 6`,
				"shutdown(3, SHUT_WR) = 0", `read(3, "hello\n", 4096) = 6`, `read(3, "", 4096) = 0`, "close(3) = 0"}
			if len(ours) != len(want) {
				t.Fatalf("printed %d calls, want %d:\n%s", len(ours), len(want), printed)
			}
			for i, w := range want {
				if !strings.HasPrefix(ours[i], w) {
					t.Errorf("call %d is %q, want %q…", i+1, ours[i], w)
				}
			}
			if !strings.HasSuffix(ours[0], ") = 3") {
				t.Errorf("the socket is not fd 3: %s", ours[0])
			}
			compareWithStrace(t, printed, log)
			srv.WaitFor(t, &srv.Stderr, "close(4) = 0")
		})
	}
	t.Run("refused", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "strace.log")
		cl := proctest.Start(t, tracetest.Command(log, prog("tcpclient"), "-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))))
		if code := cl.ExitCode(t); code != 1 {
			t.Fatalf("exit status %d, want 1\n%s", code, cl.Stderr.String())
		}
		compareWithStrace(t, cl.Stderr.String(), log)
	})
}

func compareWithStrace(t *testing.T, printed, logPath string) {
	t.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if d := tracetest.Diff(tracetest.Ours(printed), tracetest.Theirs(string(raw), nil, nil)); d != "" {
		t.Fatal(d)
	}
}

// freePort asks the kernel for a free loopback port and lets it go again,
// for a peer that must be told its port (socat) or for nobody at all.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// echoServer is a Python echo server for one client: it prints its port,
// echoes until the client's FIN, then closes.
const echoServer = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
c.close()
`

func TestAgainstPythonEchoServer(t *testing.T) {
	py := proctest.Start(t, exec.Command("python3", "-c", echoServer))
	port := strings.TrimSpace(py.WaitFor(t, &py.Stdout, "\n"))

	// 1 MiB, every byte value: more than the socket buffers hold, so
	// sending and receiving must overlap, or both sides would wait forever.
	data := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 4096)
	cmd := exec.Command(prog("tcpclient"), "-q", "-addr", "127.0.0.1:"+port)
	cmd.Stdin = bytes.NewReader(data)
	cl := proctest.Start(t, cmd)
	if code := cl.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d\n%s", code, cl.Stderr.String())
	}
	if got := cl.Stdout.String(); got != string(data) {
		t.Fatalf("echo differs: sent %d bytes, got %d", len(data), len(got))
	}
	if code := py.ExitCode(t); code != 0 {
		t.Fatalf("python server exit status %d\n%s", code, py.Stderr.String())
	}
}

func TestAgainstSocat(t *testing.T) {
	port := freePort(t)
	socat := proctest.Start(t, exec.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port), "PIPE"))
	waitListening(t, socat, port)

	cmd := exec.Command(prog("tcpclient"), "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Stdin = strings.NewReader("hello socat\n")
	cl := proctest.Start(t, cmd)
	if code := cl.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d\n%s", code, cl.Stderr.String())
	}
	if got := cl.Stdout.String(); got != "hello socat\n" {
		t.Fatalf("stdout %q", got)
	}
	if s := cl.Stderr.String(); !strings.Contains(s, `read(3, "", 4096) = 0`) || !strings.HasSuffix(s, "close(3) = 0\n") {
		t.Fatalf("no clean end of file and close:\n%s", s)
	}
}

// waitListening waits until ss shows a listening socket on port.
func waitListening(t *testing.T, r *proctest.Proc, port int) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("ss", "-Htln", fmt.Sprintf("sport = :%d", port)).Output()
		if strings.Contains(string(out), "LISTEN") {
			return
		}
		select {
		case <-r.Done:
			t.Fatalf("%s exited:\n%s", r.Cmd.Path, r.Stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listens on port %d after %v", port, proctest.Limit)
}

func TestConnectionRefused(t *testing.T) {
	port := freePort(t) // free: nothing listens there
	cl := proctest.Start(t, exec.Command(prog("tcpclient"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)))
	if code := cl.ExitCode(t); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s", code, cl.Stderr.String())
	}
	s := cl.Stderr.String()
	for _, want := range []string{
		fmt.Sprintf(`connect(3, {sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)`, port),
		fmt.Sprintf("tcpclient: connect 127.0.0.1:%d: ECONNREFUSED (Connection refused)\n", port),
		"hint: nothing is listening at that address and port",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("stderr lacks %q:\n%s", want, s)
		}
	}
	proctest.NoPanic(t, s)
}

// session is a tcpclient whose stdin the test types into, connected to a
// tcpserver the test can stop and kill.
type session struct {
	srv, cl *proctest.Proc
	stdin   *bufio.Writer
}

func newSession(t *testing.T) *session {
	t.Helper()
	srv, addr := startServer(t, "127.0.0.1")
	cmd := exec.Command(prog("tcpclient"), "-addr", addr)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{srv: srv, stdin: bufio.NewWriter(in)}
	s.cl = proctest.Start(t, cmd)
	t.Cleanup(func() { in.Close() })
	s.send(t, "one\n")
	s.cl.WaitFor(t, &s.cl.Stdout, "one\n") // connected, accepted, echoed
	return s
}

func (s *session) send(t *testing.T, line string) {
	t.Helper()
	s.stdin.WriteString(line)
	if err := s.stdin.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestServerKilledAfterEcho: the server dies with nothing unread. Its
// kernel closes the socket normally, with FIN, so the client reads end
// of file, not an error. The client can still send; the dead server's
// kernel answers that with RST, and the next write fails with EPIPE.
// (Go ignores the SIGPIPE that comes with it, so the program lives to
// print the error.)
func TestServerKilledAfterEcho(t *testing.T) {
	s := newSession(t)
	s.srv.Signal(t, syscall.SIGKILL)
	s.cl.WaitFor(t, &s.cl.Stderr, `read(3, "", 4096) = 0`)
	// Its stdin is a pipe: nothing to say about Ctrl-D.
	s.cl.WaitFor(t, &s.cl.Stderr, "# the server closed its side first; still sending stdin\n")

	s.send(t, "two\n")
	s.cl.WaitFor(t, &s.cl.Stderr, `write(3, "two\n", 4) = 4`)
	// The RST for "two" comes back at once on loopback; wait until the
	// kernel has dropped the connection before writing again.
	waitGone(t, s.cl)
	s.send(t, "three\n")
	if code := s.cl.ExitCode(t); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s", code, s.cl.Stderr.String())
	}
	out := s.cl.Stderr.String()
	for _, want := range []string{
		`write(3, "three\n", 6) = -1 EPIPE (Broken pipe)` + "\n",
		"tcpclient: write: EPIPE (Broken pipe)\n",
		"hint: the peer has closed the connection",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	proctest.NoPanic(t, out)
}

// TestServerKilledWithUnreadData: the server is stopped, the client
// sends a line the server never reads, then the server is killed. A
// socket closed with unread data is reset: the kernel sends RST, and the
// client's waiting read fails with ECONNRESET.
func TestServerKilledWithUnreadData(t *testing.T) {
	s := newSession(t)
	s.srv.Signal(t, syscall.SIGSTOP)
	waitStopped(t, s.srv)
	s.send(t, "unread\n")
	s.cl.WaitFor(t, &s.cl.Stderr, `write(3, "unread\n", 7) = 7`)
	waitUnread(t, s.cl, 7) // arrived, and waiting in the server's socket
	s.srv.Signal(t, syscall.SIGKILL)
	if code := s.cl.ExitCode(t); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s", code, s.cl.Stderr.String())
	}
	out := s.cl.Stderr.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^read\(3, 0x[0-9a-f]+, 4096\) = -1 ECONNRESET \(Connection reset by peer\)$`),
		regexp.MustCompile(`(?m)^tcpclient: read: ECONNRESET \(Connection reset by peer\)$`),
		regexp.MustCompile(`(?m)^hint: the peer closed the connection abruptly`),
	} {
		if !want.MatchString(out) {
			t.Errorf("stderr does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `read(3, "", 4096) = 0`) {
		t.Errorf("the client saw a normal end of file before the reset:\n%s", out)
	}
	proctest.NoPanic(t, out)
}

var connectedNote = regexp.MustCompile(`# connected: 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+) `)

// waitGone waits until ss no longer lists the client's connection: the
// kernel has taken the RST and dropped it.
func waitGone(t *testing.T, cl *proctest.Proc) {
	t.Helper()
	m := connectedNote.FindStringSubmatch(cl.Stderr.String())
	if m == nil {
		t.Fatalf("no connected note:\n%s", cl.Stderr.String())
	}
	filter := fmt.Sprintf("sport = :%s and dport = :%s", m[1], m[2]) // this connection only
	deadline := time.Now().Add(proctest.Limit)
	var out []byte
	for time.Now().Before(deadline) {
		var err error
		out, err = exec.Command("ss", "-Htan", filter).Output()
		if err != nil {
			t.Fatalf("ss: %v", err)
		}
		if strings.TrimSpace(string(out)) == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the connection is still there:\n%s\nclient:\n%s", out, cl.Stderr.String())
}

// waitStopped waits until every thread of the process has stopped
// (SIGSTOP takes effect a moment after kill returns).
func waitStopped(t *testing.T, r *proctest.Proc) {
	t.Helper()
	pid := r.Cmd.Process.Pid
	deadline := time.Now().Add(proctest.Limit)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := 0
		for _, task := range tasks {
			raw, _ := os.ReadFile(task)
			// "pid (comm) S ...": the state letter follows the closing parenthesis.
			if i := bytes.LastIndexByte(raw, ')'); i >= 0 && i+2 < len(raw) && raw[i+2] == 'T' {
				stopped++
			}
		}
		if len(tasks) > 0 && stopped == len(tasks) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not stop", pid)
}

// waitUnread waits until ss shows n bytes waiting in the receive queue
// of the server's end of the client's connection.
func waitUnread(t *testing.T, cl *proctest.Proc, n int) {
	t.Helper()
	m := connectedNote.FindStringSubmatch(cl.Stderr.String())
	if m == nil {
		t.Fatalf("no connected note:\n%s", cl.Stderr.String())
	}
	filter := fmt.Sprintf("sport = :%s and dport = :%s", m[2], m[1]) // the server's end
	deadline := time.Now().Add(proctest.Limit)
	var out []byte
	for time.Now().Before(deadline) {
		out, _ = exec.Command("ss", "-Htan", filter).Output()
		if f := strings.Fields(string(out)); len(f) > 1 && f[1] == fmt.Sprint(n) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("want Recv-Q %d at the server's end, ss shows:\n%s", n, out)
}

// TestChunk: -chunk 4 makes one write per 4 bytes; the bytes come back
// all the same, in order.
func TestChunk(t *testing.T) {
	_, addr := startServer(t, "127.0.0.1")
	cmd := exec.Command(prog("tcpclient"), "-addr", addr, "-chunk", "4", "-pause", "20ms")
	cmd.Stdin = strings.NewReader("hello world\n")
	cl := proctest.Start(t, cmd)
	if code := cl.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d\n%s", code, cl.Stderr.String())
	}
	if got := cl.Stdout.String(); got != "hello world\n" {
		t.Fatalf("stdout %q", got)
	}
	var writes []string
	for _, call := range tracetest.Ours(cl.Stderr.String()) {
		if strings.HasPrefix(call, "write(") {
			writes = append(writes, call)
		}
	}
	want := []string{`write(3, "hell", 4) = 4`, `write(3, "o wo", 4) = 4`, `write(3, "rld\n", 4) = 4`}
	if strings.Join(writes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(writes, "\n"), strings.Join(want, "\n"))
	}
}

func TestBadArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "localhost"}, "want HOST:PORT"},
		{[]string{"-addr", "[::1]7000"}, "want [IPv6]:PORT"},
		{[]string{"-addr", "127.0.0.1:http"}, "bad port"},
		{[]string{"-chunk", "-1"}, "cannot be negative"},
		{[]string{"hello"}, `unexpected argument "hello"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cl := proctest.Start(t, exec.Command(prog("tcpclient"), tc.args...))
			if code := cl.ExitCode(t); code != 2 {
				t.Fatalf("exit status %d, want 2\n%s", code, cl.Stderr.String())
			}
			s := cl.Stderr.String()
			if !strings.Contains(s, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, s)
			}
			if strings.Contains(s, "socket(") {
				t.Errorf("a socket was made despite the bad arguments:\n%s", s)
			}
			proctest.NoPanic(t, s)
		})
	}
}

// TestStdoutClosedEarly is `tcpclient < big | head -c1`: the reader of
// our stdout goes away while the echo still streams in. Like cat or any
// Unix filter, tcpclient then dies of SIGPIPE, quietly (the shell shows
// status 141) and at once: no stack trace, no hang. Go lets SIGPIPE kill
// a program only for writes to fds 1 and 2; on the socket the same event
// is the EPIPE error TestServerKilledAfterEcho meets. The server just
// sees its client vanish and goes on serving.
func TestStdoutClosedEarly(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1")
	pipeOut, pipeIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeOut.Close()
	cmd := exec.Command(prog("tcpclient"), "-q", "-addr", addr)
	cmd.Stdin = bytes.NewReader(make([]byte, 4<<20)) // far more than the pipe and socket buffers hold
	// The program's own fd 1 is the pipe, with no copying in between.
	cmd.Stdout = pipeIn
	r := proctest.Start(t, cmd)
	pipeIn.Close()
	if _, err := io.ReadFull(pipeOut, make([]byte, 1)); err != nil { // head -c1
		t.Fatal(err)
	}
	pipeOut.Close()

	r.ExitCode(t) // bounded wait
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Fatalf("want death by SIGPIPE, got %v\n%s", cmd.ProcessState, r.Stderr.String())
	}
	proctest.NoPanic(t, r.Stderr.String())

	next := exec.Command(prog("tcpclient"), "-q", "-addr", addr)
	next.Stdin = strings.NewReader("next\n")
	if out, err := next.Output(); err != nil || string(out) != "next\n" {
		t.Fatalf("the server did not serve the next client: %v, %q\n%s", err, out, srv.Stderr.String())
	}
}
