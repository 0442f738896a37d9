// Command lesson gets a lesson's terminals ready, side by side.
//
// It builds the programs into bin/, reads lessons/NN-*.md, and opens a tmux
// session with one pane per terminal the lesson uses ("Terminal A",
// "Terminal B", ...) plus a pane watching the lab's sockets with ss. The
// first command of each terminal is already typed in its pane, not run:
// press Enter when the lesson says so. Each pane starts with a few lines
// saying which lesson file to follow, and after which command of another
// terminal its first command comes.
//
// Panes stay readable: when the terminal is too narrow for every lesson
// terminal side by side (60 columns each), they are tiled two by two, and
// when even that is too small, each lesson terminal gets a tmux window of
// its own (Ctrl-b n and Ctrl-b p switch between them). Every pane keeps
// 50,000 lines to scroll back through (tmux's history-limit), enough for
// the longest trace a lesson prints.
//
// Run:
//
//	go run ./scripts/lesson 3            # lesson 03, in tmux
//	go run ./scripts/lesson -print 3     # just list each terminal's commands
//	go run ./scripts/lesson -check 3     # run the lesson and check its output
//	go run ./scripts/lesson -check -pace 1m -timeout 3m 12   # ... as a reader who pauses a minute before each step
//	go run ./scripts/lesson lessons/03-client-side.md
//
// Without tmux, or when not run from a terminal, it prints the commands
// instead, and says why.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/lessoncheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lesson", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		printOnly = fs.Bool("print", false, "print each terminal's commands instead of opening tmux")
		check     = fs.Bool("check", false, "run the lesson's commands and check their output (PASS/FAIL)")
		build     = fs.Bool("build", true, "build the programs into bin/ first")
		noAttach  = fs.Bool("no-attach", false, "set up the tmux session but do not attach to it")
		socket    = fs.String("socket", "", "tmux server socket name (tmux -L), to keep a test's tmux apart")
		timeout   = fs.Duration("timeout", lessoncheck.DefaultTimeout, "with -check: how long to wait for each expected line")
		pace      = fs.Duration("pace", 0, "with -check: wait this long before each step, and type the commands as the lesson shows them (a reader's pace)")
		width     = fs.Int("width", 0, "lay the panes out for a terminal this many columns wide (0: the terminal's own width)")
		height    = fs.Int("height", 0, "... and this many lines high (0: the terminal's own height)")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./scripts/lesson [flags] N|lessons/NN-topic.md [flags]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	// Flags may also follow the lesson: `go run ./scripts/lesson 7 -print`.
	lessonArg := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "lesson:", err)
		return 1
	}

	root, err := repoRoot()
	if err != nil {
		return fail(err)
	}
	path, err := findLesson(root, lessonArg)
	if err != nil {
		return fail(err)
	}
	lesson, err := lessoncheck.ParseFile(path)
	if err != nil {
		return fail(err)
	}
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		lesson.File = rel // shorter messages
	}
	if *build {
		if err := buildPrograms(root, stderr); err != nil {
			return fail(err)
		}
	}

	switch {
	case *check:
		opts := lessoncheck.Options{Dir: root, Timeout: *timeout, Pace: *pace, Logf: func(format string, args ...any) {
			fmt.Fprintf(stderr, format+"\n", args...)
		}}
		if err := lessoncheck.Run(lesson, opts); err != nil {
			fmt.Fprintf(stdout, "FAIL %s\n%v\n", lesson.File, err)
			return 1
		}
		fmt.Fprintf(stdout, "PASS %s\n", lesson.File)
		return 0
	case *printOnly:
		printCommands(stdout, lesson, root, "")
		return 0
	}
	if why := whyNoTmux(*noAttach, os.Stdin, os.Stdout); why != "" {
		printCommands(stdout, lesson, root, why)
		return 0
	}

	t := tmux{socket: *socket}
	session := sessionName(path)
	size := t.screenSize(*width, *height)
	lay := chooseLayout(len(lesson.Terminals()), size)
	existed, err := t.setUp(lesson, root, session, watchCommand(root), size, lay)
	if err != nil {
		return fail(err)
	}
	if existed {
		fmt.Fprintf(stderr, "lesson: tmux session %s already exists; attaching to it as it is (tmux kill-session -t %s starts afresh)\n", session, session)
	} else if lay == layoutWindows {
		fmt.Fprintf(stderr, "lesson: %d columns are too few for %d terminals side by side (%d columns each), so each terminal has a tmux window of its own: Ctrl-b n and Ctrl-b p switch, Ctrl-b w lists them\n",
			size.cols, len(lesson.Terminals()), minPaneWidth)
	}
	if *noAttach {
		return 0
	}
	if err := t.attach(session); err != nil {
		return fail(err)
	}
	return 0
}

