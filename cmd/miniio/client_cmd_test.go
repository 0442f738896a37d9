package main

// Tests of the client commands, chat, emit and listen, run as a learner
// runs them: the real binary, against a real `miniio serve` on a free
// loopback port, reading what they print. (Names here start with "cli":
// the other commands' tests share this package.)

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
)

// cliWait bounds every wait for a line. Generous: the machine is shared.
const cliWait = 15 * time.Second

// cliProc is one running command whose output (stdout and stderr, each
// line tagged) the test reads line by line.
type cliProc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	lines  []string // every line so far: "out: …" or "err: …"
	seen   int      // lines already consumed by waitFor
	notify chan struct{}
	exited chan struct{}
	code   int
}

// cliStart starts bin with args. The process is killed by its PID when
// the test ends, if it is still running.
func cliStart(t *testing.T, name, bin string, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{t: t, name: name, cmd: exec.Command(bin, args...),
		notify: make(chan struct{}, 1), exited: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go p.collect("out: ", stdout, &readers)
	go p.collect("err: ", stderr, &readers)
	go func() {
		readers.Wait()
		err := p.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			}
		}
		close(p.exited)
	}()
	pid := p.cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGCONT) // in case a test left it stopped
		select {
		case <-p.exited:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

func (p *cliProc) collect(tag string, r io.Reader, done *sync.WaitGroup) {
	defer done.Done()
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64*1024), 4<<20)
	for in.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, tag+in.Text())
		p.mu.Unlock()
		select {
		case p.notify <- struct{}{}:
		default:
		}
	}
}

// waitFor returns the next line (after those already consumed) that
// contains want, and consumes everything up to it.
func (p *cliProc) waitFor(want string) string {
	p.t.Helper()
	deadline := time.After(cliWait)
	for {
		p.mu.Lock()
		for i := p.seen; i < len(p.lines); i++ {
			if strings.Contains(p.lines[i], want) {
				p.seen = i + 1
				line := p.lines[i]
				p.mu.Unlock()
				return line
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-p.exited:
			select {
			case <-p.notify: // the last lines may still be arriving
				continue
			case <-time.After(100 * time.Millisecond):
			}
			p.t.Fatalf("%s exited (status %d) before printing %q; it printed:\n%s", p.name, p.code, want, p.output())
		case <-deadline:
			p.t.Fatalf("%s did not print %q within %v; it printed:\n%s", p.name, want, cliWait, p.output())
		}
	}
}

// consumedHas reports whether a line already consumed contains s.
func (p *cliProc) consumedHas(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines[:p.seen] {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func (p *cliProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// say types a line into the process's stdin.
func (p *cliProc) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("typing into %s: %v", p.name, err)
	}
}

func (p *cliProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to %s: %v", sig, p.name, err)
	}
}

// wait waits for the process to exit and returns its status.
func (p *cliProc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(cliWait):
		p.t.Fatalf("%s did not exit within %v; it printed:\n%s", p.name, cliWait, p.output())
	}
	return -1
}

// cliFreeAddr finds a loopback port nobody listens on right now.
func cliFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cliServe starts `miniio serve` on addr (a free port if ""), waits until
// it listens, and returns it with its address. Its log is on stderr.
func cliServe(t *testing.T, bin, addr string, args ...string) (*cliProc, string) {
	t.Helper()
	if addr == "" {
		addr = cliFreeAddr(t)
	}
	p := cliStart(t, "miniio serve", bin, append([]string{"serve", "-addr", addr, "-http", "127.0.0.1:0"}, args...)...)
	p.waitFor("listening on " + addr)
	return p, addr
}

// cliRun runs a command to the end and returns its stdout, stderr and
// exit status.
func cliRun(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(cliWait):
		cmd.Process.Kill()
		<-done
		t.Fatalf("miniio %v did not finish within %v\nstderr: %s", args, cliWait, errOut.String())
	}
	return out.String(), errOut.String(), code
}

