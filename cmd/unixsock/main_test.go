//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// These tests start the real unixsock and talk to it with Python's
// socket module and socat, the peers a learner would use, and hold its
// trace to strace's. Socket files go in each test's own temporary
// directory; abstract names carry the test's pid, so parallel runs never
// collide.

var (
	unixsock string              // the program, built once by TestMain
	python   = proctest.Python() // the Python that plays the peer
)

func TestMain(m *testing.M) {
	proctest.Main(m, func(dir string) { unixsock = filepath.Join(dir, "unixsock") }, "socklab/cmd/unixsock")
}

// inDir is exec.Command run in dir (the working directory if "").
func inDir(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}

// run runs a command to the end (bounded) in dir with stdin, and
// returns its stdout, stderr and exit status.
func run(t *testing.T, dir, stdin, name string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := inDir(dir, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	return proctest.Run(t, cmd)
}

// startServer starts unixsock serve (or recvfd) with args in dir, its
// stdout and stderr together in Stdout (as a terminal shows them), and
// waits until it listens or is bound.
func startServer(t *testing.T, dir string, args ...string) *proctest.Proc {
	t.Helper()
	return startServerCmd(t, dir, unixsock, args...)
}

// startServerCmd is startServer for a command line of its own (strace …).
func startServerCmd(t *testing.T, dir, name string, args ...string) *proctest.Proc {
	t.Helper()
	p := proctest.StartCombined(t, inDir(dir, name, args...))
	p.WaitSubmatch(t, &p.Stdout, `(?m)^(listen\(3, \d+\) = 0|setsockopt\(3, SOL_SOCKET, SO_PASSCRED, \[1\], 4\) = 0)$`)
	return p
}

func abstractName(t *testing.T) string {
	return fmt.Sprintf("socklab-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
}

// Python clients: a stream client on a path and on an abstract name, and
// a datagram client that binds (autobind) so the echo can reach it. The
// server must echo and name the Python process as its peer.
func TestServeToPythonClients(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, addr, pyAddr string
		dgram              bool
	}{
		{"stream", "-path=echo.sock", `"echo.sock"`, false},
		{"abstract", "-abstract=" + abstractName(t), `"\0` + abstractName(t) + `"`, false},
		{"dgram", "-path=dgram.sock", `"dgram.sock"`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"serve", c.addr}
			client := `
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(` + c.pyAddr + `)
s.sendall(b"hello from python\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(4096)
    if not b: break
    got += b
print(os.getpid(), got.decode(), end="")
`
			if c.dgram {
				args = append(args, "-dgram")
				client = `
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("")  # autobind: an abstract name the server can reply to
s.settimeout(5)
for m in [b"one", b"two two", b"three three three"]:
    s.sendto(m, ` + c.pyAddr + `)
got = [s.recv(100).decode() for _ in range(3)]
print(os.getpid(), " ".join(got))
`
			}
			server := startServer(t, dir, args...)
			stdout, stderr, status := run(t, dir, "", python, "-c", client)
			if status != 0 {
				t.Fatalf("python: exit %d\n%s\nserver:\n%s", status, stderr, server.Stdout.String())
			}
			pid, reply, _ := strings.Cut(stdout, " ")
			want := "hello from python\n"
			if c.dgram {
				want = "one two two three three three\n"
			}
			if reply != want {
				t.Errorf("python got %q, want %q", reply, want)
			}
			if c.dgram {
				server.WaitSubmatch(t, &server.Stdout, `cmsg_type=SCM_CREDENTIALS, cmsg_data=\{pid=`+pid+`, `)
				server.WaitSubmatch(t, &server.Stdout, `# a datagram of 17 bytes from pid `+pid+` \(python3\), uid \d+, gid \d+, address @`)
			} else {
				server.WaitSubmatch(t, &server.Stdout, `getsockopt\(4, SOL_SOCKET, SO_PEERCRED, \{pid=`+pid+`, uid=\d+, gid=\d+\}, \[12\]\) = 0`)
				server.WaitSubmatch(t, &server.Stdout, `# peer: pid `+pid+` \(python3\)`)
			}
		})
	}
}

