// Command lesson gets a lesson's terminals ready, side by side.
//
// It builds the programs into bin/, reads lessons/NN-*.md, and opens a tmux
// session with one pane per terminal the lesson uses ("Terminal A",
// "Terminal B", ...) plus a pane watching the lab's sockets with ss. The
// first command of each terminal is already typed in its pane, not run:
// press Enter when the lesson says so.
//
// Run:
//
//	go run ./scripts/lesson 3            # lesson 03, in tmux
//	go run ./scripts/lesson -print 3     # just list each terminal's commands
//	go run ./scripts/lesson -check 3     # run the lesson and check its output
//	go run ./scripts/lesson lessons/03-client-side.md
//
// Without tmux, or when the output is not a terminal, it prints the
// commands instead.
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
		opts := lessoncheck.Options{Dir: root, Timeout: *timeout, Logf: func(format string, args ...any) {
			fmt.Fprintf(stderr, format+"\n", args...)
		}}
		if err := lessoncheck.Run(lesson, opts); err != nil {
			fmt.Fprintf(stdout, "FAIL %s\n%v\n", lesson.File, err)
			return 1
		}
		fmt.Fprintf(stdout, "PASS %s\n", lesson.File)
		return 0
	case *printOnly || !canUseTmux(*noAttach):
		printCommands(stdout, lesson, root)
		return 0
	}

	t := tmux{socket: *socket}
	session := sessionName(path)
	existed, err := t.setUp(lesson, root, session, watchCommand(root))
	if err != nil {
		return fail(err)
	}
	if existed {
		fmt.Fprintf(stderr, "lesson: tmux session %s already exists; attaching to it as it is (tmux kill-session -t %s starts afresh)\n", session, session)
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

func printCommands(w io.Writer, l *lessoncheck.Lesson, root string) {
	terms := l.Terminals()
	slices.Sort(terms) // A, B, C from left to right, whatever order the lesson uses them in
	fmt.Fprintf(w, "%s: open %d terminal(s) side by side in %s, and type each one's commands in order as the lesson says.\n",
		l.File, len(terms), root)
	fmt.Fprintln(w, "(With tmux installed, run this in a terminal without -print to get them ready-made.)")
	for _, term := range terms {
		fmt.Fprintf(w, "\nTerminal %s\n", term)
		for _, c := range l.Commands(term) {
			fmt.Fprintf(w, "  $ %s\n", c)
		}
	}
	fmt.Fprintf(w, "\nTo watch the sockets in one more terminal:\n  %s\n", watchCommand(root))
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

// canUseTmux: tmux is installed, and either someone will look at it now
// (stdout is a terminal) or we are only setting it up.
func canUseTmux(noAttach bool) bool {
	if _, err := exec.LookPath("tmux"); err != nil {
		return false
	}
	if noAttach {
		return true
	}
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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

// setUp makes the window: terminals side by side, the socket watch below
// them, each terminal's first command typed but not run.
// It reports whether the session existed already; then it leaves it alone.
func (t tmux) setUp(l *lessoncheck.Lesson, root, session, watch string) (existed bool, err error) {
	if !t.inside() {
		if _, err := t.run("has-session", "-t", "="+session); err == nil {
			return true, nil
		}
	}
	return false, t.makeWindow(l, root, session, watch)
}

func (t tmux) makeWindow(l *lessoncheck.Lesson, root, session, watch string) error {
	var first string
	var err error
	if t.inside() {
		first, err = t.run("new-window", "-n", session, "-c", root, "-P", "-F", "#{pane_id}")
	} else {
		first, err = t.run("new-session", "-d", "-s", session, "-n", "lesson", "-x", "200", "-y", "50",
			"-c", root, "-P", "-F", "#{pane_id}")
	}
	if err != nil {
		return err
	}
	terms := l.Terminals()
	slices.Sort(terms) // A, B, C from left to right, whatever order the lesson uses them in
	panes := []string{first}
	for range terms[1:] {
		p, err := t.run("split-window", "-h", "-t", panes[len(panes)-1], "-c", root, "-P", "-F", "#{pane_id}")
		if err != nil {
			return err
		}
		panes = append(panes, p)
	}
	if _, err := t.run("select-layout", "-t", first, "even-horizontal"); err != nil {
		return err
	}
	watchPane, err := t.run("split-window", "-v", "-f", "-l", "30%", "-t", first, "-c", root, "-P", "-F", "#{pane_id}")
	if err != nil {
		return err
	}
	for _, opt := range [][]string{{"pane-border-status", "top"}, {"pane-border-format", " #{pane_title} "}} {
		if _, err := t.run("set-option", "-w", "-t", first, opt[0], opt[1]); err != nil {
			return err
		}
	}
	for i, term := range terms {
		if _, err := t.run("select-pane", "-t", panes[i], "-T", "Terminal "+term); err != nil {
			return err
		}
		t.waitForPrompt(panes[i])
		// -l types the text literally; no Enter, the learner presses it.
		if _, err := t.run("send-keys", "-t", panes[i], "-l", l.Commands(term)[0]); err != nil {
			return err
		}
	}
	t.run("select-pane", "-t", watchPane, "-T", "sockets")
	t.waitForPrompt(watchPane)
	if _, err := t.run("send-keys", "-t", watchPane, "-l", watch); err != nil {
		return err
	}
	if _, err := t.run("send-keys", "-t", watchPane, "Enter"); err != nil {
		return err
	}
	_, err = t.run("select-pane", "-t", panes[0])
	return err
}

// waitForPrompt gives a new pane's shell a moment to draw its prompt:
// text typed before that would be echoed twice and look garbled.
func (t tmux) waitForPrompt(pane string) {
	for i := 0; i < 200; i++ { // up to 10s: a shell with a big rc file starts slowly
		if out, err := t.run("capture-pane", "-p", "-t", pane); err == nil && out != "" {
			return
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
