package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"socklab/internal/lessoncheck"
)

// watchCommand shows, once a second, the lesson's own sockets: those on
// the ports its commands use (ss lists a client's socket by its peer's
// port too), and for a lesson with Unix sockets, those on its socket
// paths or held by its programs. A filter on program names alone would
// also show another user's miniio on a port the lesson never uses.
func watchCommand(l *lessoncheck.Lesson, root string) string {
	ss := socketsFilter(l, root)
	if _, err := exec.LookPath("watch"); err != nil {
		return fmt.Sprintf(`while :; do clear; %s; sleep 1; done`, ss)
	}
	// -t: no title line; the pane is only a few lines high.
	return fmt.Sprintf(`watch -t -n1 '%s'`, ss)
}

// socketsFilter is the shell command that lists the lesson's sockets once.
func socketsFilter(l *lessoncheck.Lesson, root string) string {
	pattern := "^Netid" // ss's header line
	if ports := lessonPorts(l); len(ports) > 0 {
		pattern += `|:(` + strings.Join(ports, "|") + `)\b`
	}
	if names := unixNames(l, root); len(names) > 0 {
		// Only on Unix socket lines (u_str, u_dgr, u_seq): the program's
		// name matches its socketpair, which has no path.
		pattern += `|^u_.*(` + strings.Join(names, "|") + `)`
	}
	return fmt.Sprintf(`ss -tuxanp | grep -E "%s"`, pattern)
}

// The ways a port is written in the lessons' commands and in what they
// print: 127.0.0.1:7000, [::1]:7000, -addr :7000, 'sport = :7000',
// ws://127.0.0.1:7072/, sin_port=htons(7000), Python's
// ("127.0.0.1", 7000), and nc 127.0.0.1 7070.
// (A host, or nothing, before the colon: "pingInterval":25000 in JSON is
// no port.)
var portRes = []*regexp.Regexp{
	regexp.MustCompile(`(?:^|[\d\]\s=(]|localhost):(\d{4,5})\b`),
	regexp.MustCompile(`htons\((\d{4,5})\)`),
	regexp.MustCompile(`\("[^"]*", (\d{4,5})\)`),
	regexp.MustCompile(`\bnc\b(?: -\w+)* \S+ (\d{4,5})\b`),
}

// lessonPorts lists the ports the lesson's commands use, including the
// programs' default ports, which show in what they print ("# listening
// on 127.0.0.1:7000", "htons(7000)"). Ports below 1024 are left out: the
// lessons use none, and :0000 in /proc/net/tcp is not a port.
func lessonPorts(l *lessoncheck.Lesson) []string {
	var ports []string
	add := func(text string) {
		for _, re := range portRes {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if n, err := strconv.Atoi(m[1]); err == nil && n >= 1024 && n <= 65535 {
					ports = append(ports, strconv.Itoa(n))
				}
			}
		}
	}
	for _, b := range l.Blocks {
		for _, s := range b.Steps {
			add(s.Command)
			for _, e := range s.Expect {
				if e.Kind == lessoncheck.Output {
					add(e.Text)
				}
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// How a Unix socket's name appears in a lesson's commands: -path
// run/echo.sock, -abstract socklab-echo (ss shows it as @socklab-echo),
// or a Python string "run/busy.sock".
var (
	unixPathRe     = regexp.MustCompile(`-path (\S+)`)
	unixAbstractRe = regexp.MustCompile(`-abstract (\S+)`)
	unixStringRe   = regexp.MustCompile(`"(run/[^"]+)"`)
	labProgramRe   = regexp.MustCompile(`\./bin/([a-z0-9]+)\b`)
	// A name with any of these is the shell's to expand, or would break
	// the quoting of the watch command: left out.
	unquotable = regexp.MustCompile(`[$'"\\` + "`" + `]`)
)

// unixNames lists, as regular expressions, the Unix socket paths and
// abstract names the lesson's commands use, and, if there are any, the
// lab programs the lesson runs. Empty for a lesson without Unix sockets.
func unixNames(l *lessoncheck.Lesson, root string) []string {
	var names, progs []string
	known := programs(root)
	for _, b := range l.Blocks {
		for _, s := range b.Steps {
			for _, m := range unixPathRe.FindAllStringSubmatch(s.Command, -1) {
				names = append(names, m[1])
			}
			for _, m := range unixStringRe.FindAllStringSubmatch(s.Command, -1) {
				names = append(names, m[1])
			}
			for _, m := range unixAbstractRe.FindAllStringSubmatch(s.Command, -1) {
				names = append(names, "@"+m[1])
			}
			for _, m := range labProgramRe.FindAllStringSubmatch(s.Command, -1) {
				if slices.Contains(known, m[1]) {
					progs = append(progs, m[1])
				}
			}
		}
	}
	var res []string
	for _, n := range names {
		if !unquotable.MatchString(n) {
			res = append(res, regexp.QuoteMeta(n))
		}
	}
	if len(res) == 0 {
		return nil
	}
	res = append(res, progs...)
	slices.Sort(res)
	return slices.Compact(res)
}
