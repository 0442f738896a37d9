//go:build linux

package sys_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"socklab/internal/proctest"
	"socklab/internal/sys"
	"socklab/internal/tracetest"
)

// TestMain lets the test binary play a small program: with SOCKLAB_CALLS
// set it makes a fixed series of socket calls and exits, so the test can
// run it under strace.
func TestMain(m *testing.M) {
	if os.Getenv("SOCKLAB_CALLS") != "" {
		makeCalls()
		os.Exit(0)
	}
	if os.Getenv("SOCKLAB_STUCK_STOP") != "" {
		stuckStop()
	}
	code := m.Run()
	if progsDir != "" {
		os.RemoveAll(progsDir)
	}
	os.Exit(code)
}

// makeCalls is a whole TCP conversation inside one process, plus the
// errors a learner meets.
func makeCalls() {
	loop := [4]byte{127, 0, 0, 1}
	l, _ := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	sys.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	sys.Bind(l, &unix.SockaddrInet4{Port: 0, Addr: loop})
	sys.Listen(l, 16)
	addr, _ := sys.Getsockname(l)
	c, _ := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	sys.Connect(c, addr)
	a, _, _ := sys.Accept(l)
	sys.Getpeername(a)
	sys.Write(c, []byte("hi\x00\x01\x1b7\xc3\xa9\"\\\t\n and more than thirty-two bytes"))
	buf := make([]byte, 4096)
	sys.Read(a, buf)
	sys.Shutdown(c, unix.SHUT_WR)
	sys.Read(a, buf)
	sys.Close(a)
	sys.Read(c, buf)
	sys.Close(c)
	nb, _ := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	sys.Bind(nb, &unix.SockaddrInet4{Addr: loop})
	sys.Listen(nb, 1)
	sys.Accept4(nb, unix.SOCK_NONBLOCK) // nobody waiting: EAGAIN
	sys.Close(nb)
	sys.Close(l)
	six, _ := sys.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	sys.Connect(six, &unix.SockaddrInet6{Port: 1, Addr: [16]byte{15: 1}}) // ECONNREFUSED
	sys.Close(six)
	u, _ := sys.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	sys.Bind(u, &unix.SockaddrUnix{Name: "@socklab-test-" + os.Getenv("SOCKLAB_CALLS")})
	sys.Getsockname(u)
	sys.Close(u)
}

func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := tracetest.Command(log, os.Args[0])
	cmd.Env = append(os.Environ(), "SOCKLAB_CALLS=1", "GODEBUG=containermaxprocs=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	ours := tracetest.Ours(stderr.String())
	theirs := tracetest.Theirs(string(raw), nil, nil)
	if len(ours) < 20 {
		t.Fatalf("only %d calls printed:\n%s", len(ours), stderr.String())
	}
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
}
