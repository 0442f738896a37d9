package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"socklab/internal/proctest"
)

const fixture = "testdata/two-terminals.md"

func runLesson(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPrint(t *testing.T) {
	code, out, errOut := runLesson(t, "-print", "-build=false", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "\nTerminal A\n  $ printf 'server ready\\n'\n  $ echo server again\n" +
		"\nTerminal B\n  $ echo client one\n  $ echo client two\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks\n%s\ngot:\n%s", want, out)
	}
	if !strings.Contains(out, "side by side") || !strings.Contains(out, "ss -tuxanp") {
		t.Errorf("output lacks the how-to note or the socket watch:\n%s", out)
	}
	// Flags after the lesson work too, as the README writes them.
	code, after, errOut := runLesson(t, fixture, "-print", "-build=false")
	if code != 0 || after != out {
		t.Errorf("flags after the lesson: exit %d, stderr %q, output differs: %v", code, errOut, after != out)
	}
}

func TestCheck(t *testing.T) {
	code, out, errOut := runLesson(t, "-check", "-build=false", fixture)
	if code != 0 || !strings.HasPrefix(out, "PASS ") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	broken := filepath.Join(t.TempDir(), "broken.md")
	lesson := "```console\n$ echo actual\nexpected\n```\n"
	if err := os.WriteFile(broken, []byte(lesson), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runLesson(t, "-check", "-build=false", broken)
	if code != 1 || !strings.HasPrefix(out, "FAIL ") || !strings.Contains(out, "want: expected") {
		t.Errorf("broken lesson: exit %d, stdout:\n%s", code, out)
	}
}

func TestBadArguments(t *testing.T) {
	if code, _, errOut := runLesson(t); code != 2 || !strings.Contains(errOut, "usage:") {
		t.Errorf("no argument: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runLesson(t, "-print", "-build=false", "97"); code != 1 || !strings.Contains(errOut, "no lesson 97") {
		t.Errorf("missing lesson: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runLesson(t, "-print", "-build=false", "7", "8"); code != 2 || !strings.Contains(errOut, "usage:") {
		t.Errorf("two lessons: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runLesson(t, "-print", "nosuchfile.md"); code != 1 || !strings.Contains(errOut, "neither a lesson number nor a lesson file") {
		t.Errorf("bad argument: exit %d, stderr %q", code, errOut)
	}
}

// TestTmux sets the lesson up on a private tmux server and looks at the panes.
func TestTmux(t *testing.T) {
	proctest.NeedTool(t, "tmux")
	socket := fmt.Sprintf("socklab-test-%d", os.Getpid())
	tmuxCmd := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })

	code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// A second run leaves the learner's session as it is.
	if code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false", fixture); code != 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second run: exit %d, stderr %q", code, errOut)
	}
	panes := strings.Fields(tmuxCmd("list-panes", "-s", "-t", "=socklab-two-terminals", "-F", "#{pane_id}"))
	if len(panes) != 3 {
		t.Fatalf("got %d panes, want 3 (A, B, sockets)", len(panes))
	}
	want := []struct{ title, typed string }{
		{"Terminal A", "printf 'server ready\\n'"},
		{"Terminal B", "echo client one"},
		{"sockets", "ss -tuxanp"},
	}
	for i, w := range want {
		title := strings.TrimSpace(tmuxCmd("display-message", "-p", "-t", panes[i], "#{pane_title}"))
		if title != w.title {
			t.Errorf("pane %d is titled %q, want %q", i, title, w.title)
		}
		var screen string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if screen = tmuxCmd("capture-pane", "-p", "-t", panes[i]); strings.Contains(screen, w.typed) {
				break
			}
		}
		if !strings.Contains(screen, w.typed) {
			t.Errorf("%s does not show %q; it shows:\n%s", w.title, w.typed, screen)
		}
		if i == 0 {
			for _, line := range strings.Split(screen, "\n") {
				if strings.TrimSpace(line) == "server ready" {
					t.Errorf("Terminal A ran its command; it should only be typed:\n%s", screen)
				}
			}
		}
	}
}
