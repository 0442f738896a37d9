//go:build linux

package main_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

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

// noPanic fails the test if a program printed a Go panic or stack trace.
func noPanic(t *testing.T, text string) {
	t.Helper()
	proctest.NoPanic(t, text)
}
