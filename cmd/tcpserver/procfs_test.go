//go:build linux

package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// Helpers for the -mode threads and -mode epoll tests: what a learner
// would look at in /proc, and a server started with -q (which prints no
// "listening on" note, so the test picks the port itself).

// freePort asks the kernel for a free loopback port (bind to port 0),
// and gives it back for the program to take.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startOnPort runs `tcpserver -addr 127.0.0.1:PORT args…`, through
// `sh -c 'ulimit -n LIMIT; exec …'` when limit > 0 (exec keeps the PID),
// and waits until it accepts connections.
func startOnPort(t *testing.T, limit int, args ...string) (*proctest.Proc, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	argv := append([]string{prog("tcpserver"), "-addr", addr}, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	if limit > 0 {
		cmd = exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$@"`, limit), "sh"}, argv...)...)
	}
	srv := proctest.Start(t, cmd)
	waitListening(t, srv, addr)
	return srv, addr
}

// waitListening connects until the server answers (one short echo).
func waitListening(t *testing.T, srv *proctest.Proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for time.Now().Before(deadline) {
		select {
		case <-srv.Done:
			t.Fatalf("server exited:\n%s", srv.Stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("ready?\n"))
			buf := make([]byte, 7)
			_, err = c.Read(buf)
			c.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s not answering after %v:\n%s", addr, proctest.Limit, srv.Stderr.String())
}

// procCount is how many entries /proc/PID/DIR has: DIR "task" is the
// process's threads, "fd" its open descriptors.
func procCount(pid int, dir string) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/%s", pid, dir))
	if err != nil {
		return -1
	}
	return len(entries)
}

// procCPU is the CPU time the process has used so far (user + system),
// from fields 14 and 15 of /proc/PID/stat, in clock ticks (1/100 s).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procRSS is VmRSS from /proc/PID/status, in bytes: the memory the
// process has in RAM now (what ps shows as RSS).
func procRSS(t testing.TB, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// raiseFileLimit lets this test process (and the programs it starts,
// which inherit it) open n descriptors each: the soft limit goes up to n,
// and the hard limit too if it is lower (that needs root).
func raiseFileLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	want := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		proctest.Need(t, "nofile", fmt.Errorf("cannot raise the open-file limit from %d (hard %d) to %d: %v; try `ulimit -n %d` first", lim.Cur, lim.Max, n, err, n))
	}
}

// client runs tcpclient with args and returns its exit status and
// everything it printed.
func client(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r := proctest.Start(t, exec.Command(prog("tcpclient"), args...))
	code := r.ExitCode(t)
	return code, r.Stdout.String() + r.Stderr.String()
}
