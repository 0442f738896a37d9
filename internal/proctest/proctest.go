// Package proctest starts the real socklab programs in tests and watches
// what they print.
//
// A program test builds the programs once (Main or Build, from TestMain), starts
// them (Start, StartCombined, StartPTY, StartOnTerminal), waits for a line of output
// (WaitFor, WaitMatch, WaitSubmatch) or for the end (ExitCode), and checks
// that nothing
// crashed (NoPanic). Every process started here is ended with the test:
// t.Cleanup kills it by its PID if it is still running. Every wait is
// bounded by Limit, so a hang fails the test instead of stalling the run.
package proctest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Limit bounds every wait: long enough for a loaded machine, short enough
// that a hang fails instead of stalling the suite.
const Limit = 15 * time.Second

// Build compiles the packages (import paths such as "socklab/cmd/udpecho")
// into a new temporary directory and returns it; the caller removes it
// when the tests are done. It is meant for TestMain, so it reports errors
// instead of failing a test. Under `go test -race` the programs get -race
// too.
func Build(pkgs ...string) (dir string, err error) {
	return build(RaceEnabled, pkgs)
}

// BuildPlain is Build without -race, even under `go test -race`: for
// tests that measure the program's memory, which the race detector
// multiplies.
func BuildPlain(pkgs ...string) (dir string, err error) {
	return build(false, pkgs)
}

func build(race bool, pkgs []string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "socklab-proctest-")
	if err != nil {
		return "", err
	}
	args := []string{"build"}
	if race {
		args = append(args, "-race")
	}
	// A trailing separator makes -o a directory, even for one package.
	args = append(args, "-o", dir+string(os.PathSeparator))
	out, err := exec.Command("go", append(args, pkgs...)...).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return dir, nil
}

// Main is a test package's whole TestMain: it builds pkgs (see Build),
// tells built where the programs are, runs the tests, removes the
// programs and exits with the tests' status.
func Main(m *testing.M, built func(dir string), pkgs ...string) {
	dir, err := Build(pkgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Output collects what a program writes. A test may read it while the
// program is still writing, so every access takes the lock.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Proc is a program a test started.
type Proc struct {
	Cmd    *exec.Cmd
	Stdout Output        // what it printed, unless the caller gave cmd a Stdout of its own
	Stderr Output        // likewise; empty for StartCombined and StartPTY
	Done   chan struct{} // closed once it has exited and been waited for
}

// Start runs cmd with its output collected in p.Stdout and p.Stderr (where
// cmd has none set already). It runs in a process group of its own, so
// the cleanup that kills it by its PID also ends what it started (the
// program under strace, say).
func Start(t *testing.T, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &p.Stderr
	}
	p.start(t)
	return p
}

// StartCombined is Start with stdout and stderr both collected in
// p.Stdout, in the order a terminal would show them.
func StartCombined(t *testing.T, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.Stdout, &p.Stdout
	p.start(t)
	return p
}

func (p *Proc) start(t *testing.T) {
	t.Helper()
	if p.Cmd.SysProcAttr == nil {
		p.Cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	p.Cmd.SysProcAttr.Setpgid = true
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.Cmd.Path, err)
	}
	p.watch(t, nil, func() {})
}

// watch waits for the program in the background and registers the
// cleanup that ends it; after runs once it is gone. When drained is not
// nil, Done also waits (at most Limit) for it to be closed: for the
// copying of the program's last output.
func (p *Proc) watch(t *testing.T, drained <-chan struct{}, after func()) {
	go func() {
		p.Cmd.Wait()
		if drained != nil {
			select {
			case <-drained:
			case <-time.After(Limit): // a child of its own still holds the terminal
			}
		}
		close(p.Done)
	}()
	pid := p.Cmd.Process.Pid
	t.Cleanup(func() {
		select {
		case <-p.Done:
		default:
			// The negative PID names the process group the program leads.
			syscall.Kill(-pid, syscall.SIGKILL)
			p.Cmd.Process.Kill()
			<-p.Done
		}
		after()
	})
}

// StartPTY runs cmd with a new pseudo-terminal as its controlling terminal
// and its stdin, stdout and stderr: what a learner's terminal window is.
// Everything it prints is collected in p.Stdout, all of it by the time
// Done is closed; the returned file is the keyboard side: write "\r" to
// press Enter, "\x03" for Ctrl-C.
func StartPTY(t *testing.T, cmd *exec.Cmd) (*Proc, *os.File) {
	t.Helper()
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	// pty.Start gives the program a session (and so a process group) of
	// its own; it must not also ask for Setpgid, which a session leader
	// may not do.
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("starting %s on a pseudo-terminal: %v", cmd.Path, err)
	}
	copied := make(chan struct{})
	go func() {
		// Ends with an error (EIO) once nothing holds the terminal's
		// other side: the program is gone and all it printed is here.
		io.Copy(&p.Stdout, tty)
		close(copied)
	}()
	p.watch(t, copied, func() {
		tty.Close()
		<-copied
	})
	return p, tty
}