func TestClientCommands(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "miniio")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("EmitAck", func(t *testing.T) { testEmitAck(t, bin) })
	t.Run("EmitCommandLine", func(t *testing.T) { testEmitCommandLine(t, bin) })
	t.Run("EmitConnectionRefused", func(t *testing.T) { testEmitConnectionRefused(t, bin) })
	t.Run("EmitAckTimeout", func(t *testing.T) { testEmitAckTimeout(t, bin) })
	t.Run("EmitTrace", func(t *testing.T) { testEmitTrace(t, bin) })
	t.Run("ListenFilterAndInterrupt", func(t *testing.T) { testListen(t, bin) })
	t.Run("ThreeChats", func(t *testing.T) { testThreeChats(t, bin) })
	t.Run("ChatLongLines", func(t *testing.T) { testChatLongLines(t, bin) })
	t.Run("FirstConnectionRetried", func(t *testing.T) { testFirstConnectionRetried(t, bin) })
	t.Run("ReconnectAfterServerRestart", func(t *testing.T) { testReconnect(t, bin) })
	t.Run("PingTimeoutWhenServerStops", func(t *testing.T) { testPingTimeout(t, bin) })
	t.Run("Token", func(t *testing.T) { testToken(t, bin) })
	t.Run("TraceTruthUnderStrace", func(t *testing.T) { testEmitUnderStrace(t, bin) })
}

func testEmitAck(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "")
	// JSON arguments as they are; bare words as strings; '"42"' is the string "42".
	out, errOut, code := cliRun(t, bin, "emit", "-addr", addr, "-ack", "echo", "hi", "42", `{"a": [1, 2]}`, "true", `"42"`, "null")
	if code != 0 || out != `["hi",42,{"a":[1,2]},true,"42",null]`+"\n" {
		t.Fatalf("emit -ack echo: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Without -ack: nothing printed, status 0.
	out, errOut, code = cliRun(t, bin, "emit", "-addr", addr, "chat", "hello")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("emit chat: status %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func testEmitCommandLine(t *testing.T, bin string) {
	// Nothing listens on addr: each mistake must be found before connecting.
	addr := cliFreeAddr(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chat", `{"a":`}, `argument 2 "{\"a\":": not valid JSON`},
		{[]string{"chat", "ok", `[1,`}, `argument 3 "[1,": not valid JSON`},
		{[]string{"chat", `"unclosed`}, `not valid JSON`},
		{[]string{"connect"}, `"connect" is a reserved event name`},
		{[]string{"disconnect", "x"}, `reserved event name`},
		{[]string{}, "which event?"},
		{[]string{"-timeout", "0s", "x"}, "-timeout must be more than 0"},
		{[]string{"-nosuchflag", "x"}, "flag provided but not defined"},
	} {
		args := append([]string{"emit", "-addr", addr}, tc.args...)
		_, errOut, code := cliRun(t, bin, args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("miniio %s: status %d, stderr %q; want status 2 and %q", strings.Join(args, " "), code, errOut, tc.want)
		}
	}
	_, errOut, code := cliRun(t, bin, "emit", "-addr", "nonsense", "x")
	if code != 2 || !strings.Contains(errOut, "-addr") {
		t.Errorf("bad -addr: status %d, stderr %q", code, errOut)
	}
}

func testEmitConnectionRefused(t *testing.T, bin string) {
	addr := cliFreeAddr(t)
	out, errOut, code := cliRun(t, bin, "emit", "-addr", addr, "chat", "hi")
	if code != 1 || out != "" ||
		!strings.Contains(errOut, "connect to "+addr+": ECONNREFUSED (Connection refused)") ||
		!strings.Contains(errOut, "hint: nothing is listening") {
		t.Fatalf("status %d, stdout %q, stderr %q; want status 1, ECONNREFUSED and a hint", code, out, errOut)
	}
	if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
		t.Fatalf("a Go stack trace:\n%s", errOut)
	}
}

func testEmitAckTimeout(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "")
	// The demo server counts "count" events and never answers them.
	out, errOut, code := cliRun(t, bin, "emit", "-addr", addr, "-ack", "-timeout", "300ms", "count", "1")
	if code != 1 || out != "" || !strings.Contains(errOut, `no ack for "count" within 300ms`) {
		t.Fatalf("status %d, stdout %q, stderr %q; want status 1 and a timeout message", code, out, errOut)
	}
}

func testEmitTrace(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "")
	_, port, _ := net.SplitHostPort(addr)
	_, errOut, code := cliRun(t, bin, "emit", "-addr", addr, "-trace", "chat", "hi")
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	for _, want := range []string{
		"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3",
		"connect(3, {sa_family=AF_INET, sin_port=htons(" + port + ")",
		`write(3, "\0\0\0\00240", 6) = 6`,                    // CONNECT
		`write(3, "\0\0\0\01742[\"chat\",\"hi\"]", 19) = 19`, // the event: 15 bytes, \017
		`write(3, "\0\0\0\00241\0\0\0\0011", 11) = 11`,       // DISCONNECT and CLOSE
		"shutdown(3, SHUT_WR) = 0",
		"close(3) = 0",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the trace has no %s\n%s", want, errOut)
		}
	}
	// Without -trace, and with -q after it, nothing.
	_, errOut, _ = cliRun(t, bin, "emit", "-addr", addr, "-trace", "-q", "chat", "hi")
	if errOut != "" {
		t.Errorf("-trace -q printed %q", errOut)
	}
}

