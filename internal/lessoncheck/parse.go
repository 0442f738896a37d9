package lessoncheck

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Lesson is a parsed lesson file: its console blocks, in document order.
type Lesson struct {
	File   string
	Blocks []Block
}

// Block is one ```console fence.
type Block struct {
	Terminal string        // "A" unless the info string names another
	Line     int           // line of the opening fence
	Timeout  time.Duration // from <!-- timeout 30s -->; 0 means the default
	Label    string        // the terminal named by a "**Terminal X**" line just above; "" if none
	Replace  []Replace     // from <!-- test runs "…" as "…" -->: what the test types instead
	Steps    []Step
}

// Replace is a harness-only change to a block's commands: where a reader
// types Old (say "-hold 2m", time to look around), the test types New
// ("-hold 3s"), so the lesson can be generous with a reader's time without
// making the test wait.
type Replace struct {
	Old, New string
}

// Step is one command typed into the terminal with the output it should
// print, or (Command == "") more output from the command already running.
type Step struct {
	Command string // without the "$ "
	Line    int    // line of the "$ " line, or of the first expected line
	Expect  []Expect
	HasExit bool // an [exit N] line ends the step
	Exit    int  // N
}

// Kind says what an expected line asks of the checker.
type Kind int

const (
	Output     Kind = iota // one output line, compared after trimming
	AnyLines               // "...": zero or more output lines
	Interrupt              // "^C": SIGINT to the command's process group
	CloseStdin             // "^D": end of input for the command
)

// Expect is one line of expected output (or a key press) in a step.
type Expect struct {
	Line int
	Text string
	Kind Kind
	re   *regexp.Regexp // for Output lines
}

var (
	fenceRe       = regexp.MustCompile("^(\\s*)(`{3,}|~{3,})\\s*(.*)$")
	timeoutRe     = regexp.MustCompile(`^\s*<!--\s*timeout\b(.*?)-->\s*$`)
	exitRe        = regexp.MustCompile(`^\[exit (\d+)\]$`)
	placeholderRe = regexp.MustCompile(`<[a-z0-9_]+>`)
	testRunsRe    = regexp.MustCompile(`^\s*<!--\s*test runs\b(.*?)-->\s*$`)
	testRunsArgRe = regexp.MustCompile(`^\s*"([^"]+)"\s+as\s+"([^"]*)"\s*$`)
	// labelRe is the visible line that names a block's terminal in the
	// rendered lesson: "**Terminal B**", optionally followed by more words.
	labelRe = regexp.MustCompile(`^\s*\*\*Terminal ([A-Za-z0-9]+)\*\*`)
)

