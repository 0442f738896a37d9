//go:build linux

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// TestTraceMatchesStrace is the promise of the trace: run tcpserver under
// strace, serve one client, stop it with Ctrl-C; the socket calls strace
// saw are the ones tcpserver printed, in the same order, with the same
// descriptors and results.
func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	cases := []struct {
		name, listen, connect string // hosts
		peer                  string // how the server sees the client
	}{
		{"IPv4", "127.0.0.1", "127.0.0.1", "127.0.0.1:"},
		{"IPv6", "[::1]", "[::1]", "[::1]:"},
		{"dual-stack", "", "127.0.0.1", "[::ffff:127.0.0.1]:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "strace.log")
			srv := proctest.Start(t, tracetest.Command(log, prog("tcpserver"), "-addr", tc.listen+":0"))
			_, port := hostPort(t, listenAddr(t, srv))

			client := exec.Command(prog("tcpclient"), "-q", "-addr", fmt.Sprintf("%s:%d", tc.connect, port))
			client.Stdin = strings.NewReader("hello\n")
			reply, err := client.Output()
			if err != nil || string(reply) != "hello\n" {
				t.Fatalf("tcpclient: %v, reply %q", err, reply)
			}
			srv.WaitFor(t, &srv.Stderr, "close(4) = 0")
			if err := syscall.Kill(tracee(t, srv), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			if code := srv.ExitCode(t); code != 0 {
				t.Fatalf("exit status %d after SIGINT, want 0\n%s", code, srv.Stderr.String())
			}

			printed := srv.Stderr.String()
			for _, want := range []string{
				") = 3\n", // the listening socket is fd 3
				"# peer " + tc.peer,
				`read(4, "hello\n", 4096) = 6`,
				`write(4, "hello\n", 6) = 6`,
				"# SIGINT: closing the listening socket\nclose(3) = 0\n",
			} {
				if !strings.Contains(printed, want) {
					t.Errorf("trace lacks %q:\n%s", want, printed)
				}
			}
			if tc.listen == "" && !strings.Contains(printed, "setsockopt(3, SOL_IPV6, IPV6_V6ONLY, [0], 4) = 0") {
				t.Errorf("dual stack without IPV6_V6ONLY=0 in the trace:\n%s", printed)
			}
			raw, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			ours, theirs := tracetest.Ours(printed), tracetest.Theirs(string(raw), nil, nil)
			if d := tracetest.Diff(ours, theirs); d != "" {
				t.Fatal(d)
			}
			// The blocked accept4 never returned: strace saw it start.
			if !strings.Contains(string(raw), "accept4(3<socket:") || !strings.Contains(string(raw), "<unfinished ...>") {
				t.Errorf("expected strace to show the last accept4 unfinished:\n%s", raw)
			}
		})
	}
}

// echoClient sends 1 MiB of every byte value while reading the echo at
// the same time, and says whether it all came back unchanged.
const echoClient = `
import socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
data = bytes(range(256)) * 4096
s = socket.create_connection((host, port))
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print("same" if got == data else "differs: sent %d, got %d" % (len(data), len(got)))
`

func TestEchoesOneMiBFromPython(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1", "-q")
	host, port := hostPort(t, addr)
	if got := proctest.RunPython(t, echoClient, host, fmt.Sprint(port)); got != "same\n" {
		t.Fatalf("1 MiB echo: %s", got)
	}
	if s := srv.Stderr.String(); s != "# listening on "+addr+"\n" {
		t.Fatalf("-q server printed more than its address:\n%s", s)
	}
}