func testListen(t *testing.T, bin string) {
	server, addr := cliServe(t, bin, "")
	all := cliStart(t, "listen", bin, "listen", "-addr", addr)
	shouts := cliStart(t, "listen shout", bin, "listen", "-addr", addr, "shout")
	all.waitFor("err: # connected (id ")
	shouts.waitFor("err: # connected (id ")

	cliRun(t, bin, "emit", "-addr", addr, "-name", "ann", "chat", "hi", `{"x": 1}`)
	cliRun(t, bin, "emit", "-addr", addr, "-name", "ann", "shout", "<&>")
	all.waitFor(`out: ["user joined","ann"]`)
	all.waitFor(`out: ["chat","ann","hi",{"x":1}]`)
	all.waitFor(`out: ["shout","ann","<&>"]`)
	shouts.waitFor(`out: ["shout","ann","<&>"]`)
	if shouts.consumedHas("chat") || shouts.consumedHas("user joined") {
		t.Errorf("listen shout printed other events:\n%s", shouts.output())
	}

	// Ctrl-C: a proper goodbye, status 0.
	all.signal(syscall.SIGINT)
	if code := all.wait(); code != 0 {
		t.Errorf("listen after SIGINT: status %d\n%s", code, all.output())
	}
	server.waitFor("disconnected: client namespace disconnect")
}

// Three chat clients: a chat line reaches the other two and not the
// sender; a shout reaches all three; a chat in a room reaches only the
// room. Each "did not get it" is proven without waiting for a while: a
// shout sent afterwards arrives after it would have (one connection's
// frames stay in order), so a client that printed the shout and not the
// line never got the line.
func testThreeChats(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "")
	ann := cliStart(t, "ann", bin, "chat", "-addr", addr, "-name", "ann")
	ann.waitFor("* connected")
	bob := cliStart(t, "bob", bin, "chat", "-addr", addr, "-name", "bob")
	bob.waitFor("* connected")
	cy := cliStart(t, "cy", bin, "chat", "-addr", addr, "-name", "cy")
	cy.waitFor("* connected")
	ann.waitFor("* cy joined")
	bob.waitFor("* cy joined")

	// chat: the others, not the sender.
	ann.say("hello everyone")
	bob.waitFor("out: ann: hello everyone")
	cy.waitFor("out: ann: hello everyone")
	// shout: everyone, the sender too.
	ann.say("/shout marker one")
	for _, p := range []*cliProc{ann, bob, cy} {
		p.waitFor("out: ann shouts: marker one")
	}
	if ann.consumedHas("hello everyone") {
		t.Errorf("the sender got its own chat back:\n%s", ann.output())
	}

	// A room: ann and bob join "kitchen"; cy does not.
	ann.say("/join kitchen")
	ann.waitFor("* joined #kitchen")
	bob.say("/join kitchen")
	bob.waitFor("* joined #kitchen")
	ann.say("just the kitchen")
	bob.waitFor("out: ann: just the kitchen")
	bob.say("/shout marker two")
	for _, p := range []*cliProc{ann, bob, cy} {
		p.waitFor("out: bob shouts: marker two")
	}
	if cy.consumedHas("just the kitchen") || ann.consumedHas("just the kitchen") {
		t.Errorf("a room message left the room (or came back to its sender):\nann:\n%s\ncy:\n%s", ann.output(), cy.output())
	}

	// /leave: ann's chat goes to everyone again.
	ann.say("/leave")
	ann.waitFor("* left #kitchen")
	ann.say("back out")
	cy.waitFor("out: ann: back out")
	bob.waitFor("out: ann: back out")

	// /quit: status 0, and the others see it.
	cy.say("/quit")
	if code := cy.wait(); code != 0 {
		t.Errorf("cy after /quit: status %d", code)
	}
	ann.waitFor("* cy left")
	ann.stdin.Close() // Ctrl-D
	if code := ann.wait(); code != 0 {
		t.Errorf("ann after Ctrl-D: status %d", code)
	}
	bob.signal(syscall.SIGINT)
	if code := bob.wait(); code != 0 {
		t.Errorf("bob after Ctrl-C: status %d", code)
	}
}

