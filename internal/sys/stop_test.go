//go:build linux

package sys_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/sys"
)

// The programs whose Ctrl-C under -step is tested, built once.
var (
	progsOnce sync.Once
	progsDir  string
	progsErr  error
)

func program(t *testing.T, name string) string {
	t.Helper()
	progsOnce.Do(func() {
		progsDir, progsErr = proctest.Build("socklab/cmd/tcpserver", "socklab/cmd/udpecho", "socklab/cmd/miniio")
	})
	if progsErr != nil {
		t.Fatal(progsErr)
	}
	return filepath.Join(progsDir, name)
}

// stopLimit bounds how long Ctrl-C may take to end a program. "At once"
// for a person; generous for a loaded machine.
const stopLimit = 5 * time.Second

// TestCtrlCAtStepPrompt presses Enter a few times under -step, then
// Ctrl-C at a prompt, the way a learner gives up half way: the program
// must end at once, printing no further prompt. (It used to print its
// "# SIGINT" note and then wait for two more Enters.)
func TestCtrlCAtStepPrompt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		enters int    // Enters before the Ctrl-C
		said   string // what the program says on SIGINT
	}{
		{"tcpserver", []string{"-step", "-addr", "127.0.0.1:0"}, 4, "# SIGINT: closing the listening socket"},
		{"udpecho", []string{"serve", "-step", "-addr", "127.0.0.1:0"}, 2, "# SIGINT: closing the socket"},
		{"miniio", []string{"serve", "-step", "-addr", "127.0.0.1:0", "-http", ""}, 8, "interrupt: shutting down"}, // -http "": no second listener (and no fixed port 3000) to step through
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(program(t, tc.name), tc.args...)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			p, keyboard := proctest.StartPTY(t, cmd)
			const prompt = "[press Enter to make the call]"
			for i := 1; i <= tc.enters; i++ {
				p.WaitForN(t, &p.Stdout, prompt, i)
				if _, err := keyboard.Write([]byte("\r")); err != nil {
					t.Fatal(err)
				}
			}
			before := strings.Count(p.WaitForN(t, &p.Stdout, prompt, tc.enters+1), prompt)
			// Ctrl-C: the terminal (ISIG is on) sends SIGINT to the program.
			if _, err := keyboard.Write([]byte{0x03}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done:
			case <-time.After(stopLimit):
				t.Fatalf("still running %v after Ctrl-C at a -step prompt:\n%s", stopLimit, p.Stdout.String())
			}
			screen := p.Stdout.String()
			if !strings.Contains(screen, tc.said) {
				t.Errorf("Ctrl-C did not print %q:\n%s", tc.said, screen)
			}
			if after := strings.Count(screen, prompt); after != before {
				t.Errorf("%d more prompts after Ctrl-C:\n%s", after-before, screen)
			}
			if st := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); st.Signaled() || st.ExitStatus() != 0 {
				t.Errorf("exit %v after Ctrl-C, want status 0 (a clean shutdown):\n%s", p.Cmd.ProcessState, screen)
			}
			proctest.NoPanic(t, screen)
		})
	}
}

// TestSecondSignalEndsAtOnce: while the program is still shutting down
// after the first Ctrl-C (here a shutdown that never ends), a second one
// ends it at once, by the signal's default action.
func TestSecondSignalEndsAtOnce(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SOCKLAB_STUCK_STOP=1")
	p := proctest.Start(t, cmd)
	p.WaitFor(t, &p.Stderr, "ready")
	p.Signal(t, syscall.SIGINT)
	p.WaitFor(t, &p.Stderr, "# SIGINT: stopping")
	p.Signal(t, syscall.SIGINT)
	select {
	case <-p.Done:
	case <-time.After(stopLimit):
		t.Fatalf("a second SIGINT did not end the program within %v:\n%s", stopLimit, p.Stderr.String())
	}
	st := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !st.Signaled() || st.Signal() != syscall.SIGINT {
		t.Fatalf("ended by %v, want killed by SIGINT", p.Cmd.ProcessState)
	}
}

// stuckStop plays a program whose shutdown hangs, for
// TestSecondSignalEndsAtOnce.
func stuckStop() {
	sys.OnStopSignal(func(sig os.Signal) {
		sys.Note("%s: stopping", sys.SignalName(sig))
		select {}
	})
	os.Stderr.WriteString("ready\n")
	select {}
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[os.Signal]string{os.Interrupt: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP"} {
		if got := sys.SignalName(sig); got != want {
			t.Errorf("SignalName(%v) = %q, want %q", sig, got, want)
		}
	}
}