// TestRealPeers: socat and nc talk to tcpserver the way a learner would
// try it by hand.
func TestRealPeers(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1")
	host, port := hostPort(t, addr)
	peers := []struct {
		name string
		argv []string
	}{
		{"socat", []string{"socat", "-", fmt.Sprintf("TCP:%s:%d", host, port)}},
		{"nc", []string{"nc", "-N", host, fmt.Sprint(port)}},
	}
	for i, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			msg := fmt.Sprintf("hello from %s\n", p.name)
			cmd := exec.Command(p.argv[0], p.argv[1:]...)
			cmd.Stdin = strings.NewReader(msg)
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != msg {
				t.Fatalf("%s: %v, got %q, want %q", p.name, err, out, msg)
			}
			// Each peer is served and closed before the next one.
			srv.WaitForN(t, &srv.Stderr, "close(4) = 0\n", i+1)
		})
	}
	trace := srv.Stderr.String()
	if !strings.Contains(trace, `write(4, "hello from nc\n", 14) = 14`) {
		t.Errorf("server trace lacks the echo to nc:\n%s", trace)
	}
}

func TestUpper(t *testing.T) {
	_, addr := startServer(t, "127.0.0.1", "-upper")
	host, port := hostPort(t, addr)
	cmd := exec.Command("nc", "-N", host, fmt.Sprint(port))
	cmd.Stdin = strings.NewReader("Hello, wörld 123\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "HELLO, WöRLD 123\n" {
		t.Fatalf("nc: %v, got %q", err, out)
	}
}

// resetClient connects, waits for its echo, then closes with SO_LINGER
// 0: the kernel sends RST instead of FIN.
const resetClient = `
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"bye\n")
assert s.recv(100) == b"bye\n"
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset")
`

// TestClientResetDoesNotStopServer: a client that vanishes with RST
// ends its own connection, with a note, and the server goes on serving.
func TestClientResetDoesNotStopServer(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1")
	host, port := hostPort(t, addr)
	proctest.RunPython(t, resetClient, host, fmt.Sprint(port))
	srv.WaitFor(t, &srv.Stderr, "read(4, 0x")
	s := srv.WaitFor(t, &srv.Stderr, "close(4) = 0")
	if !strings.Contains(s, "= -1 ECONNRESET (Connection reset by peer)\n# connection with 127.0.0.1:") {
		t.Fatalf("no ECONNRESET note:\n%s", s)
	}
	cmd := exec.Command("nc", "-N", host, fmt.Sprint(port))
	cmd.Stdin = strings.NewReader("still there?\n")
	if out, err := cmd.Output(); err != nil || string(out) != "still there?\n" {
		t.Fatalf("second client: %v, %q\n%s", err, out, srv.Stderr.String())
	}
}

func TestPortInUse(t *testing.T) {
	holder, addr := startServer(t, "127.0.0.1", "-q")
	srv := proctest.Start(t, exec.Command(prog("tcpserver"), "-addr", addr))
	if code := srv.ExitCode(t); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s", code, srv.Stderr.String())
	}
	s := srv.Stderr.String()
	for _, want := range []string{
		"= -1 EADDRINUSE (Address already in use)\n",
		"tcpserver: bind " + addr + ": EADDRINUSE (Address already in use)\n",
		"hint: another process holds this port",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("stderr lacks %q:\n%s", want, s)
		}
	}
	proctest.NoPanic(t, s)
	_ = holder
}

func TestBadArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "7000"}, "want HOST:PORT"},
		{[]string{"-addr", "127.0.0.1:70000"}, "bad port"},
		{[]string{"-addr", "example.com:7000"}, "want a numeric IPv4 or IPv6 address"},
		{[]string{"-addr", "::1:7000"}, "put an IPv6 address in brackets"},
		{[]string{"-mode", "forking"}, `unknown -mode "forking": choose one of `},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-backlog", "many"}, `invalid value "many" for flag -backlog`},
		{[]string{"-addr", "127.0.0.1:0", "-backlog", "-1"}, "-backlog -1: want a number from 0 to 2147483647"},
		{[]string{"-addr", "127.0.0.1:0", "-backlog", "99999999999"}, "-backlog 99999999999: want a number from 0 to"},
		{[]string{"-color", "pink"}, "-color must be auto, always or never"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := proctest.Start(t, exec.Command(prog("tcpserver"), tc.args...))
			if code := cmd.ExitCode(t); code != 2 {
				t.Fatalf("exit status %d, want 2\n%s", code, cmd.Stderr.String())
			}
			s := cmd.Stderr.String()
			if !strings.Contains(s, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, s)
			}
			if strings.Contains(s, "socket(") {
				t.Errorf("a socket was made despite the bad arguments:\n%s", s)
			}
			proctest.NoPanic(t, s)
		})
	}
}

