//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// These tests start the real udpecho, talk to it with Python's socket
// module, and hold its trace to strace's. Servers bind port 0 and say
// which port the kernel picked, so parallel test runs never collide.

var (
	udpecho string              // the program, built once by TestMain
	python  = proctest.Python() // the Python that plays the peer
)

func TestMain(m *testing.M) {
	proctest.Main(m, func(dir string) { udpecho = filepath.Join(dir, "udpecho") }, "socklab/cmd/udpecho")
}

// startServer starts udpecho serve on a free port and returns it, its
// stdout and stderr together in Stdout (as a terminal shows them), and
// its address.
func startServer(t *testing.T, host string, args ...string) (*proctest.Proc, string) {
	t.Helper()
	p := proctest.StartCombined(t, exec.Command(udpecho, append([]string{"serve", "-addr", host + ":0"}, args...)...))
	addr := p.WaitSubmatch(t, &p.Stdout, `# receiving on (\S+)`)
	return p, addr
}

// run runs udpecho with args to the end (bounded) and returns its stdout,
// stderr and exit status.
func run(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return proctest.Run(t, exec.Command(udpecho, args...))
}

// A Python UDP server counts the datagrams it gets and their sizes, and
// echoes each one. Three datagrams of different sizes must arrive as
// three, in order, and come back as three lines.
func TestSendToPythonServer(t *testing.T) {
	server := proctest.StartCombined(t, exec.Command(python, "-c", `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("port", s.getsockname()[1], flush=True)
for i in range(3):
    data, peer = s.recvfrom(65536)
    print("got", len(data), flush=True)
    s.sendto(data, peer)
`))
	port := server.WaitSubmatch(t, &server.Stdout, `port (\d+)`)
	msgs := []string{"a", strings.Repeat("b", 1400), strings.Repeat("c", 30000)}
	stdout, stderr, status := run(t, append([]string{"send", "-addr", "127.0.0.1:" + port}, msgs...)...)
	if status != 0 {
		t.Fatalf("exit %d\n%s", status, stderr)
	}
	server.WaitSubmatch(t, &server.Stdout, `got 30000`)
	if got := server.Stdout.String(); !strings.Contains(got, "got 1\ngot 1400\ngot 30000\n") {
		t.Errorf("the server did not get three datagrams of 1, 1400 and 30000 bytes, in order:\n%s", got)
	}
	if want := strings.Join(msgs, "\n") + "\n"; stdout != want {
		t.Errorf("replies: got %d bytes, want the three messages on three lines", len(stdout))
	}
	if n := strings.Count(stderr, "\nsendto(3, "); n != 3 {
		t.Errorf("%d sendto calls, want 3:\n%s", n, stderr)
	}
}

// A Python client sends three datagrams of different sizes to udpecho
// serve (IPv4 and IPv6) and must get three replies of the same sizes, in
// order, from the server's port.
func TestServeToPythonClient(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			server, addr := startServer(t, host)
			i := strings.LastIndex(addr, ":")
			ip, port := strings.Trim(addr[:i], "[]"), addr[i+1:]
			family := "AF_INET"
			if strings.Contains(ip, ":") {
				family = "AF_INET6"
			}
			stdout, stderr, status := proctest.Run(t, exec.Command(python, "-c", `
import socket, sys
s = socket.socket(socket.`+family+`, socket.SOCK_DGRAM)
s.settimeout(5)
dest = ("`+ip+`", `+port+`)
sizes = [3, 999, 20000]
for n in sizes:
    s.sendto(b"x" * n, dest)
for n in sizes:
    data, peer = s.recvfrom(65536)
    assert peer[1] == dest[1], peer
    print(len(data))
`))
			if status != 0 {
				t.Fatalf("python client: exit %d\n%s\nserver:\n%s", status, stderr, server.Stdout.String())
			}
			if stdout != "3\n999\n20000\n" {
				t.Errorf("reply sizes:\n%s\nwant 3, 999, 20000", stdout)
			}
			server.WaitSubmatch(t, &server.Stdout, `a datagram of 20000 bytes from `)
		})
	}
}

