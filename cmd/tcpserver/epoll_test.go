//go:build linux

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// The -mode epoll tests: the event loop's promises, each checked the way
// a learner would see it (tcpclient's summary, Python peers, /proc, and
// strace).

// waitDone waits up to d for a program to exit and returns its status.
func waitDone(t *testing.T, r *proctest.Proc, d time.Duration) int {
	t.Helper()
	select {
	case <-r.Done:
		return r.Cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s still running after %v\nstdout:\n%s\nstderr:\n%s", r.Cmd.Path, d, r.Stdout.String(), r.Stderr.String())
		return 0
	}
}

// C10K: ten thousand clients connected at once to one single-threaded
// server, every echo correct. -together keeps them all open until 3 s
// after the last echo: on a busy machine the first ones would otherwise
// close before the last ones connect.
func TestEpollC10K(t *testing.T) {
	const n = 10000
	raiseFileLimit(t, n+100) // each program: n sockets and a few more
	srv, addr := startOnPort(t, 0, "-q", "-mode", "epoll", "-backlog", "4096")
	pid := srv.Cmd.Process.Pid
	c := proctest.Start(t, exec.Command(prog("tcpclient"), "-q", "-addr", addr, "-conns", fmt.Sprint(n), "-hold", "3s", "-together", "-timeout", "30s"))
	most := 0
	for {
		most = max(most, procCount(pid, "fd"))
		select {
		case <-c.Done:
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	out := c.Stdout.String() + c.Stderr.String()
	if code := waitDone(t, c, time.Minute); code != 0 {
		t.Fatalf("tcpclient exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		fmt.Sprintf("%d connections to %s: %d echoed correctly, 0 failed\n", n, addr, n),
		fmt.Sprintf("at most %d open at the same time\n", n),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tcpclient printed no %q:\n%s", want, out)
		}
	}
	// The server's side: ten thousand sockets open in one process.
	if most < n {
		t.Errorf("the server had at most %d descriptors open at once, want %d connections or more", most, n)
	}
	if threads := procCount(pid, "task"); threads > 20 {
		t.Errorf("the epoll server has %d threads; the event loop should need a handful", threads)
	}
	proctest.NoPanic(t, srv.Stderr.String())
	t.Logf("server: at most %d descriptors open, %d threads", most, procCount(pid, "task"))
}

// Out of file descriptors: accept4 fails with EMFILE while clients keep
// waiting in the queue. The server must not spin (a naive loop calls
// accept again at once, forever), must not die, and must take the
// waiting clients once descriptors are free again.
func TestEpollEMFILEDoesNotSpin(t *testing.T) {
	// 40 descriptors: 0–2, the listening socket 3, epoll 4, eventfd 5,
	// and room for 34 connections.
	srv, addr := startOnPort(t, 40, "-mode", "epoll")
	pid := srv.Cmd.Process.Pid
	// The Go runtime's own epoll must be open before the server can run
	// out of descriptors, or the runtime's first timer would kill the
	// process then (reactor.startRuntimePoller): ours and the runtime's.
	srv.WaitFor(t, &srv.Stderr, "epoll_ctl(")
	if n := countLinks(t, pid, "anon_inode:[eventpoll]"); n != 2 {
		t.Errorf("%d epoll descriptors once the loop runs, want 2 (ours and the Go runtime's)", n)
	}
	// 60 clients at once; each holds its connection 3 s after its echo.
	// 34 get in; the other 26 wait in the accept queue until the first
	// ones leave.
	c := proctest.Start(t, exec.Command(prog("tcpclient"), "-q", "-addr", addr, "-conns", "60", "-parallel", "60", "-hold", "3s", "-timeout", "30s"))
	srv.WaitFor(t, &srv.Stderr, "EMFILE (Too many open files)")
	cpu0 := procCPU(t, pid)
	time.Sleep(2 * time.Second)
	used := procCPU(t, pid) - cpu0
	if used > 500*time.Millisecond {
		t.Errorf("the server used %v of CPU in 2 s while out of descriptors: it spins", used)
	}
	out := c.Stdout.String() + c.Stderr.String()
	if code := waitDone(t, c, time.Minute); code != 0 {
		t.Fatalf("tcpclient exited %d:\n%s\nserver:\n%s", code, out, tail(srv.Stderr.String(), 40))
	}
	out = c.Stdout.String()
	if !strings.Contains(out, "60 echoed correctly, 0 failed") {
		t.Fatalf("not every client was served once descriptors were free:\n%s", out)
	}
	select {
	case <-srv.Done:
		t.Fatalf("the server exited:\n%s", tail(srv.Stderr.String(), 40))
	default:
	}
	trace := srv.Stderr.String()
	emfile := strings.Count(trace, "= -1 EMFILE")
	// A spinning server prints EMFILE thousands of times a second; this
	// one tries again when a connection closes, or once a second.
	if emfile > 100 {
		t.Errorf("accept4 failed with EMFILE %d times: the server keeps trying", emfile)
	}
	if !strings.Contains(trace, "{events=0, data={u32=3, u64=3}}) = 0") {
		t.Errorf("the server never stopped watching the listening socket (epoll_ctl MOD, events=0):\n%s", tail(trace, 40))
	}
	proctest.NoPanic(t, trace)
	t.Logf("CPU while out of descriptors: %v in 2 s; EMFILE seen %d times", used, emfile)
}

// slowReader sends as much as it can and never reads; it reports how
// many bytes the kernel took before its send blocked for a second.
const slowReader = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
sent = 0
chunk = b"x" * 65536
try:
    while sent < 256 << 20:
        sent += s.send(chunk)
except socket.timeout:
    pass
print(sent, flush=True)
sys.stdin.read()  # stay connected, still not reading, until the test closes stdin
`

// A client that sends and never reads gets its reads paused: its queue
// at the server is bounded, so its own sends block (TCP flow control),
// and everyone else is still served.
func TestEpollSlowReaderIsPaused(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1", "-mode", "epoll", "-max-output", "65536")
	host, port := hostPort(t, addr)
	slow := exec.Command("python3", "-c", slowReader, host, fmt.Sprint(port))
	stdin, err := slow.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := proctest.Start(t, slow)
	s := r.WaitFor(t, &r.Stdout, "\n")
	sent, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("slow reader printed %q", s)
	}
	// The kernel's buffers on both sides (a few MB at most) plus the
	// 64 KiB queue: far less than the 256 MiB it tried to send.
	if sent >= 64<<20 {
		t.Fatalf("the never-reading client sent %d bytes: the server kept reading from it", sent)
	}
	trace := srv.WaitFor(t, &srv.Stderr, "is not reading them: not reading from it until they are sent")
	if rss := procRSS(t, srv.Cmd.Process.Pid); rss > 64<<20 {
		t.Errorf("server RSS %d MB while one client does not read", rss>>20)
	}
	code, out := client(t, "-q", "-addr", addr, "-conns", "5")
	if code != 0 || !strings.Contains(out, "5 echoed correctly") {
		t.Fatalf("others not served while one client does not read (%d):\n%s", code, out)
	}
	stdin.Close()
	waitDone(t, r, proctest.Limit)
	proctest.NoPanic(t, trace)
	t.Logf("the client that never reads got %d bytes sent before it blocked", sent)
}

// resetMidWrite fills the server's output queue for this connection
// (send without reading), then closes with SO_LINGER 0: RST.
const resetMidWrite = `
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
try:
    while True:
        s.send(b"y" * 65536)
except socket.timeout:
    pass
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset")
`

// A peer that resets while the server still has its echo queued costs
// that connection only.
func TestEpollResetMidWrite(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1", "-mode", "epoll")
	host, port := hostPort(t, addr)
	proctest.RunPython(t, resetMidWrite, host, fmt.Sprint(port))
	s := srv.WaitFor(t, &srv.Stderr, " left: ")
	if !regexp.MustCompile(`# closing \d+: (ECONNRESET|EPIPE)`).MatchString(s) {
		t.Fatalf("no ECONNRESET/EPIPE for the reset connection:\n%s", tail(s, 30))
	}
	code, out := client(t, "-q", "-addr", addr, "-conns", "3")
	if code != 0 || !strings.Contains(out, "3 echoed correctly") {
		t.Fatalf("after the reset (%d):\n%s", code, out)
	}
	proctest.NoPanic(t, srv.Stderr.String())
}