// repoRoot is the directory holding go.mod, looking up from here.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above: run this inside the socklab repository")
		}
		dir = parent
	}
}

// findLesson accepts a lesson number (3 or 03) or a path to a lesson file.
func findLesson(root, arg string) (string, error) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		if _, err := os.Stat(arg); err != nil {
			return "", fmt.Errorf("%q is neither a lesson number nor a lesson file", arg)
		}
		return filepath.Abs(arg)
	}
	matches, _ := filepath.Glob(filepath.Join(root, "lessons", fmt.Sprintf("%02d-*.md", n)))
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no lesson %02d: no lessons/%02d-*.md", n, n)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("lesson %02d is ambiguous: %s", n, strings.Join(matches, ", "))
}

// programs lists the lesson programs: the directories under cmd/.
func programs(root string) []string {
	var names []string
	mains, _ := filepath.Glob(filepath.Join(root, "cmd", "*", "main.go"))
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

func buildPrograms(root string, stderr io.Writer) error {
	if len(programs(root)) == 0 {
		fmt.Fprintln(stderr, "lesson: cmd/ has no programs yet, nothing to build")
		return nil
	}
	cmd := exec.Command("go", "build", "-o", "bin/", "./cmd/...")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -o bin/ ./cmd/...: %v", err)
	}
	return nil
}

// printCommands lists each terminal's commands; why, if not "", says why
// it prints them instead of opening tmux.
func printCommands(w io.Writer, l *lessoncheck.Lesson, root, why string) {
	terms := l.Terminals()
	slices.Sort(terms) // A, B, C from left to right, whatever order the lesson uses them in
	fmt.Fprintf(w, "%s: open %d terminal(s) side by side in %s, and type the commands in the order the lesson gives them, switching terminals as it says.\n",
		l.File, len(terms), root)
	if why != "" {
		fmt.Fprintf(w, "(Not opening tmux: %s.)\n", why)
	}
	for _, term := range terms {
		fmt.Fprintf(w, "\nTerminal %s", term)
		if prev, nth, ok := after(l, term); ok {
			fmt.Fprintf(w, " (its first command comes after Terminal %s's %s)", prev, ordinal(nth))
		}
		fmt.Fprintln(w)
		for _, c := range l.Commands(term) {
			fmt.Fprintf(w, "  $ %s\n", c)
		}
	}
	fmt.Fprintf(w, "\nTo watch the sockets in one more terminal:\n  %s\n", watchCommand(root))
}

// after names the command typed last, in any other terminal, before
// term's first command: the one the learner must have run before pressing
// Enter in term. ok is false when term's first command opens the lesson.
func after(l *lessoncheck.Lesson, term string) (prevTerm string, nth int, ok bool) {
	count := map[string]int{}
	for _, b := range l.Blocks {
		for _, s := range b.Steps {
			if s.Command == "" {
				continue
			}
			if b.Terminal == term {
				return prevTerm, nth, prevTerm != ""
			}
			count[b.Terminal]++
			prevTerm, nth = b.Terminal, count[b.Terminal]
		}
	}
	return "", 0, false
}

// banner is what a terminal's pane shows above its prompt.
func banner(l *lessoncheck.Lesson, term string, lay layout) []string {
	lines := []string{
		fmt.Sprintf("Terminal %s of %s", term, l.File),
		"Only its first command is typed for you below: press Enter when the lesson gets there.",
	}
	if prev, nth, ok := after(l, term); ok {
		lines = append(lines, fmt.Sprintf("That is after Terminal %s's %s command.", prev, ordinal(nth)))
	} else {
		lines = append(lines, "That is the lesson's first command.")
	}
	lines = append(lines, "Type the later ones yourself, in the lesson's order, which goes from terminal to terminal.")
	if lay == layoutWindows {
		lines = append(lines, "One window per terminal: Ctrl-b n / Ctrl-b p switch, Ctrl-b w lists them.")
	}
	return lines
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "first"
	case 2:
		return "second"
	case 3:
		return "third"
	}
	return strconv.Itoa(n) + "th"
}

// watchCommand shows, once a second, the sockets of the lab's programs and
// of the ports the lessons use (7000-7999).
func watchCommand(root string) string {
	pattern := `Netid|:7[0-9]{3}\b|socklab`
	for _, p := range programs(root) {
		pattern += "|" + p
	}
	ss := fmt.Sprintf(`ss -tuxanp | grep -E "%s"`, pattern)
	if _, err := exec.LookPath("watch"); err != nil {
		return fmt.Sprintf(`while :; do clear; %s; sleep 1; done`, ss)
	}
	return fmt.Sprintf(`watch -n1 '%s'`, ss)
}

