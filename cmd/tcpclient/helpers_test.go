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
