package lessoncheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runFixture checks testdata/name in a fresh directory, so the files a
// fixture makes do not collide with another run.
func runFixture(t *testing.T, name string, opts Options) (dir string, err error) {
	t.Helper()
	dir = t.TempDir()
	opts.Dir = dir
	opts.Logf = t.Logf
	return dir, CheckFile(filepath.Join("testdata", name), opts)
}

func TestPassingFixtures(t *testing.T) {
	for _, name := range []string{"pass-basic.md", "pass-terminals.md", "pass-test-runs.md"} {
		t.Run(name, func(t *testing.T) {
			if _, err := runFixture(t, name, Options{}); err != nil {
				t.Fatalf("want pass, got:\n%v", err)
			}
		})
	}
}

func TestFailingFixtures(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    []string // all must appear in the error
	}{
		{"fail-mismatch.md", 0, []string{
			"testdata/fail-mismatch.md:6:", "terminal A", "want: there", "got: world", "| hello"}},
		{"fail-timeout.md", 0, []string{
			"testdata/fail-timeout.md:8:", "waited 1s", "want: b", "| a"}},
		{"fail-dots-timeout.md", 500 * time.Millisecond, []string{
			"fail-dots-timeout.md:6:", "terminal B", "waited 500ms", "want: never", "| x", "| y"}},
		{"fail-status.md", 0, []string{
			"fail-status.md:4:", "exited with status 2, want 0", "[exit 2]", "| oops"}},
		{"fail-exit-wrong.md", 0, []string{
			"fail-exit-wrong.md:4:", "`true` exited with status 0, want 1"}},
		{"fail-extra.md", 0, []string{
			"fail-extra.md:5:", "printed more than the lesson shows", "next: b"}},
		{"fail-still-running.md", 500 * time.Millisecond, []string{
			"fail-still-running.md:5:", "terminal A is still running `sleep 30`"}},
		{"fail-ended-early.md", 0, []string{
			"fail-ended-early.md:6:", "want: b", "got: nothing more", "exited with status 0"}},
		{"fail-server-died.md", 0, []string{
			"fail-server-died.md:14:", "terminal B", "want: never",
			"meanwhile terminal A: `sh -c", "exited with status 1", "| crashing"}},
		{"fail-continue-finished.md", 0, []string{
			"fail-continue-finished.md:12:", "already finished"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runFixture(t, tc.name, Options{Timeout: tc.timeout})
			if err == nil {
				t.Fatal("want a failure, the lesson passed")
			}
			t.Logf("the failure reads:\n%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("failure message lacks %q", w)
				}
			}
		})
	}
}

// TestLeftoversStopped: a background child and a process that ignores
// SIGINT are both gone once the lesson returns.
func TestLeftoversStopped(t *testing.T) {
	dir, err := runFixture(t, "leftover.md", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"stray.pid", "stubborn.pid"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// An orphan is reaped by init, not by us: allow it a moment.
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("%s: process %d still running after the lesson", f, pid)
		}
	}
}

// alive reports whether pid is a live process (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "123 (sleep) S ...".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// A descriptor the test process inherited without close-on-exec (as from a
// CI runner) must not reach the lesson's commands: a lesson lists
// /proc/PID/fd and counts on the numbers it shows.
func TestInheritedDescriptorsStayOut(t *testing.T) {
	fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0) // no O_CLOEXEC, like an inherited one
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	src := "**Terminal A**\n```console\n$ if [ -e /proc/self/fd/" + strconv.Itoa(fd) + " ]; then echo leaked; else echo clean; fi\nclean\n```\n"
	l, err := Parse("inherit.md", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(l, Options{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}

// At a reader's pace the checker waits before each step and types the
// commands as the lesson shows them, not the test's shortened ones.
func TestPace(t *testing.T) {
	src := "**Terminal A**\n<!-- test runs \"reader\" as \"tester\" -->\n```console\n$ echo reader\n<who>\n$ echo two\ntwo\n```\n"
	l, err := Parse("pace.md", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	start := time.Now()
	err = Run(l, Options{Dir: t.TempDir(), Pace: 200 * time.Millisecond, Logf: func(f string, a ...any) {
		logged = append(logged, fmt.Sprintf(f, a...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("two steps took %v, want at least two pauses of 200ms", d)
	}
	if len(logged) == 0 || !strings.HasSuffix(logged[0], "$ echo reader") {
		t.Errorf("logged %q, want the reader's command first", logged)
	}
}
