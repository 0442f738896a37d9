//go:build linux

package main_test

import (
	"os/exec"
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