// The trace of an epoll session matches strace's, epoll and eventfd
// calls included.
func TestEpollTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	srv := proctest.Start(t, tracetest.Command(log, prog("tcpserver"), "-mode", "epoll", "-addr", "127.0.0.1:0"))
	addr := listenAddr(t, srv)
	// Only now: at its start strace forks short-lived children of its own
	// (to test what ptrace can do), which tracee could find instead.
	pid := tracee(t, srv)
	// Killing strace (the test's cleanup) would leave the server running,
	// detached, holding the output pipes: end the server itself first.
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	for i := range 2 {
		c := exec.Command(prog("tcpclient"), "-q", "-addr", addr)
		c.Stdin = strings.NewReader(fmt.Sprintf("hello %d\n", i))
		if out, err := c.Output(); err != nil || string(out) != fmt.Sprintf("hello %d\n", i) {
			t.Fatalf("tcpclient: %v, %q", err, out)
		}
		waitCount(t, srv, "close(6) = 0\n", i+1)
	}
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatalf("kill -INT %d: %v\n%s", pid, err, srv.Stderr.String())
	}
	if code := srv.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d after SIGINT\n%s", code, srv.Stderr.String())
	}
	printed := srv.Stderr.String()
	for _, want := range []string{
		"epoll_create1(EPOLL_CLOEXEC) = 4\n",
		"eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 5\n",
		"fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n",
		"epoll_ctl(4, EPOLL_CTL_ADD, 3, {events=EPOLLIN, data={u32=3, u64=3}}) = 0\n",
		"epoll_wait(4, [{events=EPOLLIN, data={u32=3, u64=3}}], 128, -1) = 1\n",
		"SOCK_CLOEXEC|SOCK_NONBLOCK) = 6\n",
		"SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)\n",
		`read(6, "hello 1\n", 4096) = 8`,
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("trace lacks %q:\n%s", want, printed)
		}
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// From strace's side keep the sockets, and our epoll and eventfd
	// descriptors (4 and 5), not the Go runtime's own.
	ours := tracetest.Ours(printed)
	theirs := tracetest.Theirs(string(raw), []string{"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}, map[int]bool{4: true, 5: true})
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
}

// waitCount waits until the server's stderr holds want n times.
func waitCount(t *testing.T, r *proctest.Proc, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for strings.Count(r.Stderr.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q not printed %d times after %v:\n%s", want, n, proctest.Limit, r.Stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// countLinks counts the process's descriptors that point at target, as
// `ls -l /proc/PID/fd` shows them.
func countLinks(t *testing.T, pid int, target string) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if link, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && link == target {
			n++
		}
	}
	return n
}