func TestSignalsCloseListeningSocket(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
		t.Run(name, func(t *testing.T) {
			srv, _ := startServer(t, "127.0.0.1")
			srv.Signal(t, sig)
			if code := srv.ExitCode(t); code != 0 {
				t.Fatalf("exit status %d, want 0\n%s", code, srv.Stderr.String())
			}
			if want := "# " + name + ": closing the listening socket\nclose(3) = 0\n"; !strings.HasSuffix(srv.Stderr.String(), want) {
				t.Fatalf("trace does not end with %q:\n%s", want, srv.Stderr.String())
			}
		})
	}
}

// TestNoCloseLeavesCloseWait: with -no-close the client's FIN arrives, the
// server never sends its own, and ss shows the server's end in CLOSE_WAIT
// (and the client's in FIN_WAIT2, waiting for a FIN that never comes).
func TestNoCloseLeavesCloseWait(t *testing.T) {
	srv, addr := startServer(t, "127.0.0.1", "-no-close")
	_, port := hostPort(t, addr)
	client := exec.Command(prog("tcpclient"), "-addr", addr)
	client.Stdin = strings.NewReader("hello\n")
	cl := proctest.Start(t, client)
	srv.WaitFor(t, &srv.Stderr, "-no-close: not closing fd 4")
	cl.WaitFor(t, &cl.Stdout, "hello\n")

	out, err := exec.Command("ss", "-Htan", "state", "close-wait", fmt.Sprintf("sport = :%d", port)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("want one CLOSE_WAIT connection on port %d, ss shows:\n%s", port, out)
	}
	// The client is still waiting for the server's FIN: read has not
	// returned 0, so it has not exited.
	select {
	case <-cl.Done:
		t.Fatalf("the client exited although the server never closed:\n%s", cl.Stderr.String())
	default:
	}
	if s := cl.Stderr.String(); strings.Contains(s, `read(3, "", 4096) = 0`) {
		t.Fatalf("the client saw end of file:\n%s", s)
	}
}

// TestStepWaitsForEnter drives -step the way a learner does, from a
// terminal: the server stops before socket(2), makes no socket until
// Enter is pressed, then makes it and stops before the next call.
func TestStepWaitsForEnter(t *testing.T) {
	cmd := exec.Command(prog("tcpserver"), "-step", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	srv, keyboard := proctest.StartPTY(t, cmd)
	pid := cmd.Process.Pid

	srv.WaitFor(t, &srv.Stdout, "next: socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)")
	srv.WaitFor(t, &srv.Stdout, "[press Enter to make the call]")
	if n := sockets(t, pid); n != 0 {
		t.Fatalf("stopped before socket(2), but the process has %d sockets", n)
	}

	if _, err := keyboard.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, &srv.Stdout, "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3")
	screen := srv.WaitFor(t, &srv.Stdout, "next: setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4)")
	if n := sockets(t, pid); n != 1 {
		t.Fatalf("after Enter the process should have its one socket, it has %d", n)
	}
	if strings.Contains(screen, "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = ") {
		t.Fatalf("setsockopt ran without a second Enter:\n%s", screen)
	}
	if !strings.Contains(screen, "watch it in another terminal: ls -l /proc/"+fmt.Sprint(pid)+"/fd") {
		t.Errorf("no hint to watch the descriptors:\n%s", screen)
	}
}

// sockets counts the process's open sockets, as `ls -l /proc/PID/fd` shows them.
func sockets(t *testing.T, pid int) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}