// Kill the server, type while it is down, start it again on the same
// port: the client reconnects by itself, joins its room again, and only
// then sends what was typed in between.
// Lines longer than bufio.Scanner's 64 KiB: one that fits an event is
// sent whole, one too long for the server's maxPayload or for chat's
// own limit is refused with a message, and the lines after each still
// go out.
func testChatLongLines(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "", "-max-payload", "300000")
	ann := cliStart(t, "ann", bin, "chat", "-addr", addr, "-name", "ann")
	ann.waitFor("* connected")
	bob := cliStart(t, "bob", bin, "chat", "-addr", addr, "-name", "bob")
	bob.waitFor("* connected")
	ann.waitFor("* bob joined")

	long := strings.Repeat("a", 200<<10)
	ann.say(long)
	if line := bob.waitFor("out: ann: aaa"); line != "out: ann: "+long {
		t.Errorf("bob got a line of %d bytes, want %d", len(line), len("out: ann: "+long))
	}
	ann.say("after the long one")
	bob.waitFor("out: ann: after the long one")

	ann.say(strings.Repeat("b", 400<<10)) // over the server's maxPayload
	ann.waitFor("* not sent: ")
	ann.say(strings.Repeat("c", 3<<20)) // over chat's own limit
	ann.waitFor("* not sent: a line of 3145728 bytes is longer than the 1048576")
	ann.say("still here")
	bob.waitFor("out: ann: still here")
	ann.stdin.Close()
	if code := ann.wait(); code != 0 {
		t.Errorf("chat after Ctrl-D: status %d", code)
	}
}

// chat and listen started before the server: they say so, retry with
// the reconnection's backoff, and get in once it is up. emit still fails
// at once (testEmitConnectionRefused).
func testFirstConnectionRetried(t *testing.T, bin string) {
	addr := cliFreeAddr(t)
	ann := cliStart(t, "ann", bin, "chat", "-addr", addr, "-name", "ann")
	all := cliStart(t, "listen", bin, "listen", "-addr", addr)
	ann.waitFor("ECONNREFUSED (Connection refused); trying again as after a lost connection")
	ann.waitFor("* reconnecting in ")
	all.waitFor("err: # could not connect: connect to " + addr + ": ECONNREFUSED")
	all.waitFor("err: # reconnecting in ")

	cliServe(t, bin, addr)
	ann.waitFor("* connected (id ")
	all.waitFor("err: # connected (id ")
	ann.say("hello late server")
	all.waitFor(`out: ["chat","ann","hello late server"]`)
	ann.signal(syscall.SIGINT)
	all.signal(syscall.SIGINT)
	if code := ann.wait(); code != 0 {
		t.Errorf("chat after Ctrl-C: status %d", code)
	}
	if code := all.wait(); code != 0 {
		t.Errorf("listen after Ctrl-C: status %d", code)
	}
}

