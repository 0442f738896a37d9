//go:build linux

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// TestStepWaitsForEnter drives `tcpclient -step` the way a learner does:
// the trace and the prompts on a terminal, the data to send on a pipe
// (`printf 'hello step\n' | ./bin/tcpclient -step`). -step reads Enter
// from the terminal (/dev/tty), never from stdin, so the two do not mix.
// The client stops before socket(2) and has no socket until Enter is
// pressed; then it makes it and stops before connect(2). Pressing Enter
// at every stop after that, it finishes a real echo.
func TestStepWaitsForEnter(t *testing.T) {
	py := proctest.Start(t, exec.Command("python3", "-c", echoServer))
	port := strings.TrimSpace(py.WaitFor(t, &py.Stdout, "\n"))

	cmd := exec.Command(prog("tcpclient"), "-step", "-addr", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader("hello step\n")
	cl, keyboard := proctest.StartOnTerminal(t, cmd)
	const prompt = "[press Enter to make the call]"
	screen := &cl.Stderr // the terminal: trace, prompts, and the echoed Enters

	cl.WaitFor(t, screen, "next: socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)")
	cl.WaitFor(t, screen, prompt)
	if n := socketsOf(t, cl); n != 0 {
		t.Fatalf("stopped before socket(2), but the process has %d sockets", n)
	}

	press(t, keyboard)
	cl.WaitFor(t, screen, "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3")
	text := cl.WaitForN(t, screen, prompt, 2)
	if !strings.Contains(text, "next: connect(3, ") {
		t.Fatalf("after socket(2) the next stop should be connect(2):\n%s", text)
	}
	if n := socketsOf(t, cl); n != 1 {
		t.Fatalf("after Enter the process should have its one socket, it has %d", n)
	}
	if regexp.MustCompile(`(?m)^connect\(3, .*\) = `).MatchString(text) {
		t.Fatalf("connect ran without a second Enter:\n%s", text)
	}

	// One Enter per stop, each only once its prompt is on the screen,
	// until the client exits. Bounded: a finished echo takes about ten.
	for stops := 2; ; stops++ {
		if stops > 40 {
			t.Fatalf("still stopping after %d calls:\n%s", stops, screen.String())
		}
		press(t, keyboard)
		if !waitForPromptOrExit(t, cl, screen, prompt, stops+1) {
			break
		}
	}
	if code := cl.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d\n%s", code, screen.String())
	}
	if got := cl.Stdout.String(); got != "hello step\n" {
		t.Fatalf("stdout %q, want the echo %q\nterminal:\n%s", got, "hello step\n", screen.String())
	}
	out := screen.String()
	for _, want := range []string{
		`write(3, "hello step\n", 11) = 11`,
		"shutdown(3, SHUT_WR) = 0",
		`read(3, "", 4096) = 0`,
		"close(3) = 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, out)
		}
	}
	proctest.NoPanic(t, out)
}

// press presses Enter on the terminal.
func press(t *testing.T, keyboard *os.File) {
	t.Helper()
	if _, err := keyboard.Write([]byte("\r")); err != nil {
		t.Fatalf("pressing Enter: %v", err)
	}
}

// waitForPromptOrExit waits until the terminal shows the prompt n times
// (true) or the program has exited (false).
func waitForPromptOrExit(t *testing.T, r *proctest.Proc, screen *proctest.Output, prompt string, n int) bool {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for {
		if strings.Count(screen.String(), prompt) >= n {
			return true
		}
		select {
		case <-r.Done:
			return false
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither stop %d nor an exit after %v:\n%s", n, proctest.Limit, screen.String())
		}
	}
}

// socketsOf counts the process's open sockets, as `ls -l /proc/PID/fd`
// shows them.
// It fails the test if the process has already exited: it should be
// waiting for Enter.
func socketsOf(t *testing.T, r *proctest.Proc) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", r.Cmd.Process.Pid)
	entries, err := os.ReadDir(dir)
	select {
	case <-r.Done:
		t.Fatalf("the program has exited instead of waiting for Enter:\n%s", r.Stderr.String())
	default:
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

// TestServerClosedFirstOnTerminal: a person typing into the client
// (stdin a terminal) learns, when the server closes first, that Ctrl-D
// ends their side; pressing it sends the client's FIN and ends it. (With
// stdin a pipe the note says nothing of Ctrl-D: TestServerKilledAfterEcho.)
func TestServerClosedFirstOnTerminal(t *testing.T) {
	py := proctest.Start(t, exec.Command(proctest.Python(), "-c", `
import socket, time
s = socket.create_server(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.close()
time.sleep(30)
`))
	port := strings.TrimSpace(py.WaitFor(t, &py.Stdout, "\n"))

	cmd := exec.Command(prog("tcpclient"), "-addr", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cl, keyboard := proctest.StartPTY(t, cmd)
	cl.WaitFor(t, &cl.Stdout, "# the server closed its side first; still sending stdin (Ctrl-D to finish)")
	if _, err := keyboard.Write([]byte{0x04}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	if code := cl.ExitCode(t); code != 0 {
		t.Fatalf("exit status %d after Ctrl-D\n%s", code, cl.Stdout.String())
	}
	if screen := cl.Stdout.String(); !strings.Contains(screen, "shutdown(3, SHUT_WR) = 0") {
		t.Errorf("Ctrl-D did not send the client's FIN:\n%s", screen)
	}
}