// whyNoTmux says why the lesson cannot be opened in tmux here, or "" if it
// can: tmux is installed, and either someone will look at it now (stdin
// and stdout are a terminal, which tmux attach needs) or we are only
// setting it up.
func whyNoTmux(noAttach bool, stdin, stdout *os.File) string {
	if _, err := exec.LookPath("tmux"); err != nil {
		return "tmux is not installed; install it to get the terminals ready-made"
	}
	if noAttach {
		return ""
	}
	for _, f := range []struct {
		name string
		file *os.File
	}{{"standard input", stdin}, {"standard output", stdout}} {
		// Only a terminal has a window size (/dev/null, a character
		// device too, has none).
		if _, err := unix.IoctlGetWinsize(int(f.file.Fd()), unix.TIOCGWINSZ); err != nil {
			return f.name + " is not a terminal, and tmux needs one to show its panes; run this from a terminal, or add -no-attach and then `tmux attach`"
		}
	}
	return ""
}

// minPaneWidth is the narrowest a lesson terminal's pane may be: a trace
// line wraps below it, but stays readable.
const minPaneWidth = 60

// minPaneHeight is the fewest lines a tiled pane may have.
const minPaneHeight = 12

type screen struct{ cols, rows int }

type layout int

const (
	layoutSideBySide layout = iota // one row of panes, the sockets pane below
	layoutTiled                    // two columns of panes, the sockets pane below
	layoutWindows                  // a window per terminal, and one for the sockets
)

// chooseLayout picks the first layout in which every terminal's pane is
// at least minPaneWidth wide (and, tiled, minPaneHeight high), keeping 30%
// of the height for the sockets pane.
func chooseLayout(terms int, sz screen) layout {
	if terms*minPaneWidth <= sz.cols {
		return layoutSideBySide
	}
	rows := (terms + 1) / 2
	if 2*minPaneWidth <= sz.cols && rows*minPaneHeight <= sz.rows*7/10 {
		return layoutTiled
	}
	return layoutWindows
}

// sessionName is socklab-lessonNN for lessons/NN-topic.md.
func sessionName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".md")
	if m := regexp.MustCompile(`^(\d+)-`).FindStringSubmatch(base); m != nil {
		return "socklab-lesson" + m[1]
	}
	// tmux does not allow '.' or ':' in session names.
	return "socklab-" + regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(base, "-")
}

type tmux struct {
	socket string // tmux -L; "" is the learner's own tmux server
}

func (t tmux) run(args ...string) (string, error) {
	if t.socket != "" {
		args = append([]string{"-L", t.socket}, args...)
	}
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// inside: we run in a pane of the same tmux server, so open a window there.
func (t tmux) inside() bool { return t.socket == "" && os.Getenv("TMUX") != "" }

// historyLimit is how many lines each pane keeps to scroll back through;
// tmux's default, 2000, is less than one long trace.
const historyLimit = "50000"

// screenSize is the size to lay the panes out for: the flags if given,
// else the tmux window we run in, else our terminal, else 200x50.
func (t tmux) screenSize(cols, rows int) screen {
	sz := screen{200, 50}
	if t.inside() {
		// The window we run in is as large as the learner's terminal.
		if out, err := t.run("display-message", "-p", "#{window_width} #{window_height}"); err == nil {
			fmt.Sscan(out, &sz.cols, &sz.rows)
		}
	} else if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		sz = screen{int(ws.Col), int(ws.Row)}
	}
	if cols > 0 {
		sz.cols = cols
	}
	if rows > 0 {
		sz.rows = rows
	}
	return sz
}

// setUp makes the lesson's panes, each terminal's first command typed but
// not run. It reports whether the session existed already; then it
// leaves it alone.
func (t tmux) setUp(l *lessoncheck.Lesson, root, session, watch string, sz screen, lay layout) (existed bool, err error) {
	if !t.inside() {
		if _, err := t.run("has-session", "-t", "="+session); err == nil {
			return true, nil
		}
	}
	return false, t.makePanes(l, root, session, watch, sz, lay)
}

