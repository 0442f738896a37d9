// Package tracetest holds socklab's programs to their promise: the socket
// calls a program prints are the ones strace sees it make.
//
// A test runs the program under Strace, then compares Ours(its stderr)
// with Theirs(strace's log). Both sides become lines in the same notation:
//
//	accept4(3, {sa_family=AF_INET, sin_port=htons(40978), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], 0) = 4
//
// From strace's side we keep only calls on socket descriptors (strace -y
// names them "socket:[…]") and on the epoll descriptors the program's own
// trace created; everything the Go runtime does with its own files is left
// out. We also leave out what the program never saw return: a call still
// blocked when the process exited ("<unfinished ...>" with no resume), and
// a call the kernel restarted by itself after a signal (ERESTARTSYS) —
// the restarted call appears again, and that one is compared.
package tracetest

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// Expr is the strace -e expression the tests use: every call that takes a
// descriptor, and every network call.
const Expr = "trace=%network,%desc"

// Command wraps a program's command line in strace, writing its log to
// logPath: strace -f -y -s 32 -e trace=… -o logPath prog args…
func Command(logPath, prog string, args ...string) *exec.Cmd {
	full := append([]string{"-f", "-y", "-s", "32", "-e", Expr, "-o", logPath, prog}, args...)
	return exec.Command("strace", full...)
}

// Available reports whether strace can run here (it needs ptrace).
func Available() error {
	out, err := exec.Command("strace", "-f", "-o", "/dev/null", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("strace does not work here: %v: %s", err, out)
	}
	return nil
}

var ourLine = regexp.MustCompile(`^[a-z_0-9]+\(.*\) = (-?\d+|\?)( .*)?$`)

// Ours picks the trace lines out of a program's stderr (dropping notes,
// explanations, and anything else it printed), with colour codes removed.
func Ours(stderr string) []string {
	var calls []string
	for _, line := range strings.Split(stripANSI(stderr), "\n") {
		if ourLine.MatchString(line) {
			calls = append(calls, line)
		}
	}
	return calls
}

var (
	ansi       = regexp.MustCompile("\x1b\\[[0-9;]*m")
	pidPrefix  = regexp.MustCompile(`^(\d+) +`)
	decoration = regexp.MustCompile(`(\d+)<([^<>]*)>`)
	padding    = regexp.MustCompile(`\) +=`)
	unfinished = regexp.MustCompile(` ?<unfinished \.\.\.>$`)
	resumed    = regexp.MustCompile(`^<\.\.\. ([a-z_0-9]+) resumed>`)
	firstFD    = regexp.MustCompile(`^[a-z_0-9]+\((\d+)<([^<>]*)>`)
	returnedFD = regexp.MustCompile(`= (\d+)<([^<>]*)>$`)
	pairFD     = regexp.MustCompile(`, \[(\d+)<([^<>]*)>, \d+<[^<>]*>\]\) = 0$`)
	cwd        = regexp.MustCompile(`AT_FDCWD<[^<>]*>`)
)

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

// Theirs reads strace's log (strace -f -y -o) and returns the calls made
// on sockets and on the given extra descriptors' kinds, in order, in our
// notation. extraKinds names other descriptor kinds to keep, as strace -y
// shows them, e.g. "anon_inode:[eventpoll]" for an event loop's epoll
// descriptor; but only descriptors whose numbers appear in keepFDs are
// kept for those kinds (the Go runtime has an epoll descriptor of its own).
func Theirs(log string, extraKinds []string, keepFDs map[int]bool) []string {
	pending := map[string]string{} // pid → the first half of an unfinished call
	var calls []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pid := ""
		if m := pidPrefix.FindStringSubmatch(line); m != nil {
			pid = m[1]
			line = line[len(m[0]):]
		}
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") {
			continue
		}
		if unfinished.MatchString(line) {
			pending[pid] = unfinished.ReplaceAllString(line, "")
			continue
		}
		if m := resumed.FindStringSubmatch(line); m != nil {
			first, ok := pending[pid]
			if !ok {
				continue
			}
			delete(pending, pid)
			line = first + line[len(m[0]):]
		}
		if strings.Contains(line, "= ? ERESTART") || strings.HasSuffix(line, "= ?") {
			continue // restarted by the kernel, or never returned
		}
		if !keep(line, extraKinds, keepFDs) {
			continue
		}
		line = decoration.ReplaceAllString(line, "$1")
		line = cwd.ReplaceAllString(line, "AT_FDCWD") // openat(AT_FDCWD</home/me>, …): -y names the directory
		line = padding.ReplaceAllString(line, ") =")
		calls = append(calls, line)
	}
	return calls
}

func keep(line string, extraKinds []string, keepFDs map[int]bool) bool {
	kind, fd := "", -1
	if m := firstFD.FindStringSubmatch(line); m != nil {
		fmt.Sscan(m[1], &fd)
		kind = m[2]
	} else if m := returnedFD.FindStringSubmatch(line); m != nil {
		fmt.Sscan(m[1], &fd)
		kind = m[2] // socket(), accept4(), openat(): the result is the descriptor
	} else if m := pairFD.FindStringSubmatch(line); m != nil {
		fmt.Sscan(m[1], &fd)
		kind = m[2] // socketpair(…, [3<socket:[…]>, 4<socket:[…]>]) = 0: the pair is in the last argument
	}
	if strings.HasPrefix(kind, "socket:") {
		return true
	}
	for _, k := range extraKinds {
		if kind == k && keepFDs[fd] {
			return true
		}
	}
	return false
}

// Diff compares the two lists line by line and describes the first
// difference, or returns "" when they are equal.
func Diff(ours, theirs []string) string {
	n := len(ours)
	if len(theirs) > n {
		n = len(theirs)
	}
	for i := 0; i < n; i++ {
		var o, s string
		if i < len(ours) {
			o = ours[i]
		}
		if i < len(theirs) {
			s = theirs[i]
		}
		if o != s {
			return fmt.Sprintf("call %d differs:\n  printed: %s\n  strace:  %s\n\nall printed:\n  %s\n\nall strace:\n  %s",
				i+1, o, s, strings.Join(ours, "\n  "), strings.Join(theirs, "\n  "))
		}
	}
	return ""
}
