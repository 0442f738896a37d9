package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"socklab/internal/lessoncheck"
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
		"\nTerminal B (its first command comes after Terminal A's first)\n  $ echo client one\n  $ echo client two\n"
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
	lesson := "**Terminal A**\n```console\n$ echo actual\nexpected\n```\n"
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

	code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false", "-width", "200", "-height", "50", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// A second run leaves the learner's session as it is.
	if code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false", "-width", "200", "-height", "50", fixture); code != 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second run: exit %d, stderr %q", code, errOut)
	}
	if w := strings.Fields(tmuxCmd("list-windows", "-t", "=socklab-two-terminals", "-F", "#{window_name}")); len(w) != 1 {
		t.Errorf("windows %q, want one: 200 columns hold two terminals side by side", w)
	}
	panes := strings.Fields(tmuxCmd("list-panes", "-s", "-t", "=socklab-two-terminals", "-F", "#{pane_id}"))
	if len(panes) != 3 {
		t.Fatalf("got %d panes, want 3 (A, B, sockets)", len(panes))
	}
	checkHistoryLimit(t, tmuxCmd, panes)
	want := []struct{ title, typed string }{
		{"Terminal A", "printf 'server ready\\n'"},
		{"Terminal B", "echo client one"},
		{"sockets", "Netid"}, // ss running: watch -t shows its header, not the command
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

func checkHistoryLimit(t *testing.T, tmuxCmd func(...string) string, panes []string) {
	t.Helper()
	for _, p := range panes {
		if got := strings.TrimSpace(tmuxCmd("display-message", "-p", "-t", p, "#{history_limit}")); got != historyLimit {
			t.Errorf("pane %s keeps %s lines of history, want %s", p, got, historyLimit)
		}
	}
}

// TestTmuxNarrow: on an 80x24 terminal two side-by-side panes would be 39
// columns wide; each terminal gets a window of its own instead, which says
// which lesson it belongs to and when to press Enter.
func TestTmuxNarrow(t *testing.T) {
	proctest.NeedTool(t, "tmux")
	socket := fmt.Sprintf("socklab-test-narrow-%d", os.Getpid())
	tmuxCmd := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })

	code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false", "-width", "80", "-height", "24", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "a tmux window of its own") {
		t.Errorf("stderr does not say why there are windows: %q", errOut)
	}
	windows := strings.Fields(tmuxCmd("list-windows", "-t", "=socklab-two-terminals", "-F", "#{window_name}:#{window_panes}:#{pane_width}"))
	if got, want := strings.Join(windows, " "), "A:1:80 B:1:80 sockets:1:80"; got != want {
		t.Errorf("windows (name:panes:width) = %s, want %s", got, want)
	}
	panes := strings.Fields(tmuxCmd("list-panes", "-s", "-t", "=socklab-two-terminals", "-F", "#{pane_id}"))
	checkHistoryLimit(t, tmuxCmd, panes)
	wantB := []string{"Terminal B of scripts/lesson/testdata/two-terminals.md", "Only its first command is typed",
		"after Terminal A's first command", "Ctrl-b n", "echo client one"}
	var screen string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		screen = tmuxCmd("capture-pane", "-p", "-J", "-t", "=socklab-two-terminals:B")
		if strings.Contains(screen, "echo client one") {
			break
		}
	}
	for _, w := range wantB {
		if !strings.Contains(screen, w) {
			t.Errorf("window B does not show %q; it shows:\n%s", w, screen)
		}
	}
}

