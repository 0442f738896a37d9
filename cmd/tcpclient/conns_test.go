//go:build linux

package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// Tests for tcpclient -conns: many connections against a Python server
// that echoes, answers wrong, or never answers.

// connsProg builds tcpclient into the test's temporary directory (go
// build's cache makes this quick after the first time). A TestMain
// building once would be faster, but this file shares its package with
// the main tests, which may want TestMain for themselves.
func connsProg(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/", "socklab/cmd/tcpclient").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "tcpclient")
}

// connsFreePort is a loopback address nothing listens on: a port the
// kernel handed out and the test gave back at once.
func connsFreePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// pyServer listens on a free loopback port and, per connection, echoes
// ("echo"), answers "nope" ("wrong") or reads and never answers
// ("silent"). It prints its port first.
const pyServer = `
import socket, sys, threading
mode = sys.argv[1]
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(128)
print(l.getsockname()[1], flush=True)
def serve(c):
    while True:
        b = c.recv(4096)
        if not b:
            break
        if mode == "echo":
            c.sendall(b)
        elif mode == "wrong":
            c.sendall(b"nope\n")
    c.close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`

// startPy runs pyServer in mode and returns its address; the test's
// cleanup kills it by its PID.
func startPy(t *testing.T, mode string) string {
	t.Helper()
	cmd := exec.Command("python3", "-c", pyServer, mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	select {
	case p := <-port:
		return "127.0.0.1:" + p
	case <-time.After(15 * time.Second):
		t.Fatal("the Python server did not start")
		return ""
	}
}

// runClient runs tcpclient (through `sh -c 'ulimit -n N && exec …'`
// when limit > 0) and returns its exit status, stdout and stderr.
func runClient(t *testing.T, limit int, args ...string) (int, string, string) {
	t.Helper()
	argv := append([]string{connsProg(t)}, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	if limit > 0 {
		cmd = exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$@"`, limit), "sh"}, argv...)...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("tcpclient %v still running after 60 s", args)
	}
	proctest.NoPanic(t, stderr.String()) // also the runtime's "fatal error:"
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestConnsAllEchoed(t *testing.T) {
	addr := startPy(t, "echo")
	code, out, errs := runClient(t, 0, "-q", "-addr", addr, "-conns", "50", "-parallel", "50", "-hold", "1s")
	want := fmt.Sprintf("50 connections to %s: 50 echoed correctly, 0 failed\nat most 50 open at the same time\n", addr)
	if code != 0 || out != want || errs != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errs)
	}
}

func TestConnsRefused(t *testing.T) {
	addr := connsFreePort(t)
	code, out, _ := runClient(t, 0, "-q", "-addr", addr, "-conns", "3")
	for _, want := range []string{
		"3 connections to " + addr + ": 0 echoed correctly, 3 failed\n",
		"  3 failed at connect: ECONNREFUSED (Connection refused)\n",
		"hint: ECONNREFUSED: nothing is listening at that address and port",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

// Out of descriptors on the client's side: socket() fails with EMFILE,
// the summary says so and hints at ulimit -n, and the client neither
// crashes nor hangs.
func TestConnsEMFILEHint(t *testing.T) {
	addr := startPy(t, "echo")
	code, out, _ := runClient(t, 12, "-q", "-addr", addr, "-conns", "20", "-parallel", "20", "-hold", "1s")
	for _, want := range []string{
		"failed at socket: EMFILE (Too many open files)\n",
		"hint: EMFILE: this process has too many open files; raise the limit with `ulimit -n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

func TestConnsWrongEcho(t *testing.T) {
	addr := startPy(t, "wrong")
	code, out, _ := runClient(t, 0, "-q", "-addr", addr, "-conns", "2")
	if code != 1 || !strings.Contains(out, `  2 failed at echo: got "nope\n" back`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestConnsTimeout(t *testing.T) {
	addr := startPy(t, "silent")
	began := time.Now()
	code, out, _ := runClient(t, 0, "-q", "-addr", addr, "-conns", "3", "-timeout", "300ms")
	if code != 1 || !strings.Contains(out, "  3 failed at read: timed out (see -timeout)\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("a 300ms timeout took %v", took)
	}
}

func TestConnsBadFlags(t *testing.T) {
	code, _, errs := runClient(t, 0, "-conns", "2", "-parallel", "0")
	if code != 2 || !strings.Contains(errs, "-parallel must be positive") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	// A typo's worth of connections: a clear refusal, not the Go
	// runtime running out of memory with a stack trace.
	code, _, errs = runClient(t, 0, "-conns", "99999999999")
	if code != 2 || !strings.Contains(errs, "-conns 99999999999: at most 1048576") || strings.Contains(errs, "goroutine ") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
}

// The trace of -conns (one connection at a time) matches strace's,
// SO_SNDTIMEO and SO_RCVTIMEO included.
func TestConnsTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	addr := startPy(t, "echo")
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := tracetest.Command(log, connsProg(t), "-addr", addr, "-conns", "2", "-parallel", "1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	printed := stderr.String()
	for _, want := range []string{
		"socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3\n",
		"setsockopt(3, SOL_SOCKET, SO_SNDTIMEO_OLD, ",
		`write(3, "connection 1 of 2\n", 18) = 18`,
		`read(3, "connection 2 of 2\n", 18) = 18`,
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("trace lacks %q:\n%s", want, printed)
		}
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if d := tracetest.Diff(tracetest.Ours(printed), tracetest.Theirs(string(raw), nil, nil)); d != "" {
		t.Fatal(d)
	}
}