// ParseFile reads and parses one lesson file.
func ParseFile(path string) (*Lesson, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads a lesson from r; name is used in error messages.
func Parse(name string, r io.Reader) (*Lesson, error) {
	l := &Lesson{File: name}
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)

	var (
		n         int      // current line number
		fence     string   // the open fence's backticks or tildes; "" outside a fence
		indent    int      // the open fence's indentation, removed from its lines
		console   *Block   // the open fence, if it is a console block
		body      []string // the console block's lines
		timeout   time.Duration
		replace   []Replace
		directive int                 // line of the last directive comment (timeout, test runs) not yet used
		label     string              // terminal named by the last prose line, if it was a label
		hasRun    = map[string]bool{} // terminals that ran a command so far
	)
	for sc.Scan() {
		n++
		text := sc.Text()
		if fence != "" {
			m := fenceRe.FindStringSubmatch(text)
			if m != nil && m[3] == "" && m[2][0] == fence[0] && len(m[2]) >= len(fence) {
				fence = ""
				if console != nil {
					if err := parseBody(console, body, hasRun, fail); err != nil {
						return nil, err
					}
					l.Blocks = append(l.Blocks, *console)
					console, body = nil, nil
				}
				continue
			}
			if console != nil {
				body = append(body, strings.TrimPrefix(text, strings.Repeat(" ", indent)))
			}
			continue
		}
		if m := timeoutRe.FindStringSubmatch(text); m != nil {
			d, err := time.ParseDuration(strings.TrimSpace(m[1]))
			if err != nil || d <= 0 {
				return nil, fail(n, "bad timeout comment %q: want like <!-- timeout 30s -->", strings.TrimSpace(text))
			}
			timeout = d
			directive = n
			continue
		}
		if m := testRunsRe.FindStringSubmatch(text); m != nil {
			a := testRunsArgRe.FindStringSubmatch(m[1])
			if a == nil {
				return nil, fail(n, "bad test comment %q: want like <!-- test runs \"-hold 2m\" as \"-hold 3s\" -->", strings.TrimSpace(text))
			}
			replace = append(replace, Replace{Old: a[1], New: a[2]})
			directive = n
			continue
		}
		m := fenceRe.FindStringSubmatch(text)
		if m == nil {
			if lm := labelRe.FindStringSubmatch(text); lm != nil {
				label = lm[1] // before or after the checker's comments
			} else if strings.TrimSpace(text) != "" {
				if directive != 0 {
					return nil, fail(directive, "comment for the checker is not followed by a ```console block")
				}
				label = ""
			}
			continue
		}
		fence, indent = m[2], len(m[1])
		words := strings.Fields(m[3])
		if len(words) == 0 || words[0] != "console" {
			if directive != 0 {
				return nil, fail(directive, "comment for the checker is not followed by a ```console block")
			}
			label = ""
			continue
		}
		b := &Block{Terminal: "A", Line: n, Timeout: timeout, Label: label, Replace: replace}
		if len(words) > 1 {
			b.Terminal = words[1]
		}
		if len(words) > 2 {
			return nil, fail(n, "console block info %q: want \"console\" and at most a terminal name", m[3])
		}
		if b.Label != "" && b.Label != b.Terminal {
			return nil, fail(n, "the line above says **Terminal %s**, but the block runs in terminal %s", b.Label, b.Terminal)
		}
		console, body = b, nil
		timeout, replace, directive, label = 0, nil, 0, ""
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if fence != "" {
		return nil, fail(n, "code block opened with %s is never closed", fence)
	}
	if directive != 0 {
		return nil, fail(directive, "comment for the checker is not followed by a ```console block")
	}
	if err := checkBlocks(l); err != nil {
		return nil, err
	}
	return l, nil
}

// checkBlocks holds every console block to a "**Terminal B**" line above
// it: a renderer hides the info string ("console B"), so that line is the
// only way a reader can see which terminal to type into. (Parse already
// checked that a label names the block's own terminal.) Every "test runs"
// replacement must also change something.
func checkBlocks(l *Lesson) error {
	for _, b := range l.Blocks {
		if b.Label == "" {
			return fmt.Errorf("%s:%d: console block for terminal %s has no \"**Terminal %s**\" line above it (a renderer hides the info string, so only that line tells the reader where to type)",
				l.File, b.Line, b.Terminal, b.Terminal)
		}
		for _, r := range b.Replace {
			found := false
			for _, s := range b.Steps {
				found = found || strings.Contains(s.Command, r.Old)
			}
			if !found {
				return fmt.Errorf("%s:%d: test comment replaces %q, but no command of the block below contains it", l.File, b.Line, r.Old)
			}
		}
	}
	return nil
}

// TestCommand is the command as the checker runs it: the reader's command
// with the block's "test runs" replacements applied.
func (b *Block) TestCommand(s Step) string {
	cmd := s.Command
	for _, r := range b.Replace {
		cmd = strings.ReplaceAll(cmd, r.Old, r.New)
	}
	return cmd
}

// parseBody splits a console block's lines into steps. Its lines are
// numbered from the line after the opening fence.
func parseBody(b *Block, body []string, hasRun map[string]bool, fail func(int, string, ...any) error) error {
	var cur *Step
	for i, raw := range body {
		n := b.Line + 1 + i
		text := strings.TrimRight(raw, " \t")
		if strings.HasPrefix(text, "$ ") || text == "$" {
			cmd := strings.TrimSpace(text[1:])
			if cmd == "" {
				return fail(n, "empty command after $")
			}
			b.Steps = append(b.Steps, Step{Command: cmd, Line: n})
			cur = &b.Steps[len(b.Steps)-1]
			hasRun[b.Terminal] = true
			continue
		}
		if cur == nil {
			if text == "" {
				continue // blank lines at the top of a block
			}
			if !hasRun[b.Terminal] {
				return fail(n, "output with no command: terminal %s has not run anything yet (start the block with \"$ command\")", b.Terminal)
			}
			b.Steps = append(b.Steps, Step{Line: n})
			cur = &b.Steps[len(b.Steps)-1]
		}
		if strings.ContainsRune(text, '\x1b') {
			return fail(n, "expected output contains an escape sequence; write the text without colour codes")
		}
		if cur.HasExit {
			if text == "" {
				continue
			}
			return fail(n, "[exit %d] must be the last line of a command's output", cur.Exit)
		}
		if m := exitRe.FindStringSubmatch(text); m != nil {
			code, err := strconv.Atoi(m[1])
			if err != nil || code > 255 {
				return fail(n, "exit status %s out of range 0-255", m[1])
			}
			cur.HasExit, cur.Exit = true, code
			continue
		}
		cur.Expect = append(cur.Expect, newExpect(n, text))
	}
	// Blank lines between a command's output and the next "$ " line are
	// layout, not output.
	for i := range b.Steps {
		s := &b.Steps[i]
		for len(s.Expect) > 0 && s.Expect[len(s.Expect)-1].Text == "" {
			s.Expect = s.Expect[:len(s.Expect)-1]
		}
	}
	return nil
}

func newExpect(line int, text string) Expect {
	e := Expect{Line: line, Text: text}
	switch text {
	case "...":
		e.Kind = AnyLines
	case "^C":
		e.Kind = Interrupt
	case "^D":
		e.Kind = CloseStdin
	default:
		e.re = lineRegexp(text)
	}
	return e
}

// lineRegexp turns an expected line into an anchored regular expression:
// placeholders become patterns, everything else must match literally.
func lineRegexp(text string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range placeholderRe.FindAllStringIndex(text, -1) {
		b.WriteString(regexp.QuoteMeta(text[last:loc[0]]))
		if text[loc[0]:loc[1]] == "<any>" {
			b.WriteString(`.*?`)
		} else {
			b.WriteString(`\S+?`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(text[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Terminals lists the terminals the lesson uses, in order of first use.
func (l *Lesson) Terminals() []string {
	var names []string
	seen := map[string]bool{}
	for _, b := range l.Blocks {
		if !seen[b.Terminal] {
			seen[b.Terminal] = true
			names = append(names, b.Terminal)
		}
	}
	return names
}

// Commands lists the commands typed into one terminal, in order.
func (l *Lesson) Commands(terminal string) []string {
	var cmds []string
	for _, b := range l.Blocks {
		if b.Terminal != terminal {
			continue
		}
		for _, s := range b.Steps {
			if s.Command != "" {
				cmds = append(cmds, s.Command)
			}
		}
	}
	return cmds
}

// exitWanted looks ahead from the command at Blocks[bi].Steps[si] through
// the steps that continue it, for an [exit N] line.
func (l *Lesson) exitWanted(bi, si int) (code int, ok bool) {
	term := l.Blocks[bi].Terminal
	for i := bi; i < len(l.Blocks); i++ {
		b := l.Blocks[i]
		if b.Terminal != term {
			continue
		}
		for j, s := range b.Steps {
			if i == bi && j < si {
				continue
			}
			if s.Command != "" && !(i == bi && j == si) {
				return 0, false
			}
			if s.HasExit {
				return s.Exit, true
			}
		}
	}
	return 0, false
}
