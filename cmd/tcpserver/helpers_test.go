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
	"testing"
	"time"

	"socklab/internal/proctest"
)

// The tests run the real programs, built once into a temporary directory
// (with -race under go test -race).
var binDir string

func TestMain(m *testing.M) {
	proctest.Main(m, func(dir string) { binDir = dir }, "socklab/cmd/tcpserver", "socklab/cmd/tcpclient")
}

func prog(name string) string { return filepath.Join(binDir, name) }

// waitLimit bounds every wait in these tests.
const waitLimit = proctest.Limit

// A running program and what it printed: see internal/proctest.
type (
	running = proctest.Proc
	output  = proctest.Output
)

// start runs cmd with its output collected; it is killed by its PID when
// the test ends, if it is still running.
func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	return proctest.Start(t, cmd)
}

// waitFor waits until o contains want, and returns o's text then.
func waitFor(t *testing.T, r *running, o *output, want string) string {
	t.Helper()
	return r.WaitFor(t, o, want)
}

// waitForN waits until o contains want n times.
func waitForN(t *testing.T, r *running, o *output, want string, n int) string {
	t.Helper()
	return r.WaitForN(t, o, want, n)
}

var listeningNote = regexp.MustCompile(`# listening on (\S+)`)

// startServer runs tcpserver on a port the kernel picks (-addr HOST:0),
// waits until it listens, and returns it with its address.
func startServer(t *testing.T, host string, args ...string) (*running, string) {
	t.Helper()
	args = append([]string{"-addr", host + ":0"}, args...)
	srv := start(t, exec.Command(prog("tcpserver"), args...))
	return srv, listenAddr(t, srv)
}

// listenAddr waits for tcpserver's "# listening on ADDR" note.
func listenAddr(t *testing.T, srv *running) string {
	t.Helper()
	s := waitFor(t, srv, &srv.Stderr, "# listening on ")
	m := listeningNote.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no address in the listening note:\n%s", s)
	}
	return m[1]
}

// hostPort splits "127.0.0.1:7000" or "[::1]:7000".
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	port, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("bad address %q", addr)
	}
	return strings.Trim(addr[:i], "[]"), port
}

// tracee finds the program strace started: the strace process's child.
func tracee(t *testing.T, strace *running) int {
	t.Helper()
	pid := strace.Cmd.Process.Pid
	path := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	deadline := time.Now().Add(waitLimit)
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

// noPanic fails the test if a program printed a Go panic or stack trace.
func noPanic(t *testing.T, text string) {
	t.Helper()
	proctest.NoPanic(t, text)
}

// python runs a small Python program with args and returns its stdout.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	return proctest.RunPython(t, script, args...)
}

// startPTY runs cmd on a pseudo-terminal of its own (a learner's terminal
// window); its output is in r.Stdout, and the file is the keyboard side.
func startPTY(t *testing.T, cmd *exec.Cmd) (*running, *os.File) {
	t.Helper()
	return proctest.StartPTY(t, cmd)
}
