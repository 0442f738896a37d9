package proctest

import (
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