// Python servers: unixsock send against a Python stream server on a path
// and on an abstract name, and -dgram against a Python datagram server.
func TestSendToPythonServers(t *testing.T) {
	dir := t.TempDir()
	stream := func(addr string) string {
		return `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(` + addr + `)
s.listen()
print("ready", flush=True)
c, _ = s.accept()
data = b""
while True:
    b = c.recv(4096)
    if not b: break
    data += b
c.sendall(data.upper())
c.close()
`
	}
	cases := []struct {
		name, py string
		args     []string
		stdin    string
		want     string
	}{
		{"stream", stream(`"py.sock"`), []string{"send", "-path", "py.sock"}, "a line\nand another\n", "A LINE\nAND ANOTHER\n"},
		{"abstract", stream(`"\0` + abstractName(t) + `"`), []string{"send", "-abstract", abstractName(t)}, "abstract\n", "ABSTRACT\n"},
		{"dgram", `
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("pyd.sock")
print("ready", flush=True)
for i in range(3):
    data, peer = s.recvfrom(65536)
    s.sendto(str(len(data)).encode(), peer)
`, []string{"send", "-dgram", "-path", "pyd.sock", "x", strings.Repeat("y", 500), strings.Repeat("z", 20000)}, "", "1\n500\n20000\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			server := proctest.StartCombined(t, inDir(dir, python, "-c", c.py))
			server.WaitFor(t, &server.Stdout, "ready")
			stdout, stderr, status := run(t, dir, c.stdin, unixsock, c.args...)
			if status != 0 || stdout != c.want {
				t.Errorf("exit %d, stdout %q, want %q\n%s", status, stdout, c.want, stderr)
			}
		})
	}
}

// socat is a client of unixsock serve, and a server for unixsock send.
func TestSocat(t *testing.T) {
	proctest.NeedTool(t, "socat")
	dir := t.TempDir()
	startServer(t, dir, "serve", "-path", "echo.sock")
	stdout, stderr, status := run(t, dir, "through socat\n", "socat", "-", "UNIX-CONNECT:echo.sock")
	if status != 0 || stdout != "through socat\n" {
		t.Errorf("socat client: exit %d, stdout %q\n%s", status, stdout, stderr)
	}

	socat := proctest.StartCombined(t, inDir(dir, "socat", "-d", "-d", "UNIX-LISTEN:socat.sock", "EXEC:tr a-z A-Z"))
	socat.WaitFor(t, &socat.Stdout, "listening on")
	stdout, stderr, status = run(t, dir, "to socat\n", unixsock, "send", "-path", "socat.sock")
	if status != 0 || stdout != "TO SOCAT\n" {
		t.Errorf("socat server: exit %d, stdout %q\n%s", status, stdout, stderr)
	}
}

const secret = "the secret, read through a passed descriptor\n"

// Python's socket.send_fds and recv_fds against unixsock recvfd and
// sendfd: the descriptor crosses in both directions and the file is read
// through it on the other side.
func TestPassDescriptorsWithPython(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("python sends, recvfd reads", func(t *testing.T) {
		receiver := startServer(t, dir, "recvfd", "-path", "fd.sock")
		_, stderr, status := run(t, dir, "", python, "-c", `
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("fd.sock")
fd = os.open("secret.txt", os.O_RDONLY)
socket.send_fds(s, [b"from python"], [fd])
os.close(fd)
s.close()
`)
		if status != 0 {
			t.Fatalf("python: exit %d\n%s", status, stderr)
		}
		if status := receiver.ExitCode(t); status != 0 {
			t.Fatalf("recvfd: exit %d\n%s", status, receiver.Stdout.String())
		}
		out := receiver.Stdout.String()
		if !strings.Contains(out, secret) {
			t.Errorf("recvfd did not print the file's content:\n%s", out)
		}
		// The descriptor's number here differs from Python's, but the file is the same.
		m := regexp.MustCompile(`cmsg_data=\[(\d+)\]`).FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "# fd "+m[1]+" arrived: "+file+", inode ") {
			t.Errorf("recvfd did not say which file fd arrived:\n%s", out)
		}
		if _, err := os.Lstat(filepath.Join(dir, "fd.sock")); !os.IsNotExist(err) {
			t.Errorf("recvfd left its socket file behind (%v)", err)
		}
	})

	t.Run("sendfd sends, python reads", func(t *testing.T) {
		receiver := proctest.StartCombined(t, inDir(dir, python, "-c", `
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("py-fd.sock")
s.listen()
print("ready", flush=True)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 4)
print("message:", msg.decode())
print("fds:", fds)
print("content:", os.read(fds[0], 4096).decode(), end="")
`))
		receiver.WaitFor(t, &receiver.Stdout, "ready")
		_, stderr, status := run(t, dir, "", unixsock, "sendfd", "-path", "py-fd.sock", "secret.txt")
		if status != 0 {
			t.Fatalf("sendfd: exit %d\n%s", status, stderr)
		}
		if status := receiver.ExitCode(t); status != 0 {
			t.Fatalf("python: exit %d\n%s", status, receiver.Stdout.String())
		}
		out := receiver.Stdout.String()
		if !strings.Contains(out, "content: "+secret) {
			t.Errorf("python did not read the file through the descriptor:\n%s", out)
		}
		ours := regexp.MustCompile(`openat\(AT_FDCWD, "secret.txt", O_RDONLY\|O_CLOEXEC\) = (\d+)`).FindStringSubmatch(stderr)
		if ours == nil || !strings.Contains(out, "message: fd "+ours[1]+" of pid ") {
			t.Errorf("the message does not name our fd:\nours:\n%s\npython:\n%s", stderr, out)
		}
	})
}

