package lessoncheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options tune a lesson run.
type Options struct {
	Dir     string                           // where commands run: the repository root ("" = current directory)
	Timeout time.Duration                    // bound on each wait; 0 means 10s
	Logf    func(format string, args ...any) // progress notes (each command as it starts); may be nil

	// Pace, if not 0, makes the run a slow reader's: it waits this long
	// before each step, and types the commands as the lesson shows them,
	// without the "test runs" replacements. A lesson must pass at a
	// reading pace too (with the timeouts raised to match).
	Pace time.Duration
}

// DefaultTimeout bounds each wait when neither Options nor the lesson says otherwise.
const DefaultTimeout = 10 * time.Second

// How long the end of a lesson gives processes to exit after SIGINT.
const stopGrace = 3 * time.Second

// How many lines of a terminal's output a failure shows.
const tailLines = 40

// CheckFile parses a lesson file and runs it.
func CheckFile(path string, opts Options) error {
	l, err := ParseFile(path)
	if err != nil {
		return err
	}
	return Run(l, opts)
}

// Run runs every console block of the lesson in order and returns the
// first way the lesson and the programs disagree, or nil. Whatever happens,
// every process it started is gone when it returns.
func Run(l *Lesson, opts Options) (err error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	r := &runner{lesson: l, opts: opts, terms: map[string]*proc{}}
	defer func() {
		if err == nil {
			err = r.finishExited()
		}
		r.stopAll()
	}()
	for bi, b := range l.Blocks {
		timeout := opts.Timeout
		if b.Timeout > 0 && (opts.Pace == 0 || b.Timeout > timeout) {
			timeout = b.Timeout // at a reader's pace, only ever longer
		}
		for si, s := range b.Steps {
			if opts.Pace > 0 {
				time.Sleep(opts.Pace)
			}
			if err := r.runStep(bi, si, b.Terminal, s, timeout); err != nil {
				return err
			}
		}
	}
	return nil
}

type runner struct {
	lesson *Lesson
	opts   Options
	terms  map[string]*proc // each terminal's latest command
	procs  []*proc          // every command started, in order
}

// proc is one command running (or run) in a terminal.
type proc struct {
	term     string
	command  string
	line     int // lesson line of its "$ "
	lastLine int // lesson line of the last expected line matched against it
	cmd      *exec.Cmd
	stdin    *os.File // our end of its stdin; nil once closed
	out      *output
	done     chan struct{} // closed once it exited and its output is read
	status   int           // exit status, 128+signal for a death by signal; valid after done

	wantExit    int  // the status the lesson asks for
	interrupted bool // the lesson pressed ^C
	pos         int  // output lines matched so far
	restFree    bool // the last expected line was "...": more output is fine
	checked     bool // exit status checked
	finished    bool // exit status and unshown output checked; no more steps for it
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (r *runner) failf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", r.lesson.File, line, fmt.Sprintf(format, args...))
}

func (r *runner) runStep(bi, si int, term string, s Step, timeout time.Duration) error {
	p := r.terms[term]
	if s.Command != "" {
		if p != nil && !p.finished {
			if err := r.finish(p, timeout, s.Line); err != nil {
				return err
			}
		}
		var err error
		command := r.lesson.Blocks[bi].TestCommand(s)
		if r.opts.Pace > 0 {
			command = s.Command // a reader types what the lesson shows
			if os.Geteuid() == 0 {
				// ... but root needs no sudo (and may not have it)
				command = strings.TrimPrefix(command, "sudo ")
			}
		}
		if p, err = r.start(term, s, command); err != nil {
			return r.failf(s.Line, "terminal %s: cannot start `%s`: %v", term, s.Command, err)
		}
		p.wantExit, _ = r.lesson.exitWanted(bi, si)
	} else {
		switch {
		case p == nil:
			return r.failf(s.Line, "output with no command: terminal %s has no command running", term)
		case p.finished:
			return r.failf(s.Line, "terminal %s: more output expected, but `%s` already finished", term, p.command)
		}
	}

	var segment []Expect
	for _, e := range s.Expect {
		if e.Kind != Interrupt && e.Kind != CloseStdin {
			segment = append(segment, e)
			continue
		}
		if err := r.expect(p, segment, timeout); err != nil {
			return err
		}
		segment = nil
		if err := r.press(p, e); err != nil {
			return err
		}
	}
	if err := r.expect(p, segment, timeout); err != nil {
		return err
	}
	p.restFree = len(s.Expect) > 0 && s.Expect[len(s.Expect)-1].Kind == AnyLines
	if len(s.Expect) > 0 {
		p.lastLine = s.Expect[len(s.Expect)-1].Line
	}

	if s.HasExit {
		return r.finish(p, timeout, p.lastLine)
	}
	if p.exited() {
		return r.checkStatus(p)
	}
	return nil // still running: a server keeps serving while other terminals work
}