// With -bufsize 4 the server keeps 4 bytes of each datagram, says how
// many were lost (MSG_TRUNC gives it the real size), and echoes the 4.
func TestTruncation(t *testing.T) {
	server, addr := startServer(t, "127.0.0.1", "-bufsize", "4")
	stdout, stderr, status := run(t, "send", "-addr", addr, "hello world")
	if status != 0 {
		t.Fatalf("exit %d\n%s", status, stderr)
	}
	if stdout != "hell\n" {
		t.Errorf("reply %q, want \"hell\\n\"", stdout)
	}
	server.WaitSubmatch(t, &server.Stdout, `recvfrom\(3, "hell", 4, MSG_TRUNC, \{sa_family=AF_INET, .*\}, \[112 => 16\]\) = 11`)
	server.WaitSubmatch(t, &server.Stdout, `# truncated: the buffer holds 4 bytes, so 7 of the 11 were lost`)
}

// Connected UDP against a port nobody listens on: the ICMP "port
// unreachable" comes back as ECONNREFUSED on the next call, and the
// program explains it. Unconnected, the same silence ends in a timeout.
func TestClosedPort(t *testing.T) {
	port := closedPort(t)
	_, stderr, status := run(t, "send", "-connect", "-addr", "127.0.0.1:"+port, "one", "two")
	if status != 1 {
		t.Errorf("connected: exit %d, want 1\n%s", status, stderr)
	}
	for _, want := range []string{
		`write(3, "one", 3) = 3`,
		`= -1 ECONNREFUSED (Connection refused)`,
		`udpecho: `, `: ECONNREFUSED (Connection refused)`,
		`why: an earlier datagram reached 127.0.0.1:` + port,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("connected: no %q in\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "goroutine ") {
		t.Errorf("a Go stack trace:\n%s", stderr)
	}

	// A broadcast address (loopback's own, so nothing leaves the machine)
	// without SO_BROADCAST: EACCES, with its real reason.
	_, stderr, status = run(t, "send", "-addr", "127.255.255.255:"+port, "one")
	if status != 1 || !strings.Contains(stderr, "udpecho: sendto: EACCES (Permission denied)\nwhy: 127.255.255.255:"+port+" is a broadcast address") || strings.Contains(stderr, "below 1024") {
		t.Errorf("broadcast: exit %d, want 1 and the SO_BROADCAST reason:\n%s", status, stderr)
	}

	_, stderr, status = run(t, "send", "-timeout", "200ms", "-addr", "127.0.0.1:"+port, "one")
	if status != 1 || !strings.Contains(stderr, "udpecho: no reply within 200ms (0 of 1 replies arrived)") ||
		!strings.Contains(stderr, "= -1 EAGAIN (Resource temporarily unavailable)") {
		t.Errorf("unconnected: exit %d, want 1 with a timeout message:\n%s", status, stderr)
	}
}

// closedPort finds a UDP port with nothing bound to it: bind port 0, note
// the port, close.
func closedPort(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "udpecho serve"},
		{[]string{"listen"}, `unknown command "listen"`},
		{[]string{"send"}, "nothing to send"},
		{[]string{"send", "-addr", "127.0.0.1", "hi"}, "want HOST:PORT"},
		{[]string{"send", "-timeout", "0s", "hi"}, "-timeout must be more than 0"},
		{[]string{"serve", "-bufsize", "0"}, "-bufsize must be from 1"},
		{[]string{"send", strings.Repeat("x", 70000)}, "too big for UDP"},
	}
	for _, c := range cases {
		_, stderr, status := run(t, c.args...)
		if status != 2 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine ") {
			t.Errorf("udpecho %.40q: exit %d, want 2 and %q:\n%s", c.args, status, c.want, stderr)
		}
	}
}

