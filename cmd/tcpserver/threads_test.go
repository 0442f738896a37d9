//go:build linux

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// holdMany connects n clients that each stay connected for hold, and
// returns the most threads (/proc/PID/task) the server had meanwhile.
func holdMany(t *testing.T, pid int, addr string, n string, hold string) int {
	t.Helper()
	c := proctest.Start(t, exec.Command(prog("tcpclient"), "-q", "-addr", addr, "-conns", n, "-hold", hold))
	most := 0
	for {
		most = max(most, procCount(pid, "task"))
		select {
		case <-c.Done:
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	if code := waitDone(t, c, time.Minute); code != 0 || !strings.Contains(c.Stdout.String(), n+" echoed correctly, 0 failed") {
		t.Fatalf("tcpclient exited %d:\n%s%s", code, c.Stdout.String(), c.Stderr.String())
	}
	return most
}

// A goroutine per connection blocked in read(2) holds an OS thread each:
// 200 quiet clients make about 200 threads. The event loop serves the
// same 200 with a handful.
func TestThreadsModeThreadPerConnection(t *testing.T) {
	srv, addr := startOnPort(t, 0, "-q", "-mode", "threads")
	threads := holdMany(t, srv.Cmd.Process.Pid, addr, "200", "4s")
	if threads < 200 {
		t.Errorf("-mode threads: at most %d threads for 200 open connections, want one each (200 or more)", threads)
	}
	proctest.NoPanic(t, srv.Stderr.String())

	loop, addr := startOnPort(t, 0, "-q", "-mode", "epoll")
	loopThreads := holdMany(t, loop.Cmd.Process.Pid, addr, "200", "4s")
	if loopThreads > 20 {
		t.Errorf("-mode epoll: %d threads for 200 connections, want a handful", loopThreads)
	}
	t.Logf("200 held connections: -mode threads %d threads, -mode epoll %d", threads, loopThreads)
}

// The threads server answers EMFILE by waiting a little, not by calling
// accept again at once; and it goes on serving.
func TestThreadsModeEMFILE(t *testing.T) {
	srv, addr := startOnPort(t, 30, "-mode", "threads")
	pid := srv.Cmd.Process.Pid
	c := proctest.Start(t, exec.Command(prog("tcpclient"), "-q", "-addr", addr, "-conns", "40", "-parallel", "40", "-hold", "2s", "-timeout", "30s"))
	srv.WaitFor(t, &srv.Stderr, "EMFILE (Too many open files)")
	cpu0 := procCPU(t, pid)
	time.Sleep(time.Second)
	if used := procCPU(t, pid) - cpu0; used > 500*time.Millisecond {
		t.Errorf("the threads server used %v of CPU in 1 s while out of descriptors: it spins", used)
	}
	if code := waitDone(t, c, time.Minute); code != 0 {
		t.Fatalf("tcpclient exited %d:\n%s%s", code, c.Stdout.String(), c.Stderr.String())
	}
	proctest.NoPanic(t, srv.Stderr.String())
}

// A flood against a thread per connection, when the kernel allows this
// user only 100 threads (ulimit -u, applied to the server alone with
// prlimit, under a uid of its own so that nothing else counts against
// it): Go cannot survive a refused thread ("fatal error: newosproc"), so
// the server must stay below the limit, say so, serve the flood in
// turns, and be alive for a later client. Needs root for setpriv; where
// the tests cannot run as root, SOCKLAB_ALLOW_MISSING=setuid skips it
// knowingly.
func TestThreadsModeSurvivesThreadLimit(t *testing.T) {
	if os.Geteuid() != 0 {
		proctest.Need(t, "setuid", fmt.Errorf("not root (euid %d): the server must run under a uid of its own, through setpriv", os.Geteuid()))
	}
	for _, tool := range []string{"setpriv", "prlimit"} {
		proctest.NeedTool(t, tool) // util-linux
	}
	// The test binaries sit in a directory only root may enter: copy the
	// server where the other uid can run it.
	dir, err := os.MkdirTemp("", "socklab-nproc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	raw, err := os.ReadFile(prog("tcpserver"))
	if err != nil {
		t.Fatal(err)
	}
	server := filepath.Join(dir, "tcpserver")
	if err := os.WriteFile(server, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	uid := "54321" // no such user: no other process of it can count against the limit
	srv := proctest.Start(t, exec.Command("setpriv", "--reuid="+uid, "--regid="+uid, "--clear-groups",
		"prlimit", "--nproc=100", server, "-mode", "threads", "-addr", addr))
	waitListening(t, srv, addr)

	code, out := client(t, "-q", "-addr", addr, "-conns", "200", "-parallel", "200", "-hold", "3s", "-timeout", "30s")
	select {
	case <-srv.Done:
		t.Fatalf("the server died during the flood (exit %d):\n%s", srv.Cmd.ProcessState.ExitCode(), tail(srv.Stderr.String(), 3000))
	default:
	}
	proctest.NoPanic(t, srv.Stderr.String())
	if code != 0 || !strings.Contains(out, "200 echoed correctly, 0 failed") {
		t.Errorf("the flood: tcpclient exited %d:\n%s", code, out)
	}
	for _, want := range []string{"# ulimit -u is 100 threads for this user", "not accepting until one leaves"} {
		if !strings.Contains(srv.Stderr.String(), want) {
			t.Errorf("no %q from the server", want)
		}
	}
	if code, out := client(t, "-q", "-addr", addr, "-conns", "1"); code != 0 {
		t.Fatalf("a client after the flood: exit %d\n%s", code, out)
	}
}

// -max-threads below 1 is refused with a clear message.
func TestThreadsModeBadMaxThreads(t *testing.T) {
	code, out := runServer(t, "-mode", "threads", "-addr", "127.0.0.1:0", "-max-threads", "0")
	if code != 2 || !strings.Contains(out, "-max-threads must be at least 1, not 0") {
		t.Fatalf("exit %d, want 2 and a clear message:\n%s", code, out)
	}
}

// runServer runs tcpserver to its end and returns its exit status and
// everything it printed.
func runServer(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r := proctest.Start(t, exec.Command(prog("tcpserver"), args...))
	code := r.ExitCode(t)
	return code, r.Stdout.String() + r.Stderr.String()
}