// pair: the parent and the child exchange a message over a socketpair;
// each says which fd it used and whom it heard from.
func TestPair(t *testing.T) {
	stdout, stderr, status := run(t, "", "", unixsock, "pair")
	if status != 0 {
		t.Fatalf("exit %d\n%s", status, stderr)
	}
	m := regexp.MustCompile(`^child \(pid (\d+)\) read on fd 4: ping from pid (\d+)\nparent \(pid (\d+)\) read on fd 3: pong from pid (\d+)\n$`).FindStringSubmatch(stdout)
	if m == nil || m[1] != m[4] || m[2] != m[3] || m[1] == m[2] {
		t.Fatalf("stdout:\n%s", stdout)
	}
	parent, child := m[2], m[1]
	for _, want := range []string{
		"[pid " + parent + "] socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0",
		"[pid " + child + "] close(3) = 0",
		"[pid " + child + "] getsockopt(4, SOL_SOCKET, SO_PEERCRED, {pid=" + parent + ", ",
		"[pid " + parent + "] read(3, \"\", 4096) = 0",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no %q in\n%s", want, stderr)
		}
	}
}

// Trace truth: sessions of every command under strace -f; the socket
// calls strace records are the ones the programs printed.
func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	dir := t.TempDir()
	file := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	traced := func(name string, args ...string) (string, []string) {
		log := filepath.Join(logs, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))
		cmd := tracetest.Command(log, unixsock, args...)
		return log, cmd.Args
	}

	t.Run("stream", func(t *testing.T) {
		makeStaleSocket(t, filepath.Join(dir, "s.sock")) // so the probe and the removal are traced too
		serverLog, cmd := traced("serve", "serve", "-path", "s.sock")
		server := startServerCmd(t, dir, cmd[0], cmd[1:]...)
		clientLog, cmd := traced("send", "send", "-path", "s.sock")
		_, stderr, status := run(t, dir, "one line\n", cmd[0], cmd[1:]...)
		if status != 0 {
			t.Fatalf("send: exit %d\n%s", status, stderr)
		}
		compare(t, stderr, clientLog, nil)
		server.WaitSubmatch(t, &server.Stdout, `close\(4\) = 0`)
		stopTraced(t, server)
		server.ExitCode(t)
		compare(t, server.Stdout.String(), serverLog, nil)
	})

	t.Run("dgram", func(t *testing.T) {
		serverLog, cmd := traced("serve", "serve", "-dgram", "-path", "d.sock")
		server := startServerCmd(t, dir, cmd[0], cmd[1:]...)
		clientLog, cmd := traced("send", "send", "-dgram", "-path", "d.sock", "hi", "there")
		_, stderr, status := run(t, dir, "", cmd[0], cmd[1:]...)
		if status != 0 {
			t.Fatalf("send: exit %d\n%s", status, stderr)
		}
		compare(t, stderr, clientLog, nil)
		server.WaitSubmatch(t, &server.Stdout, `sendto\(3, "there"`)
		stopTraced(t, server)
		server.ExitCode(t)
		compare(t, server.Stdout.String(), serverLog, nil)
	})

	t.Run("dgram with descriptors", func(t *testing.T) {
		// The descriptors a sender attaches are installed in the server
		// and closed by it: strace must see the same closes.
		serverLog, cmd := traced("serve", "serve", "-dgram", "-path", "dfd.sock")
		server := startServerCmd(t, dir, cmd[0], cmd[1:]...)
		proctest.RunPython(t, `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
fds = array.array("i", [os.open("/dev/null", os.O_RDONLY) for _ in range(2)])
s.sendmsg([b"two"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], 0, sys.argv[1])
`, filepath.Join(dir, "dfd.sock"))
		server.WaitSubmatch(t, &server.Stdout, `close\(5\) = 0`)
		stopTraced(t, server)
		server.ExitCode(t)
		compare(t, server.Stdout.String(), serverLog, []string{"/dev/null"})
	})

	t.Run("abstract", func(t *testing.T) {
		serverLog, cmd := traced("serve", "serve", "-abstract", abstractName(t))
		server := startServerCmd(t, dir, cmd[0], cmd[1:]...)
		clientLog, cmd := traced("send", "send", "-abstract", abstractName(t))
		_, stderr, _ := run(t, dir, "abstract\n", cmd[0], cmd[1:]...)
		compare(t, stderr, clientLog, nil)
		server.WaitSubmatch(t, &server.Stdout, `close\(4\) = 0`)
		stopTraced(t, server)
		server.ExitCode(t)
		compare(t, server.Stdout.String(), serverLog, nil)
	})

	t.Run("fds", func(t *testing.T) {
		receiverLog, cmd := traced("recvfd", "recvfd", "-path", "fd.sock")
		receiver := startServerCmd(t, dir, cmd[0], cmd[1:]...)
		senderLog, cmd := traced("sendfd", "sendfd", "-path", "fd.sock", file)
		_, stderr, status := run(t, dir, "", cmd[0], cmd[1:]...)
		if status != 0 {
			t.Fatalf("sendfd: exit %d\n%s", status, stderr)
		}
		// The file's descriptors are traced as well: strace -y names them by the file.
		compare(t, stderr, senderLog, []string{file})
		if status := receiver.ExitCode(t); status != 0 {
			t.Fatalf("recvfd: exit %d\n%s", status, receiver.Stdout.String())
		}
		compare(t, receiver.Stdout.String(), receiverLog, []string{file})
	})

	t.Run("pair", func(t *testing.T) {
		log, cmd := traced("pair", "pair")
		_, stderr, status := run(t, dir, "", cmd[0], cmd[1:]...)
		if status != 0 {
			t.Fatalf("pair: exit %d\n%s", status, stderr)
		}
		// Both processes tag their lines "[pid N] ", as strace -f does;
		// the tags must name the processes strace saw make the calls.
		raw, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		tag := regexp.MustCompile(`(?m)^\[pid (\d+)\] `)
		for _, m := range tag.FindAllStringSubmatch(stderr, -1) {
			if !regexp.MustCompile(`(?m)^` + m[1] + ` +[a-z]`).Match(raw) {
				t.Errorf("pid %s is not in strace's log", m[1])
			}
		}
		compare(t, tag.ReplaceAllString(stderr, ""), log, nil)
	})
}