func TestChooseLayout(t *testing.T) {
	tests := []struct {
		terms int
		sz    screen
		want  layout
	}{
		{2, screen{200, 50}, layout{1, 2}},
		{3, screen{200, 50}, layout{1, 3}},
		{4, screen{200, 50}, layout{2, 2}},
		{5, screen{200, 50}, layout{2, 3}}, // 3+2, 66 columns each: better than a window each
		{5, screen{150, 50}, layout{3, 2}}, // 2+2+1, 75 columns by 13 lines
		{5, screen{150, 40}, layoutWindows},
		{4, screen{130, 24}, layoutWindows}, // two rows of tiles would be 7 lines high
		{2, screen{80, 24}, layoutWindows},
		{2, screen{80, 40}, layout{2, 1}}, // one above the other
		{1, screen{80, 24}, layout{1, 1}},
	}
	for _, tc := range tests {
		if got := chooseLayout(tc.terms, tc.sz); got != tc.want {
			t.Errorf("chooseLayout(%d, %v) = %v, want %v", tc.terms, tc.sz, got, tc.want)
		}
	}
	for _, tc := range []struct {
		terms int
		lay   layout
		want  []int
	}{
		{5, layout{2, 3}, []int{3, 2}},
		{4, layout{2, 2}, []int{2, 2}},
		{5, layout{3, 2}, []int{2, 2, 1}},
		{3, layout{1, 3}, []int{3}},
	} {
		if got := tc.lay.rowSizes(tc.terms); !slices.Equal(got, tc.want) {
			t.Errorf("%v.rowSizes(%d) = %v, want %v", tc.lay, tc.terms, got, tc.want)
		}
	}
	// The sockets pane keeps to a few lines: 8 of 50, not 15.
	if got := watchHeight(screen{200, 50}); got != 8 {
		t.Errorf("watchHeight(200x50) = %d, want 8", got)
	}
}

// In lesson 4, D's first command must wait for B's second: the launcher
// says so in D's pane.
func TestAfter(t *testing.T) {
	l, err := lessoncheck.ParseFile("../../lessons/04-byte-stream.md")
	if err != nil {
		t.Fatal(err)
	}
	if prev, nth, ok := after(l, "D"); !ok || prev != "B" || nth != 2 {
		t.Errorf("after(D) = %s, %d, %v; want B, 2", prev, nth, ok)
	}
	if _, _, ok := after(l, "A"); ok {
		t.Errorf("after(A): A opens the lesson, nothing comes before it")
	}
}

// Run with a pipe for stdin, the launcher must say that stdin is not a
// terminal, not suggest installing tmux or dropping -print.
func TestNotATerminal(t *testing.T) {
	proctest.NeedTool(t, "tmux")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	why := whyNoTmux(false, r, w)
	if !strings.Contains(why, "standard input is not a terminal") {
		t.Errorf("whyNoTmux = %q, want it to name standard input", why)
	}
	code, out, _ := runLesson(t, "-build=false", fixture) // go test's stdout is never a terminal
	if code != 0 || !strings.Contains(out, "(Not opening tmux: standard ") || strings.Contains(out, "without -print") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// paneBox is where a pane sits in its window, in columns and lines.
type paneBox struct {
	window                   string
	left, top, width, height int
}

// openAndMeasure sets fixture up on a private tmux server for a
// cols x rows terminal and returns each pane's place by title.
func openAndMeasure(t *testing.T, fixture string, cols, rows int) map[string]paneBox {
	t.Helper()
	proctest.NeedTool(t, "tmux")
	socket := fmt.Sprintf("socklab-test-%s-%dx%d-%d", strings.TrimSuffix(filepath.Base(fixture), ".md"), cols, rows, os.Getpid())
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })
	code, _, errOut := runLesson(t, "-socket", socket, "-no-attach", "-build=false",
		"-width", fmt.Sprint(cols), "-height", fmt.Sprint(rows), fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	out, err := exec.Command("tmux", "-L", socket, "list-panes", "-a",
		"-F", "#{pane_title}|#{window_name}|#{pane_left}|#{pane_top}|#{pane_width}|#{pane_height}").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux list-panes: %v: %s", err, out)
	}
	boxes := map[string]paneBox{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 6 {
			t.Fatalf("tmux list-panes line %q", line)
		}
		var b paneBox
		b.window = f[1]
		for i, p := range []*int{&b.left, &b.top, &b.width, &b.height} {
			fmt.Sscan(f[2+i], p)
		}
		boxes[f[0]] = b
	}
	return boxes
}

