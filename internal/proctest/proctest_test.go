package proctest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A stack trace's goroutine header counts as a crash; a program's own note
// that mentions goroutines does not.
func TestGoroutineHeader(t *testing.T) {
	crash := "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"
	if !goroutineHeader.MatchString(crash) {
		t.Errorf("no goroutine header found in:\n%s", crash)
	}
	if !fatalError.MatchString("fatal error: runtime: out of memory\n") {
		t.Error("the runtime's fatal error was not recognised")
	}
	note := "# one goroutine per connection: goroutine 7 reads\n"
	if goroutineHeader.MatchString(note) {
		t.Errorf("a note was taken for a stack trace:\n%s", note)
	}
}

// Start collects a real program's output, WaitFor sees it, and ExitCode
// reports its status.
func TestStartWaitExit(t *testing.T) {
	p := Start(t, exec.Command("sh", "-c", "echo ready; echo oops >&2; exit 3"))
	if s := p.WaitFor(t, &p.Stdout, "ready"); !strings.Contains(s, "ready\n") {
		t.Errorf("stdout %q", s)
	}
	if code := p.ExitCode(t); code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	if got := p.Stderr.String(); got != "oops\n" {
		t.Errorf("stderr %q, want %q", got, "oops\n")
	}
}

// WaitSubmatch gives the first group of a match, or the whole match when
// the pattern has none, from stdout and stderr together (StartCombined);
// and it fails the test when the program exits without printing a match.
func TestWaitSubmatch(t *testing.T) {
	p := StartCombined(t, exec.Command("sh", "-c", "echo '# receiving on 127.0.0.1:4242'; echo 'note: ready' >&2; exec sleep 30"))
	if got := p.WaitSubmatch(t, &p.Stdout, `# receiving on \S+:(\d+)`); got != "4242" {
		t.Errorf("submatch %q, want 4242", got)
	}
	if got := p.WaitSubmatch(t, &p.Stdout, `note: \w+`); got != "note: ready" {
		t.Errorf("match %q, want the whole match %q", got, "note: ready")
	}

	out, _ := childTest("TestWaitSubmatchChild", "SOCKLAB_WAIT_CHILD=1").CombinedOutput()
	if !strings.Contains(string(out), "--- FAIL: TestWaitSubmatchChild") || !strings.Contains(string(out), "exited without printing a match for port (\\d+)") {
		t.Errorf("a program that never printed the match did not fail the test:\n%s", out)
	}
}

func TestWaitSubmatchChild(t *testing.T) {
	if os.Getenv("SOCKLAB_WAIT_CHILD") == "" {
		t.Skip("runs only as TestWaitSubmatch's child")
	}
	p := Start(t, exec.Command("sh", "-c", "echo no port here"))
	p.WaitSubmatch(t, &p.Stdout, `port (\d+)`)
	t.Log("went on without the match")
}

// childTest is this test binary, set to run only the test named, with env
// added to the environment: for a test whose failure is the point.
func childTest(name string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// A missing tool fails the test, unless SOCKLAB_ALLOW_MISSING names it
// (or says all); then the test is skipped with a message naming the
// variable. Run in a child test binary, where the failure is harmless.
func TestNeedFailsUnlessAllowed(t *testing.T) {
	for _, c := range []struct {
		allow string
		want  string
	}{
		{"", "--- FAIL: TestNeedChild"},
		{"node", "--- FAIL: TestNeedChild"},
		{"node, socklab-no-such-tool", "--- SKIP: TestNeedChild"},
		{"all", "--- SKIP: TestNeedChild"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedChild$", "-test.v")
		cmd.Env = append(os.Environ(), "SOCKLAB_NEED_CHILD=1", AllowMissing+"="+c.allow)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s=%q: want %q in:\n%s", AllowMissing, c.allow, c.want, out)
		}
		if c.want == "--- SKIP: TestNeedChild" && !strings.Contains(string(out), AllowMissing) {
			t.Errorf("the skip does not name %s:\n%s", AllowMissing, out)
		}
	}
	if got := NeedTool(t, "sh"); got == "" {
		t.Error("NeedTool(sh) returned no path")
	}
}

func TestNeedChild(t *testing.T) {
	if os.Getenv("SOCKLAB_NEED_CHILD") == "" {
		t.Skip("runs only as TestNeedFailsUnlessAllowed's child")
	}
	NeedTool(t, "socklab-no-such-tool")
	t.Log("went on without the tool")
}
