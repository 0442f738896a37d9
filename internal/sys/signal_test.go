//go:build linux

package sys_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// TestCtrlCNoteOnItsOwnLine: Ctrl-C in a terminal echoes "^C" and leaves
// the cursor after it. The stop note must still start a line of its own,
// as the lessons show it ("^C", then "# SIGINT: ..."), not read
// "^C# SIGINT: ...". With stderr a pipe there is no "^C", and no blank
// line before the note either.
func TestCtrlCNoteOnItsOwnLine(t *testing.T) {
	const note = "# SIGINT: closing the listening socket"
	t.Run("terminal", func(t *testing.T) {
		cmd := exec.Command(program(t, "tcpserver"), "-addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		p, keyboard := proctest.StartPTY(t, cmd)
		p.WaitFor(t, &p.Stdout, "# listening on ")
		if _, err := keyboard.Write([]byte{0x03}); err != nil { // Ctrl-C
			t.Fatal(err)
		}
		select {
		case <-p.Done:
		case <-time.After(stopLimit):
			t.Fatalf("still running %v after Ctrl-C:\n%s", stopLimit, p.Stdout.String())
		}
		screen := strings.ReplaceAll(p.Stdout.String(), "\r", "")
		if !strings.Contains(screen, "^C") {
			t.Fatalf("the terminal did not echo ^C, so this test shows nothing:\n%q", screen)
		}
		if !strings.Contains(screen, "^C\n"+note+"\n") {
			t.Errorf("want ^C and %q on lines of their own; the terminal shows:\n%s", note, screen)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		p := proctest.Start(t, exec.Command(program(t, "tcpserver"), "-addr", "127.0.0.1:0"))
		p.WaitFor(t, &p.Stderr, "# listening on ")
		p.Signal(t, syscall.SIGINT)
		out := p.WaitFor(t, &p.Stderr, note)
		if strings.Contains(out, "\n\n") {
			t.Errorf("a blank line in the trace on a pipe:\n%s", out)
		}
	})
}