// press performs a ^C or ^D line.
func (r *runner) press(p *proc, e Expect) error {
	if e.Kind == CloseStdin {
		if p.stdin != nil {
			p.stdin.Close()
			p.stdin = nil
		}
		return nil
	}
	if p.exited() {
		return r.failf(e.Line, "terminal %s: ^C, but `%s` has already exited with status %d\n%s",
			p.term, p.command, p.status, r.tail(p))
	}
	p.interrupted = true
	// The minus sign sends it to the whole process group, as a terminal does.
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return r.failf(e.Line, "terminal %s: sending SIGINT: %v", p.term, err)
	}
	return nil
}

// expect waits until the expected lines have appeared in p's output, in
// order, from the first line not matched yet.
func (r *runner) expect(p *proc, exp []Expect, timeout time.Duration) error {
	if len(exp) == 0 {
		return nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		changed := p.out.changed()
		ended := p.exited()
		lines := p.out.lines(ended)
		res, m := match(exp, lines, p.pos, ended)
		switch res.state {
		case matched:
			p.pos = res.end
			return nil
		case noMatch:
			return r.mismatch(p, exp, m)
		}
		select {
		case <-changed:
		case <-p.done:
		case <-timer.C:
			e := exp[max(m.failAt[0], 0)]
			return r.failf(e.Line, "terminal %s: waited %v for this line from `%s`, it did not appear:\n    want: %s\n%s",
				p.term, timeout, p.command, e.Text, r.tail(p))
		}
	}
}

func (r *runner) mismatch(p *proc, exp []Expect, m *matcher) error {
	ei, oi := m.failAt[0], m.failAt[1]
	e := exp[max(ei, 0)]
	var got string
	if oi < len(m.lines) {
		got = "     got: " + m.lines[oi]
	} else { // the matcher only runs out of lines once the command is done
		got = fmt.Sprintf("     got: nothing more: `%s` exited with status %d", p.command, p.status)
	}
	return r.failf(e.Line, "terminal %s: output of `%s` differs (its output line %d):\n    want: %s\n%s\n%s",
		p.term, p.command, oi+1, e.Text, got, r.tail(p))
}

// finish waits for p to exit, then checks its exit status and that the
// lesson showed all its output.
func (r *runner) finish(p *proc, timeout time.Duration, line int) error {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return r.failf(line, "terminal %s is still running `%s` (started at line %d) after %v; it should have exited by now\n%s",
			p.term, p.command, p.line, timeout, r.tail(p))
	}
	return r.checkFinished(p)
}

func (r *runner) checkFinished(p *proc) error {
	p.finished = true
	if err := r.checkStatus(p); err != nil {
		return err
	}
	lines := p.out.lines(true)
	if p.restFree || p.pos >= len(lines) {
		return nil
	}
	return r.failf(max(p.lastLine, p.line), "terminal %s: `%s` printed more than the lesson shows (add the lines, or end with a line \"...\"):\n    next: %s\n%s",
		p.term, p.command, lines[p.pos], r.tail(p))
}