func testReconnect(t *testing.T, bin string) {
	server, addr := cliServe(t, bin, "")
	bob := cliStart(t, "bob", bin, "chat", "-addr", addr, "-name", "bob", "-room", "kitchen")
	bob.waitFor("* joined #kitchen")

	server.signal(syscall.SIGKILL)
	server.wait()
	bob.waitFor("* disconnected: transport close")
	bob.waitFor("* reconnecting in ")
	bob.say("typed while down")
	bob.waitFor("* not connected: it waits")

	server2, _ := cliServe(t, bin, addr)
	server2.waitFor("bob connected")
	server2.waitFor(`bob: join "kitchen"`)
	server2.waitFor(`bob: chat "typed while down"`) // after the join: the order is kept
	bob.waitFor("* connected (id ")
	bob.waitFor("* rejoined #kitchen")

	// The server's Ctrl-C is not a deliberate disconnect of the client:
	// it comes back again.
	server2.signal(syscall.SIGINT)
	bob.waitFor("* disconnected: server shutting down")
	bob.waitFor("* reconnecting in ")
	if code := server2.wait(); code != 0 {
		t.Errorf("server after SIGINT: status %d", code)
	}
}

// The client's own heartbeat timer: a server that stops (SIGSTOP) sends no
// more PINGs; after pingInterval+pingTimeout the client gives up on the
// connection ("ping timeout"), and once the server runs again it
// reconnects.
func testPingTimeout(t *testing.T, bin string) {
	server, addr := cliServe(t, bin, "", "-ping-interval", "300ms", "-ping-timeout", "300ms")
	listen := cliStart(t, "listen", bin, "listen", "-addr", addr)
	listen.waitFor("err: # connected (id ")

	server.signal(syscall.SIGSTOP)
	listen.waitFor("err: # disconnected: ping timeout")
	listen.waitFor("err: # reconnecting in ")
	server.signal(syscall.SIGCONT)
	listen.waitFor("err: # connected (id ")
}

func testToken(t *testing.T, bin string) {
	_, addr := cliServe(t, bin, "", "-token", "s3cret")
	out, errOut, code := cliRun(t, bin, "emit", "-addr", addr, "-token", "s3cret", "-ack", "echo", "in")
	if code != 0 || out != `["in"]`+"\n" {
		t.Fatalf("right token: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = cliRun(t, bin, "emit", "-addr", addr, "-token", "wrong", "-ack", "echo", "in")
	if code != 1 || !strings.Contains(errOut, "the server refused the connection: not authorized") {
		t.Fatalf("wrong token: status %d, stderr %q", code, errOut)
	}
	// listen and chat do not retry a refusal: it would be refused forever.
	_, errOut, code = cliRun(t, bin, "listen", "-addr", addr)
	if code != 1 || !strings.Contains(errOut, "not authorized") {
		t.Fatalf("listen without token: status %d, stderr %q", code, errOut)
	}
}

// The promise of every socklab program: the socket calls emit prints are
// the ones strace sees. The client reads on one thread and writes on
// another, and each prints its line when its own call returns, so two
// lines may print in the other order than they happened (lesson 11 says
// so); the calls and their results must be the same, so the two lists
// are compared sorted.
func testEmitUnderStrace(t *testing.T, bin string) {
	proctest.Need(t, "strace", tracetest.Available())
	_, addr := cliServe(t, bin, "")
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := tracetest.Command(log, bin, "emit", "-addr", addr, "-trace", "-name", "ann", "-ack", "echo", "hi")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("strace miniio emit: %v\n%s", err, stderr.String())
	}
	if stdout.String() != `["hi"]`+"\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := tracetest.Ours(stderr.String()), tracetest.Theirs(string(raw), nil, nil)
	if len(ours) < 10 {
		t.Fatalf("only %d calls printed:\n%s", len(ours), stderr.String())
	}
	sort.Strings(ours)
	sort.Strings(theirs)
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Error(d)
	}
}
