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

var listeningNote = regexp.MustCompile(`# listening on (\S+)`)

// startServer runs tcpserver on a port the kernel picks (-addr HOST:0),
// waits until it listens, and returns it with its address.
func startServer(t *testing.T, host string, args ...string) (*proctest.Proc, string) {
	t.Helper()
	args = append([]string{"-addr", host + ":0"}, args...)
	srv := proctest.Start(t, exec.Command(prog("tcpserver"), args...))
	return srv, listenAddr(t, srv)
}

// listenAddr waits for tcpserver's "# listening on ADDR" note.
func listenAddr(t *testing.T, srv *proctest.Proc) string {
	t.Helper()
	s := srv.WaitFor(t, &srv.Stderr, "# listening on ")
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
func tracee(t *testing.T, strace *proctest.Proc) int {
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
