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
// terminal side by side (60 columns each), they go in two rows (2+2 for
// four terminals, 3+2 for five) or more, and when even that is too small,
// each lesson terminal gets a tmux window of its own (Ctrl-b n and Ctrl-b
// p switch between them). The sockets pane below them keeps to a few
// lines, so that the lesson's panes get the height. Every pane keeps
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

	terms := len(lesson.Terminals())
	if terms == 0 {
		return fail(fmt.Errorf("%s has no console blocks: no terminal to open", lesson.File))
	}
	t := tmux{socket: *socket}
	session := sessionName(path)
	size := t.screenSize(*width, *height)
	lay := chooseLayout(terms, size)
	existed, err := t.setUp(lesson, root, session, watchCommand(lesson, root), size, lay)
	if err != nil {
		return fail(err)
	}
	if existed {
		fmt.Fprintf(stderr, "lesson: tmux session %s already exists; attaching to it as it is (tmux kill-session -t %s starts afresh)\n", session, session)
	} else if lay == layoutWindows {
		fmt.Fprintf(stderr, "lesson: a %dx%d terminal is too small for %d panes of at least %d columns by %d lines, so each terminal has a tmux window of its own: Ctrl-b n and Ctrl-b p switch, Ctrl-b w lists them\n",
			size.cols, size.rows, terms, minPaneWidth, minPaneHeight)
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
	fmt.Fprintf(w, "\nTo watch the lesson's sockets in one more terminal:\n  %s\n", watchCommand(l, root))
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

// minPaneHeight is the fewest lines a lesson terminal's pane may have
// when the panes are in rows.
const minPaneHeight = 12

// watchLines is the height of the sockets pane below the lesson's panes:
// ss's header and a handful of sockets. The lesson's own panes need the
// height more (a trace is long); lesson 13's thousand connections would
// not fit in any pane anyway.
const watchLines = 8

type screen struct{ cols, rows int }

// watchHeight is the sockets pane's height on a screen: watchLines, or
// less on a short screen.
func watchHeight(sz screen) int { return max(3, min(watchLines, sz.rows*3/10)) }

// layout is how the lesson terminals' panes are arranged: in rows, at
// most cols panes in each (the last row may have fewer), above the
// sockets pane; or, with rows 0, a tmux window each.
type layout struct{ rows, cols int }

// layoutWindows: a window per terminal, and one for the sockets.
var layoutWindows = layout{}

// chooseLayout picks the fewest rows in which every terminal's pane is at
// least minPaneWidth wide and minPaneHeight high, each with its title
// line, above the sockets pane: side by side when that fits, else two
// rows (2+2 for four terminals, 3+2 for five), or more; a window each
// when nothing fits.
func chooseLayout(terms int, sz screen) layout {
	for rows := 1; rows <= terms; rows++ {
		cols := (terms + rows - 1) / rows
		if cols*minPaneWidth <= sz.cols && rows*(minPaneHeight+1)+watchHeight(sz)+1 <= sz.rows {
			return layout{rows, cols}
		}
	}
	return layoutWindows
}

// rowSizes says how many panes go in each row: as even as it gets, the
// fuller rows on top (5 in 2 rows: 3 and 2).
func (lay layout) rowSizes(terms int) []int {
	sizes := make([]int, lay.rows)
	for r := range sizes {
		left := lay.rows - r
		sizes[r] = (terms + left - 1) / left
		terms -= sizes[r]
	}
	return sizes
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
	shells := make([]string, len(terms))
	for i, term := range terms {
		shells[i] = bannerThenShell(banner(l, term, lay))
	}
	var panes []string
	var watchPane string
	if lay == layoutWindows {
		for i, term := range terms {
			p, err := t.newWindow(target, term, root, shells[i])
			if err != nil {
				return err
			}
			panes = append(panes, p)
		}
		var err error
		if watchPane, err = t.newWindow(target, "sockets", root, ""); err != nil {
			return err
		}
	} else {
		var err error
		if panes, watchPane, err = t.makeRows(target, root, shells, lay, watchHeight(sz)); err != nil {
			return err
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
	_, err := t.run("select-pane", "-t", panes[0])
	return err
}

// newWindow makes a window of one pane running shell (the default shell
// if ""), with each pane's title on its top border.
func (t tmux) newWindow(target, name, root, shell string) (pane string, err error) {
	args := []string{"new-window", "-t", target, "-n", name, "-c", root, "-P", "-F", "#{pane_id}"}
	if shell != "" {
		args = append(args, shell)
	}
	if pane, err = t.run(args...); err != nil {
		return "", err
	}
	for _, opt := range [][]string{{"pane-border-status", "top"}, {"pane-border-format", " #{pane_title} "}} {
		if _, err := t.run("set-option", "-w", "-t", pane, opt[0], opt[1]); err != nil {
			return "", err
		}
	}
	return pane, nil
}

// makeRows makes one window with a pane per shell in lay's rows, left to
// right and top to bottom, and the sockets pane, watchLines high, below
// them all.
func (t tmux) makeRows(target, root string, shells []string, lay layout, watchLines int) (panes []string, watchPane string, err error) {
	first, err := t.newWindow(target, "lesson", root, shells[0])
	if err != nil {
		return nil, "", err
	}
	// The sockets pane first, so that it is as high as asked and the
	// lesson's panes share all the rest.
	watchPane, err = t.run("split-window", "-v", "-l", strconv.Itoa(watchLines), "-t", first, "-c", root, "-P", "-F", "#{pane_id}")
	if err != nil {
		return nil, "", err
	}
	// Each row's first pane: every split gives the new pane, below, its
	// share of what is left (2 rows: 1/2; 3 rows: 2/3, then 1/2).
	sizes := lay.rowSizes(len(shells))
	starts := make([]int, len(sizes)) // index of each row's first shell
	rowFirst := []string{first}
	for r := 1; r < len(sizes); r++ {
		starts[r] = starts[r-1] + sizes[r-1]
		p, err := t.splitShare(rowFirst[r-1], "-v", len(sizes)-r, len(sizes)-r+1, root, shells[starts[r]])
		if err != nil {
			return nil, "", err
		}
		rowFirst = append(rowFirst, p)
	}
	// Then each row, left to right, the same way.
	for r, n := range sizes {
		p := rowFirst[r]
		panes = append(panes, p)
		for j := 1; j < n; j++ {
			if p, err = t.splitShare(p, "-h", n-j, n-j+1, root, shells[starts[r]+j]); err != nil {
				return nil, "", err
			}
			panes = append(panes, p)
		}
	}
	return panes, watchPane, nil
}

// splitShare splits pane below (dir "-v") or to the right ("-h"); the new
// pane, running shell, gets num/den of the room. Sizes in lines and
// columns, not percentages, which tmux before 3.1 does not take.
func (t tmux) splitShare(pane, dir string, num, den int, root, shell string) (string, error) {
	size := map[string]string{"-v": "#{pane_height}", "-h": "#{pane_width}"}[dir]
	out, err := t.run("display-message", "-p", "-t", pane, size)
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		return "", fmt.Errorf("tmux gave %q for the size of pane %s", out, pane)
	}
	// One line (or column) of the room becomes the border between them.
	share := max(1, (n-1)*num/den)
	return t.run("split-window", dir, "-l", strconv.Itoa(share), "-t", pane, "-c", root, "-P", "-F", "#{pane_id}", shell)
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