// makeStaleSocket leaves a socket file with no server behind it, as a
// server killed with SIGKILL does.
func makeStaleSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
}

// stopTraced sends SIGTERM to the program strace runs (strace's child).
func stopTraced(t *testing.T, p *proctest.Proc) {
	t.Helper()
	pid := p.Cmd.Process.Pid
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil || len(strings.Fields(string(raw))) == 0 {
		t.Fatalf("strace's child: %q %v", raw, err)
	}
	child, _ := strconv.Atoi(strings.Fields(string(raw))[0])
	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// compare checks the printed trace against strace's log. extraKinds are
// files whose descriptors count too (strace -y shows their paths).
func compare(t *testing.T, printed, logPath string, extraKinds []string) {
	t.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[int]bool{}
	for fd := 3; fd < 32; fd++ {
		keep[fd] = true
	}
	ours, theirs := tracetest.Ours(printed), tracetest.Theirs(string(raw), extraKinds, keep)
	if len(ours) < 3 {
		t.Fatalf("only %d calls printed:\n%s", len(ours), printed)
	}
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Error(d)
	}
}

// The safety rules for the socket file.
func TestSocketFileSafety(t *testing.T) {
	dir := t.TempDir()

	t.Run("a regular file is left alone", func(t *testing.T) {
		path := filepath.Join(dir, "notes.sock")
		os.WriteFile(path, []byte("my notes\n"), 0o644)
		_, stderr, status := run(t, dir, "", unixsock, "serve", "-path", "notes.sock")
		if status != 1 || !strings.Contains(stderr, "unixsock: notes.sock exists and is a regular file, not a socket: leaving it alone.") {
			t.Errorf("exit %d, want 1 and a clear message:\n%s", status, stderr)
		}
		if raw, err := os.ReadFile(path); err != nil || string(raw) != "my notes\n" {
			t.Errorf("the file was touched: %q %v", raw, err)
		}
	})

	t.Run("a symlink and a directory are left alone", func(t *testing.T) {
		os.Symlink("notes.sock", filepath.Join(dir, "link.sock"))
		os.Mkdir(filepath.Join(dir, "dir.sock"), 0o700)
		for _, name := range []string{"link.sock", "dir.sock"} {
			_, stderr, status := run(t, dir, "", unixsock, "recvfd", "-path", name)
			if status != 1 || !strings.Contains(stderr, "not a socket: leaving it alone") {
				t.Errorf("%s: exit %d\n%s", name, status, stderr)
			}
			if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s is gone: %v", name, err)
			}
		}
	})

	t.Run("a stale socket is replaced", func(t *testing.T) {
		makeStaleSocket(t, filepath.Join(dir, "stale.sock"))
		server := startServer(t, dir, "serve", "-path", "stale.sock")
		for _, want := range []string{
			`connect(3, {sa_family=AF_UNIX, sun_path="stale.sock"}, 13) = -1 ECONNREFUSED (Connection refused)`,
			"# ECONNREFUSED: nobody is listening, so the file is stale; removed it",
		} {
			if !strings.Contains(server.Stdout.String(), want) {
				t.Errorf("no %q in\n%s", want, server.Stdout.String())
			}
		}
		stdout, _, _ := run(t, dir, "alive\n", unixsock, "send", "-q", "-path", "stale.sock")
		if stdout != "alive\n" {
			t.Errorf("the new server did not answer: %q", stdout)
		}
	})

	t.Run("a live server is not replaced", func(t *testing.T) {
		first := startServer(t, dir, "serve", "-path", "live.sock")
		_, stderr, status := run(t, dir, "", unixsock, "serve", "-path", "live.sock")
		if status != 1 || !strings.Contains(stderr, "unixsock: a server is already listening at live.sock") {
			t.Errorf("exit %d\n%s", status, stderr)
		}
		if _, err := os.Lstat(filepath.Join(dir, "live.sock")); err != nil {
			t.Errorf("the live server's file is gone: %v", err)
		}
		stdout, _, _ := run(t, dir, "still here\n", unixsock, "send", "-q", "-path", "live.sock")
		if stdout != "still here\n" {
			t.Errorf("the first server no longer answers: %q\n%s", stdout, first.Stdout.String())
		}
	})

	t.Run("0600 by default, -mode otherwise, removed on SIGINT and SIGTERM", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			mode os.FileMode
			sig  syscall.Signal
		}{
			{nil, 0o600, syscall.SIGINT},
			{[]string{"-mode", "0660"}, 0o660, syscall.SIGTERM},
			{[]string{"-dgram", "-mode", "0640"}, 0o640, syscall.SIGINT},
		} {
			server := startServer(t, dir, append([]string{"serve", "-path", "perm.sock"}, c.args...)...)
			st, err := os.Lstat(filepath.Join(dir, "perm.sock"))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != c.mode {
				t.Errorf("%v: the socket file is %v, want a socket with %v", c.args, st.Mode(), c.mode)
			}
			server.Cmd.Process.Signal(c.sig)
			if status := server.ExitCode(t); status != 0 {
				t.Errorf("%v: exit %d after %v", c.args, status, c.sig)
			}
			if _, err := os.Lstat(filepath.Join(dir, "perm.sock")); !os.IsNotExist(err) {
				t.Errorf("%v: the socket file is still there after %v (%v)", c.args, c.sig, err)
			}
		}
	})

	t.Run("a path too long for sun_path is refused before any system call", func(t *testing.T) {
		long := strings.Repeat("d", 120) + ".sock"
		log := filepath.Join(t.TempDir(), "strace.log")
		cmd := tracetest.Command(log, unixsock, "serve", "-path", long)
		_, stderr, status := run(t, dir, "", cmd.Args[0], cmd.Args[1:]...)
		if status != 2 || !strings.Contains(stderr, "unixsock: -path: the socket path is 125 bytes, but sun_path holds at most 107") {
			t.Errorf("exit %d\n%s", status, stderr)
		}
		raw, _ := os.ReadFile(log)
		if calls := tracetest.Theirs(string(raw), nil, nil); len(calls) > 0 {
			t.Errorf("socket calls were made: %q", calls)
		}
	})
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{}, 2, "unixsock serve"},
		{[]string{"listen"}, 2, `unknown command "listen"`},
		{[]string{"serve"}, 2, "where is the socket? give -path FILE"},
		{[]string{"serve", "-path", "a", "-abstract", "b"}, 2, "give -path or -abstract, not both"},
		{[]string{"serve", "-path", "@x"}, 2, "starts with @"},
		{[]string{"serve", "-path", "a.sock", "-mode", "999"}, 2, "-mode \"999\": want permissions in octal"},
		{[]string{"send", "-dgram", "-path", "a.sock"}, 2, "nothing to send"},
		{[]string{"sendfd", "-path", "a.sock"}, 2, "give the one file to send"},
		{[]string{"sendfd", "-path", "a.sock", "no-such-file"}, 1, "unixsock: open no-such-file: ENOENT (No such file or directory)"},
		{[]string{"send", "-path", "nobody.sock"}, 1, "unixsock: connect nobody.sock: ENOENT (No such file or directory)"},
		{[]string{"pair", "extra"}, 2, `unexpected argument "extra"`},
		// connect to a file that is not a socket also says ECONNREFUSED;
		// the program must not call the directory a stale socket.
		{[]string{"send", "-path", "."}, 1, "why: . is a directory, not a socket file"},
		{[]string{"serve", "-path", "no-such-dir/a.sock"}, 1, "why: the directory no-such-dir does not exist"},
	}
	for _, c := range cases {
		_, stderr, status := run(t, dir, "", unixsock, c.args...)
		if status != c.status || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine ") {
			t.Errorf("unixsock %q: exit %d, want %d and %q:\n%s", c.args, status, c.status, c.want, stderr)
		}
	}

	// A stale file: connect's ECONNREFUSED is explained.
	makeStaleSocket(t, filepath.Join(dir, "stale.sock"))
	_, stderr, status := run(t, dir, "", unixsock, "send", "-path", "stale.sock")
	if status != 1 || !strings.Contains(stderr, "why: stale.sock is a socket file, but no server has it open") {
		t.Errorf("stale: exit %d\n%s", status, stderr)
	}
}

// The wrong socket type, and a name already taken, get their own words.
func TestWrongTypeAndNameTaken(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir, "serve", "-path", "stream.sock")
	_, stderr, status := run(t, dir, "", unixsock, "send", "-dgram", "-path", "stream.sock", "x")
	if status != 1 || !strings.Contains(stderr, "EPROTOTYPE") || !strings.Contains(stderr, "add or remove -dgram") {
		t.Errorf("datagram to a stream server: exit %d\n%s", status, stderr)
	}
	name := abstractName(t)
	startServer(t, dir, "serve", "-abstract", name)
	_, stderr, status = run(t, dir, "", unixsock, "serve", "-abstract", name)
	if status != 1 || !strings.Contains(stderr, "unixsock: bind @"+name+": EADDRINUSE (Address already in use)\nwhy: another socket is bound to that name") {
		t.Errorf("abstract name taken: exit %d\n%s", status, stderr)
	}
}