// finishExited checks, at the end of a lesson, the commands that exited by
// themselves. The ones still running are stopped, unchecked.
func (r *runner) finishExited() error {
	for _, p := range r.procs {
		if !p.finished && p.exited() {
			if err := r.checkFinished(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *runner) checkStatus(p *proc) error {
	if p.checked {
		return nil
	}
	p.checked = true
	if p.status == p.wantExit {
		return nil
	}
	if p.interrupted && p.wantExit == 0 && p.status == 128+int(syscall.SIGINT) {
		return nil // ^C stopped it, as the lesson asked
	}
	hint := ""
	if p.wantExit == 0 {
		hint = fmt.Sprintf(" (if that is the point, end its output with [exit %d])", p.status)
	}
	return r.failf(p.line, "terminal %s: `%s` exited with status %d, want %d%s\n%s",
		p.term, p.command, p.status, p.wantExit, hint, r.tail(p))
}

// tail is the end of a terminal's output, for failure messages.
func (r *runner) tail(p *proc) string {
	lines := p.out.lines(true)
	var b strings.Builder
	fmt.Fprintf(&b, "    terminal %s output", p.term)
	if len(lines) > tailLines {
		fmt.Fprintf(&b, " (last %d of %d lines)", tailLines, len(lines))
		lines = lines[len(lines)-tailLines:]
	}
	b.WriteString(":")
	if len(lines) == 0 {
		b.WriteString(" (none)")
	}
	for _, l := range lines {
		b.WriteString("\n    | " + l)
	}
	// A client often fails because the server in another terminal died.
	for _, other := range r.procs {
		if other == p || r.terms[other.term] != other || !other.exited() || other.status == other.wantExit {
			continue
		}
		out := other.out.lines(true)
		fmt.Fprintf(&b, "\n    meanwhile terminal %s: `%s` exited with status %d", other.term, other.command, other.status)
		for _, l := range out[max(len(out)-5, 0):] {
			b.WriteString("\n    | " + l)
		}
	}
	return b.String()
}

// keepInheritedFDs marks every descriptor above 2 close-on-exec, before
// each command starts. A shell in a terminal gives a command 0, 1 and 2
// only; without this, a descriptor this process inherited without the
// flag (from a CI runner, an editor, a tool that started go test) would
// show up in a lesson's /proc/PID/fd listing and take a number a lesson
// counts on. Go opens its own descriptors close-on-exec already, and
// exec.Cmd clears the flag on the ones it passes as 0, 1 and 2.
func keepInheritedFDs() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return // no /proc (macOS): nothing to tidy, nothing listed
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// start runs a command the way a terminal would, minus the terminal.
// command is the step's command with the block's "test runs" replacements.
func (r *runner) start(term string, s Step, command string) (*proc, error) {
	if r.opts.Logf != nil {
		if command != s.Command {
			r.opts.Logf("%s:%d: terminal %s $ %s   (the lesson shows: %s)", r.lesson.File, s.Line, term, command, s.Command)
		} else {
			r.opts.Logf("%s:%d: terminal %s $ %s", r.lesson.File, s.Line, term, command)
		}
	}
	keepInheritedFDs()
	// One pipe for stdout and stderr keeps their lines in the order written.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir = r.opts.Dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
	// Its own process group, so ^C and the final clean-up reach its children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	inR.Close() // the child holds its own copies now
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, err
	}
	p := &proc{term: term, command: s.Command, line: s.Line, lastLine: s.Line,
		cmd: cmd, stdin: inW, out: newOutput(outR), done: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.status = exitStatus(cmd.ProcessState)
		// Read what it wrote before exiting. A child it left behind may keep
		// the pipe open, so do not wait for the end of the pipe forever.
		select {
		case <-p.out.eof:
		case <-time.After(time.Second):
		}
		close(p.done)
	}()
	r.terms[term] = p
	r.procs = append(r.procs, p)
	return p, nil
}

func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// stopAll ends every process group the lesson started: SIGINT first, as a
// learner would, then SIGKILL for whatever ignores it.
func (r *runner) stopAll() {
	signalAll := func(sig syscall.Signal) (alive bool) {
		for _, p := range r.procs {
			if syscall.Kill(-p.cmd.Process.Pid, sig) == nil {
				alive = true
			}
		}
		return alive
	}
	if signalAll(syscall.SIGINT) {
		deadline := time.Now().Add(stopGrace)
		for signalAll(0) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		signalAll(syscall.SIGKILL)
	}
	for _, p := range r.procs {
		<-p.done
		if p.stdin != nil {
			p.stdin.Close()
		}
		p.out.close()
	}
}

// output collects a command's output as lines, as they arrive.
type output struct {
	mu      sync.Mutex
	done    []string // complete lines, cleaned
	partial []byte   // the last line, while it has no newline yet
	notify  chan struct{}
	eof     chan struct{}
	pipe    *os.File
}

func newOutput(pipe *os.File) *output {
	o := &output{notify: make(chan struct{}), eof: make(chan struct{}), pipe: pipe}
	go o.read()
	return o
}

func (o *output) read() {
	buf := make([]byte, 4096)
	for {
		n, err := o.pipe.Read(buf)
		o.mu.Lock()
		o.partial = append(o.partial, buf[:n]...)
		for {
			i := bytes.IndexByte(o.partial, '\n')
			if i < 0 {
				break
			}
			o.done = append(o.done, cleanLine(string(o.partial[:i])))
			o.partial = o.partial[i+1:]
		}
		close(o.notify) // wake every waiter
		o.notify = make(chan struct{})
		o.mu.Unlock()
		if err != nil {
			if err != io.EOF && !errors.Is(err, os.ErrClosed) {
				o.mu.Lock()
				o.done = append(o.done, fmt.Sprintf("[lessoncheck: reading output: %v]", err))
				o.mu.Unlock()
			}
			close(o.eof)
			return
		}
	}
}

// changed is closed at the next output.
func (o *output) changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.notify
}

// lines returns the output lines so far. An unfinished last line counts
// only once the command is done: until then more of it may still come.
func (o *output) lines(ended bool) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := append([]string(nil), o.done...)
	if ended && len(o.partial) > 0 {
		lines = append(lines, cleanLine(string(o.partial)))
	}
	return lines
}

func (o *output) close() { o.pipe.Close() }