func (t tmux) makePanes(l *lessoncheck.Lesson, root, session, watch string, sz screen, lay layout) error {
	// history-limit is read when a pane is made, so set it first. In the
	// learner's own tmux, set it on their session only while making ours,
	// and put their setting back.
	var target string // where new windows go
	if t.inside() {
		cur, err := t.run("display-message", "-p", "#{session_id}")
		if err != nil {
			return err
		}
		target = cur + ":"
		old, _ := t.run("show-options", "-v", "-t", cur, "history-limit")
		if _, err := t.run("set-option", "-t", cur, "history-limit", historyLimit); err != nil {
			return err
		}
		defer func() {
			if old == "" {
				t.run("set-option", "-u", "-t", cur, "history-limit")
			} else {
				t.run("set-option", "-t", cur, "history-limit", old)
			}
		}()
	} else {
		// The session's first window is made before the option can be
		// set on the session; it only holds the session open meanwhile.
		if _, err := t.run("new-session", "-d", "-s", session, "-n", "setup",
			"-x", strconv.Itoa(sz.cols), "-y", strconv.Itoa(sz.rows), "-c", root); err != nil {
			return err
		}
		target = "=" + session + ":"
		if _, err := t.run("set-option", "-t", "="+session+":", "history-limit", historyLimit); err != nil {
			return err
		}
		defer t.run("kill-window", "-t", "="+session+":setup")
	}

	terms := l.Terminals()
	slices.Sort(terms) // A, B, C from left to right, whatever order the lesson uses them in
	var panes []string
	for i, term := range terms {
		shell := bannerThenShell(banner(l, term, lay))
		var p string
		var err error
		switch {
		case lay == layoutWindows:
			p, err = t.run("new-window", "-t", target, "-n", term, "-c", root, "-P", "-F", "#{pane_id}", shell)
		case i == 0:
			p, err = t.run("new-window", "-t", target, "-n", "lesson", "-c", root, "-P", "-F", "#{pane_id}", shell)
		default:
			p, err = t.run("split-window", "-h", "-t", panes[len(panes)-1], "-c", root, "-P", "-F", "#{pane_id}", shell)
			if err == nil && lay == layoutTiled {
				_, err = t.run("select-layout", "-t", p, "tiled")
			}
		}
		if err != nil {
			return err
		}
		panes = append(panes, p)
	}
	var watchPane string
	var err error
	switch lay {
	case layoutWindows:
		watchPane, err = t.run("new-window", "-t", target, "-n", "sockets", "-c", root, "-P", "-F", "#{pane_id}")
	default:
		name := map[layout]string{layoutSideBySide: "even-horizontal", layoutTiled: "tiled"}[lay]
		if _, err := t.run("select-layout", "-t", panes[0], name); err != nil {
			return err
		}
		watchPane, err = t.run("split-window", "-v", "-f", "-l", "30%", "-t", panes[0], "-c", root, "-P", "-F", "#{pane_id}")
	}
	if err != nil {
		return err
	}
	for _, p := range append([]string{watchPane}, panes...) {
		for _, opt := range [][]string{{"pane-border-status", "top"}, {"pane-border-format", " #{pane_title} "}} {
			if _, err := t.run("set-option", "-w", "-t", p, opt[0], opt[1]); err != nil {
				return err
			}
		}
	}
	for i, term := range terms {
		if _, err := t.run("select-pane", "-t", panes[i], "-T", "Terminal "+term); err != nil {
			return err
		}
		t.waitForPrompt(panes[i], banner(l, term, lay))
		// -l types the text literally; no Enter, the learner presses it.
		if _, err := t.run("send-keys", "-t", panes[i], "-l", l.Commands(term)[0]); err != nil {
			return err
		}
	}
	t.run("select-pane", "-t", watchPane, "-T", "sockets")
	t.waitForPrompt(watchPane, nil)
	if _, err := t.run("send-keys", "-t", watchPane, "-l", watch); err != nil {
		return err
	}
	if _, err := t.run("send-keys", "-t", watchPane, "Enter"); err != nil {
		return err
	}
	if _, err := t.run("select-window", "-t", panes[0]); err != nil {
		return err
	}
	_, err = t.run("select-pane", "-t", panes[0])
	return err
}

// bannerThenShell is a pane's command: print the banner, then become the
// learner's shell.
func bannerThenShell(lines []string) string {
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = "'" + strings.ReplaceAll(l, "'", `'\''`) + "'"
	}
	return `printf '%s\n' ` + strings.Join(quoted, " ") + `; exec "${SHELL:-/bin/sh}"`
}

// waitForPrompt gives a new pane's shell a moment to draw its prompt below
// the banner: text typed before that would be echoed twice and look
// garbled.
func (t tmux) waitForPrompt(pane string, banner []string) {
	want := strings.Join(strings.Fields(strings.Join(banner, " ")), " ")
	for i := 0; i < 200; i++ { // up to 10s: a shell with a big rc file starts slowly
		// -J joins the lines a narrow pane wrapped.
		if out, err := t.run("capture-pane", "-p", "-J", "-t", pane); err == nil {
			seen := strings.Join(strings.Fields(out), " ")
			if seen != "" && (want == "" || strings.Contains(seen, want) && !strings.HasSuffix(seen, want)) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (t tmux) attach(session string) error {
	if t.inside() {
		return nil // the new window is already the current one
	}
	args := []string{"attach-session", "-t", "=" + session}
	if t.socket != "" {
		args = append([]string{"-L", t.socket}, args...)
	}
	cmd := exec.Command("tmux", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