// Trace truth: a whole session, server and client each under strace -f.
// The socket calls strace records are the ones each program printed.
func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			dir := t.TempDir()
			serverLog, clientLog := filepath.Join(dir, "server.log"), filepath.Join(dir, "client.log")
			cmd := tracetest.Command(serverLog, udpecho, "serve", "-addr", host+":0", "-bufsize", "8")
			server := proctest.StartCombined(t, cmd)
			addr := server.WaitSubmatch(t, &server.Stdout, `# receiving on (\S+)`)

			cmd = tracetest.Command(clientLog, udpecho, "send", "-addr", addr, "hi", "a datagram longer than 8 bytes", "third")
			stdout, stderr, status := proctest.Run(t, cmd)
			if status != 0 {
				t.Fatalf("send: exit %d\n%s", status, stderr)
			}
			if stdout != "hi\na datagr\nthird\n" {
				t.Errorf("replies %q", stdout)
			}
			compare(t, stderr, clientLog)

			server.WaitSubmatch(t, &server.Stdout, `sendto\(3, "third"`)
			stopTraced(t, server)
			server.ExitCode(t)
			compare(t, server.Stdout.String(), serverLog)

			// The session is all there: three datagrams and three replies.
			if n := strings.Count(server.Stdout.String(), "\nrecvfrom(3, "); n != 3 {
				t.Errorf("server: %d recvfrom, want 3:\n%s", n, server.Stdout.String())
			}
		})
	}

	// Connected UDP's refusal, under strace too.
	log := filepath.Join(t.TempDir(), "connected.log")
	cmd := tracetest.Command(log, udpecho, "send", "-connect", "-addr", "127.0.0.1:"+closedPort(t), "one", "two")
	_, stderr, _ := proctest.Run(t, cmd)
	compare(t, stderr, log)
	if !strings.Contains(stderr, "ECONNREFUSED") {
		t.Errorf("no ECONNREFUSED:\n%s", stderr)
	}
}

// stopTraced sends SIGTERM to the program strace runs (strace's child),
// not to strace.
func stopTraced(t *testing.T, p *proctest.Proc) {
	t.Helper()
	pid := p.Cmd.Process.Pid
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.Fields(string(raw))[0])
	if err != nil {
		t.Fatalf("strace's children: %q", raw)
	}
	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// compare checks the printed trace against strace's log.
func compare(t *testing.T, printed, logPath string) {
	t.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := tracetest.Ours(printed), tracetest.Theirs(string(raw), nil, nil)
	if len(ours) < 3 {
		t.Fatalf("only %d calls printed:\n%s", len(ours), printed)
	}
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Error(d)
	}
}

// An unconnected socket takes datagrams from anyone: send prints only the
// server's reply, and says it ignored the other one.
func TestStrangerIgnored(t *testing.T) {
	server := proctest.StartCombined(t, exec.Command(python, "-c", `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind(("127.0.0.1", 0))
print("port", s.getsockname()[1], "other", other.getsockname()[1], flush=True)
data, peer = s.recvfrom(65536)
other.sendto(b"not the reply", peer)
s.sendto(data, peer)
`))
	port := server.WaitSubmatch(t, &server.Stdout, `port (\d+)`)
	other := server.WaitSubmatch(t, &server.Stdout, `other (\d+)`)
	stdout, stderr, status := run(t, "send", "-addr", "127.0.0.1:"+port, "the real one")
	if status != 0 || stdout != "the real one\n" {
		t.Fatalf("exit %d, stdout %q\n%s", status, stdout, stderr)
	}
	if !strings.Contains(stderr, "# a datagram from 127.0.0.1:"+other+", not from the server: ignored") {
		t.Errorf("the stranger's datagram was not reported:\n%s", stderr)
	}
}