// TestTmuxFourTerminals: at 200x50, lessons 4, 7 and 12's four terminals
// sit two by two, and the sockets pane below them keeps to 8 lines, so
// that each lesson pane gets about 20 (not 15 of 50, as a 30% sockets
// pane left them).
func TestTmuxFourTerminals(t *testing.T) {
	boxes := openAndMeasure(t, "testdata/four-terminals.md", 200, 50)
	if len(boxes) != 5 {
		t.Fatalf("panes %v, want A-D and sockets", boxes)
	}
	sockets := boxes["sockets"]
	if sockets.height > 8 || sockets.height < 5 || sockets.width != 200 {
		t.Errorf("sockets pane is %dx%d, want the full width and at most 8 lines", sockets.width, sockets.height)
	}
	checkRows(t, boxes, [][]string{{"A", "B"}, {"C", "D"}}, 90, 19)
}

// TestTmuxFiveTerminals: lessons 3 and 5 have five terminals. At 200x50
// they sit 3+2, each pane 66 columns wide, in one window, instead of a
// window each.
func TestTmuxFiveTerminals(t *testing.T) {
	boxes := openAndMeasure(t, "testdata/five-terminals.md", 200, 50)
	if len(boxes) != 6 {
		t.Fatalf("panes %v, want A-E and sockets", boxes)
	}
	checkRows(t, boxes, [][]string{{"A", "B", "C"}, {"D", "E"}}, minPaneWidth, 19)
	if s := boxes["sockets"]; s.window != boxes["Terminal A"].window || s.top < boxes["Terminal D"].top+boxes["Terminal D"].height {
		t.Errorf("the sockets pane (%+v) is not below the lesson's panes", s)
	}
	// Too small for 3+2 (or 2+2+1): a window each, as before.
	boxes = openAndMeasure(t, "testdata/five-terminals.md", 150, 30)
	for _, term := range []string{"A", "B", "C", "D", "E"} {
		if b := boxes["Terminal "+term]; b.window != term {
			t.Errorf("at 150x30, Terminal %s is in window %q, want a window of its own", term, b.window)
		}
	}
}

// checkRows checks that the panes of each row are side by side, left to
// right, each at least minWidth wide and minHeight high, and each row
// below the one before.
func checkRows(t *testing.T, boxes map[string]paneBox, rows [][]string, minWidth, minHeight int) {
	t.Helper()
	prevBottom := -1
	for _, row := range rows {
		first := boxes["Terminal "+row[0]]
		if first.top <= prevBottom {
			t.Errorf("Terminal %s (%+v) is not below the row above", row[0], first)
		}
		prevRight := -1
		for _, term := range row {
			b, ok := boxes["Terminal "+term]
			switch {
			case !ok:
				t.Errorf("no pane titled Terminal %s: %v", term, boxes)
			case b.window != "lesson":
				t.Errorf("Terminal %s is in window %q, want all in one window", term, b.window)
			case b.top != first.top || b.left <= prevRight:
				t.Errorf("Terminal %s (%+v) is not to the right of the one before it in its row", term, b)
			case b.width < minWidth || b.height < minHeight:
				t.Errorf("Terminal %s is %dx%d, want at least %dx%d", term, b.width, b.height, minWidth, minHeight)
			}
			prevRight = b.left + b.width - 1
			prevBottom = b.top + b.height - 1
		}
	}
}

// A lesson whose command starts with sudo tells the reader who is root
// already, or has no sudo, to type it without: the launcher types the
// command as the lesson shows it, and `sudo: command not found` would be
// the reader's first line of output.
func TestSudoNoted(t *testing.T) {
	files, _ := filepath.Glob("../../lessons/*.md")
	if len(files) == 0 {
		t.Fatal("no lessons found in ../../lessons")
	}
	for _, f := range files {
		l, err := lessoncheck.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, term := range l.Terminals() {
			for _, c := range l.Commands(term) {
				if strings.HasPrefix(c, "sudo ") && !strings.Contains(strings.Join(strings.Fields(string(text)), " "), "type it without `sudo`") {
					t.Errorf("%s runs `%s` but never says to type it without `sudo` as root", filepath.Base(f), c)
				}
			}
		}
	}
}
