package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"socklab/internal/lessoncheck"
	"socklab/internal/proctest"
)

// The sockets pane shows the lesson's own sockets, found by the ports its
// commands use, not by program name: a newcomer's sockets pane listed
// another user's miniio on port 45309. Here a Python server on a port the
// lesson uses, with a client connected to it, must show (all three of its
// sockets); a server called miniio on another port, and a Unix socket
// the lesson never names, must not.
func TestSocketsFilterOwnPorts(t *testing.T) {
	proctest.NeedTool(t, "ss")
	proctest.NeedTool(t, "python3")
	// The interpreter itself, not a shim (pyenv's) that goes by its name.
	exe, err := exec.Command("python3", "-c", "import os, sys; print(os.path.realpath(sys.executable))").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	python := strings.TrimSpace(string(exe))
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A python3 started through a link named miniio is "miniio" to ss -p.
	miniio := filepath.Join(dir, "miniio")
	if err := os.Symlink(python, miniio); err != nil {
		t.Fatal(err)
	}
	const server = `import socket, time
s = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(s.getsockname())
a, _ = s.accept()
u = [socket.socket(socket.AF_UNIX) for _ in range(2)]
u[0].bind("run/echo.sock"); u[0].listen()
u[1].bind("run/other.sock"); u[1].listen()
print(s.getsockname()[1], flush=True)
time.sleep(60)
`
	ours := startPort(t, exec.Command(python, "-c", server), dir)
	theirs := startPort(t, exec.Command(miniio, "-c", `import socket, time
s = socket.create_server(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(60)
`), dir)

	lesson := "**Terminal A**\n\n```console A\n" +
		"$ ./bin/unixsock serve -path run/echo.sock\n...\n```\n\n" +
		"**Terminal B**\n\n```console B\n" +
		"$ printf 'hi\\n' | ./bin/tcpclient -addr 127.0.0.1:" + ours + "\n...\n```\n"
	l, err := lessoncheck.Parse("fixture.md", strings.NewReader(lesson))
	if err != nil {
		t.Fatal(err)
	}
	filter := socketsFilter(l, "../..")
	cmd := exec.Command("bash", "-c", filter)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filter, err, out)
	}
	screen := string(out)
	if n := len(regexp.MustCompile(`:`+ours+`\b`).FindAllString(screen, -1)); n < 3 {
		t.Errorf("the sockets pane shows port %s %d times, want the server, its accepted socket and the client (`%s`):\n%s", ours, n, filter, screen)
	}
	for _, unwanted := range []string{":" + theirs + " ", "miniio", "run/other.sock"} {
		if strings.Contains(screen, unwanted) {
			t.Errorf("the sockets pane shows %q, which is not the lesson's (`%s`):\n%s", unwanted, filter, screen)
		}
	}
	if !strings.Contains(screen, "run/echo.sock") || !strings.HasPrefix(screen, "Netid") {
		t.Errorf("the sockets pane lacks the header or run/echo.sock (`%s`):\n%s", filter, screen)
	}
}

// startPort starts a Python program in dir that prints the port it
// listens on, and returns the port.
func startPort(t *testing.T, cmd *exec.Cmd, dir string) string {
	t.Helper()
	cmd.Dir = dir
	p := proctest.Start(t, cmd)
	return strings.TrimSpace(p.WaitFor(t, &p.Stdout, "\n"))
}

// The ports of the real lessons: the programs' default ports show in
// what they print, and JSON's "pingInterval":25000 is no port.
func TestLessonPorts(t *testing.T) {
	for file, want := range map[string]string{
		"05-connection-life.md":   ":(7000)",
		"08-udp.md":               ":(7001|7009)",
		"12-acks-and-rooms.md":    ":(3000|7070)",
		"13-stress-and-limits.md": ":(3000|7070|7072)",
	} {
		l, err := lessoncheck.ParseFile(filepath.Join("../../lessons", file))
		if err != nil {
			t.Fatal(err)
		}
		if got := socketsFilter(l, "../.."); !strings.Contains(got, `"^Netid|`+want+`\b"`) {
			t.Errorf("%s: %s, want the ports %s", file, got, want)
		}
	}
	l, err := lessoncheck.ParseFile("../../lessons/09-unix-sockets.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := socketsFilter(l, "../.."); !strings.Contains(got, `@socklab-echo`) || !strings.Contains(got, `run/echo\.sock`) || strings.Contains(got, "$") {
		t.Errorf("09-unix-sockets.md: %s, want its socket paths and abstract name, and no shell expansion", got)
	}
}