// -step from a terminal: each call waits for Enter, and the ss command
// it suggests lists UDP sockets (ss -u), not TCP ones (ss -t would show
// nothing for this program).
func TestStepSuggestsUDP(t *testing.T) {
	cmd := exec.Command(udpecho, "serve", "-step", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	p, tty := proctest.StartPTY(t, cmd)

	// Enter for each call until the server stops before its first
	// recvfrom: socket, bind, getsockname (port 0 was asked for).
	for presses := 0; !strings.Contains(p.Stdout.String(), "next: recvfrom("); presses++ {
		if presses == 5 {
			t.Fatalf("no recvfrom after %d presses of Enter:\n%s", presses, p.Stdout.String())
		}
		p.WaitSubmatch(t, &p.Stdout, `(?s)(\[press Enter to make the call\][^\[]*){`+strconv.Itoa(presses+1)+`}`)
		if strings.Contains(p.Stdout.String(), "next: recvfrom(") {
			break
		}
		if _, err := tty.Write([]byte("\r")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	port := p.WaitSubmatch(t, &p.Stdout, `# receiving on 127\.0\.0\.1:(\d+)`)
	p.WaitSubmatch(t, &p.Stdout, `watch it in another terminal: ss -uanp 'sport = :`+port+` or dport = :`+port+`'`)
	if strings.Contains(p.Stdout.String(), "ss -t") {
		t.Errorf("a TCP ss command for a UDP socket:\n%s", p.Stdout.String())
	}
}

// forgeSelfSource is a Python program that sends one UDP datagram to
// 127.0.0.1:PORT whose IP and UDP headers claim it comes from
// 127.0.0.1:PORT itself, through a raw socket (IP_HDRINCL: we write the
// IP header; the kernel fills in its checksum and length). A UDP checksum
// of 0 means "none", which IPv4 allows. Raw sockets need root or
// CAP_NET_RAW; the program prints "noraw" when it may not make one.
const forgeSelfSource = `
import socket, struct, sys
port = int(sys.argv[1])
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
except PermissionError:
    print("noraw", flush=True)
    sys.exit(0)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
payload = b"who am I talking to?"
udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
lo = socket.inet_aton("127.0.0.1")
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, socket.IPPROTO_UDP, 0, lo, lo)
s.sendto(ip + udp, ("127.0.0.1", 0))
print("sent", flush=True)
`

// A forged datagram whose source is the server's own address and port:
// answering it would send it to ourselves, and so on forever, a core at
// 100 %. The server must drop it, say so, use next to no CPU, and go on
// serving. Where raw sockets are impossible, SOCKLAB_ALLOW_MISSING=raw-socket
// skips it knowingly.
func TestSelfSourceDropped(t *testing.T) {
	server, addr := startServer(t, "127.0.0.1")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	pid := server.Cmd.Process.Pid
	cpu0 := procCPU(t, pid)
	out := proctest.RunPython(t, forgeSelfSource, port)
	if strings.Contains(out, "noraw") {
		proctest.Need(t, "raw-socket", errors.New("cannot make a raw socket to forge the datagram (needs root or CAP_NET_RAW)"))
	}
	server.WaitSubmatch(t, &server.Stdout, `# it claims to come from our own address 127\.0\.0\.1:`+port+`: dropped`)
	time.Sleep(2 * time.Second)
	if used := procCPU(t, pid) - cpu0; used > 500*time.Millisecond {
		t.Errorf("the server used %v of CPU in the 2 s after one forged datagram: it answers itself in a loop", used)
	}
	if n := strings.Count(server.Stdout.String(), "recvfrom(3, \"who am I"); n != 1 {
		t.Errorf("the forged datagram was received %d times, want once:\n%.3000s", n, server.Stdout.String())
	}
	stdout, stderr, status := run(t, "send", "-addr", addr, "still there?")
	if status != 0 || stdout != "still there?\n" {
		t.Fatalf("after the forged datagram: exit %d, stdout %q\n%s", status, stdout, stderr)
	}
}

// procCPU is the CPU time a process has used (user + system), from
// fields 14 and 15 of /proc/PID/stat, in clock ticks of 10 ms.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// A busy port: the hint is UDP's (ss -ulnp), not TCP's TIME_WAIT.
func TestPortInUseHintIsUDP(t *testing.T) {
	_, addr := startServer(t, "127.0.0.1")
	_, stderr, status := run(t, "serve", "-addr", addr)
	if status != 1 || !strings.Contains(stderr, "EADDRINUSE") || !strings.Contains(stderr, "ss -ulnp") {
		t.Fatalf("exit %d, want 1 with EADDRINUSE and an ss -ulnp hint:\n%s", status, stderr)
	}
	if strings.Contains(stderr, "TIME_WAIT and") || strings.Contains(stderr, "ss -tlnp") {
		t.Errorf("the TCP hint for a UDP port:\n%s", stderr)
	}
}
