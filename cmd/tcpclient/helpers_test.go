//go:build linux

package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run the real programs, built once into a temporary directory.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "socklab-tcpclient-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "socklab/cmd/tcpserver", "socklab/cmd/tcpclient")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the programs: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func prog(name string) string { return filepath.Join(binDir, name) }

// waitLimit bounds every wait in these tests: long enough for a loaded
// machine, short enough that a hang fails instead of stalling the suite.
const waitLimit = 15 * time.Second

// output collects what a program writes; it may be read while the
// program runs.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// running is a program a test started.
type running struct {
	cmd    *exec.Cmd
	stdout output
	stderr output
	done   chan struct{} // closed when it has exited
}

// start runs cmd with its output collected, and makes sure it ends with
// the test: killed by its PID if it is still running.
func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &r.stdout
	cmd.Stderr = &r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// exitCode waits for the program to end and returns its exit status
// (-1 for a death by signal).
func (r *running) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(waitLimit):
		t.Fatalf("%s still running after %v\nstderr:\n%s", r.cmd.Path, waitLimit, r.stderr.String())
		return 0
	}
}

// waitFor waits until o contains want, and returns o's text then.
func waitFor(t *testing.T, r *running, o *output, want string) string {
	t.Helper()
	return waitForN(t, r, o, want, 1)
}

// waitForN waits until o contains want n times.
func waitForN(t *testing.T, r *running, o *output, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := o.String()
		if strings.Count(s, want) >= n {
			return s
		}
		select {
		case <-r.done:
			s = o.String()
			if strings.Count(s, want) >= n {
				return s
			}
			t.Fatalf("%s exited without printing %q\nstdout:\n%s\nstderr:\n%s", r.cmd.Path, want, r.stdout.String(), r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from %s after %v\nstdout:\n%s\nstderr:\n%s", want, r.cmd.Path, waitLimit, r.stdout.String(), r.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	s := waitFor(t, srv, &srv.stderr, "# listening on ")
	m := listeningNote.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no address in the listening note:\n%s", s)
	}
	return m[1]
}

// signal sends sig to the program by its PID.
func (r *running) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(r.cmd.Process.Pid, sig); err != nil {
		t.Fatalf("kill -%d %d: %v", sig, r.cmd.Process.Pid, err)
	}
}

// noPanic fails the test if a program printed a Go panic or stack trace.
func noPanic(t *testing.T, text string) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "runtime error"} {
		if strings.Contains(text, bad) {
			t.Fatalf("the program printed a Go crash (%q):\n%s", bad, text)
		}
	}
}