// StartOnTerminal is StartPTY with only stderr on the pseudo-terminal
// (still the controlling terminal, so /dev/tty is that terminal, as in a
// learner's window): stdin and stdout stay what cmd has, a pipe and
// p.Stdout by default, as in `printf hi | tcpclient -step > reply`. What
// the terminal shows is collected in p.Stderr, all of it by the time Done
// is closed; the returned file is the keyboard side.
func StartOnTerminal(t *testing.T, cmd *exec.Cmd) (*Proc, *os.File) {
	t.Helper()
	keyboard, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.Stdout
	}
	cmd.Stderr = tty
	// A new session (so a process group of its own) whose controlling
	// terminal is the child's fd 2.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 2}
	if err := cmd.Start(); err != nil {
		keyboard.Close()
		tty.Close()
		t.Fatalf("starting %s on a pseudo-terminal: %v", cmd.Path, err)
	}
	tty.Close() // the child has its own copy
	copied := make(chan struct{})
	go func() {
		io.Copy(&p.Stderr, keyboard) // ends with an error (EIO) once the program is gone
		close(copied)
	}()
	p.watch(t, copied, func() {
		keyboard.Close()
		<-copied
	})
	return p, keyboard
}

// Run runs cmd to the end (at most Limit) and returns its stdout, stderr
// and exit status.
func Run(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, status int) {
	t.Helper()
	p := Start(t, cmd)
	status = p.ExitCode(t)
	return p.Stdout.String(), p.Stderr.String(), status
}

// ExitCode waits (at most Limit) for the program to end and returns its
// exit status (-1 for a death by signal).
func (p *Proc) ExitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.Done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(Limit):
		t.Fatalf("%s still running after %v\n%s", p.Cmd.Path, Limit, p.outputs())
		return 0
	}
}

// Signal sends sig to the program by its PID.
func (p *Proc) Signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(p.Cmd.Process.Pid, sig); err != nil {
		t.Fatalf("kill -%d %d: %v", sig, p.Cmd.Process.Pid, err)
	}
}

// WaitFor waits until o (one of p's outputs) contains want, and returns
// o's text then.
func (p *Proc) WaitFor(t *testing.T, o *Output, want string) string {
	t.Helper()
	return p.WaitForN(t, o, want, 1)
}

// WaitForN waits until o contains want n times, and returns o's text then.
func (p *Proc) WaitForN(t *testing.T, o *Output, want string, n int) string {
	t.Helper()
	s := p.wait(t, o, fmt.Sprintf("%q", want), func(s string) bool { return strings.Count(s, want) >= n })
	return s
}

// WaitMatch waits until o matches re, and returns the match and its
// submatches.
func (p *Proc) WaitMatch(t *testing.T, o *Output, re *regexp.Regexp) []string {
	t.Helper()
	s := p.wait(t, o, "a match for "+re.String(), re.MatchString)
	return re.FindStringSubmatch(s)
}

// WaitSubmatch waits until o matches the regular expression pattern and
// returns its first submatch, or the whole match when pattern has no
// group: the port in `# receiving on 127.0.0.1:(\d+)`, say.
func (p *Proc) WaitSubmatch(t *testing.T, o *Output, pattern string) string {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("the test's own pattern: %v", err)
	}
	m := p.WaitMatch(t, o, re)
	if len(m) > 1 {
		return m[1]
	}
	return m[0]
}

// wait polls o until found says yes, the program exits without it, or
// Limit passes.
func (p *Proc) wait(t *testing.T, o *Output, what string, found func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(Limit)
	for {
		if s := o.String(); found(s) {
			return s
		}
		select {
		case <-p.Done:
			// It may have printed the line just before exiting.
			if s := o.String(); found(s) {
				return s
			}
			t.Fatalf("%s exited without printing %s\n%s", p.Cmd.Path, what, p.outputs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s from %s after %v\n%s", what, p.Cmd.Path, Limit, p.outputs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outputs shows what the program printed, for a failure message.
func (p *Proc) outputs() string {
	return "stdout:\n" + p.Stdout.String() + "\nstderr:\n" + p.Stderr.String()
}

// fatalError starts the runtime's own crash report ("fatal error:
// runtime: out of memory"), which a recover cannot catch.
var fatalError = regexp.MustCompile(`(?m)^fatal error: `)

// goroutineHeader is the first line of each goroutine in a Go stack
// trace, "goroutine 1 [running]:". Matching the whole shape, not just the
// word, keeps a program's own notes about goroutines from counting.
var goroutineHeader = regexp.MustCompile(`(?m)^goroutine \d+ \[`)

// NoPanic fails the test if text holds a Go panic or stack trace: bad
// input must get a clear error, never a crash.
func NoPanic(t *testing.T, text string) {
	t.Helper()
	for _, bad := range []string{"panic:", "runtime error"} {
		if strings.Contains(text, bad) {
			t.Fatalf("the program printed a Go crash (%q):\n%s", bad, text)
		}
	}
	if fatalError.MatchString(text) {
		t.Fatalf("the Go runtime gave up (fatal error):\n%s", text)
	}
	if goroutineHeader.MatchString(text) {
		t.Fatalf("the program printed a Go stack trace:\n%s", text)
	}
}

// Python returns the python3 to run: the interpreter behind pyenv's shim
// when there is one, because the shim costs about a second per start.
func Python() string {
	pythonOnce.Do(func() {
		pythonPath = "python3"
		if out, err := exec.Command("pyenv", "which", "python3").Output(); err == nil {
			pythonPath = strings.TrimSpace(string(out))
		}
	})
	return pythonPath
}

var (
	pythonOnce sync.Once
	pythonPath string
)

// RunPython runs a small Python program with args, fails the test unless
// it exits 0, and returns its stdout.
func RunPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	p := Start(t, exec.Command(Python(), append([]string{"-c", script}, args...)...))
	if code := p.ExitCode(t); code != 0 {
		t.Fatalf("python exited %d\n%s", code, p.outputs())
	}
	return p.Stdout.String()
}
