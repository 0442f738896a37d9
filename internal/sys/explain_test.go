//go:build linux

package sys

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"socklab/internal/proctest"
)

// TestExplainSaysWhereTimeWaitWent: the end that sends FIN first ends in
// TIME_WAIT, which ss shows, while TCP_INFO on its descriptor says CLOSE.
// -explain must say why, once, and ss must agree that the connection is
// in TIME-WAIT (the note would be untrue otherwise).
func TestExplainSaysWhereTimeWaitWent(t *testing.T) {
	var trace strings.Builder
	SetOutput(&trace)
	explain = true
	defer func() { explain = false; SetOutput(os.Stderr) }()

	loop := [4]byte{127, 0, 0, 1}
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: loop}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(l, 1)
	addr, _ := unix.Getsockname(l)

	c, _ := Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err := Connect(c, addr); err != nil {
		t.Fatal(err)
	}
	local, _ := unix.Getsockname(c)
	a, _, err := unix.Accept(l)
	if err != nil {
		t.Fatal(err)
	}
	Shutdown(c, unix.SHUT_WR) // we send FIN first: ours is the active close
	unix.Close(a)             // the peer answers with its FIN
	buf := make([]byte, 16)
	for i := 0; i < 100; i++ { // bounded: EOF comes at once
		if n, err := Read(c, buf); n == 0 || err != nil {
			break
		}
	}
	out := trace.String()
	if got := strings.Count(out, "TCP state: CLOSE"); got < 2 {
		t.Fatalf("want CLOSE after socket and after the EOF, got %d:\n%s", got, out)
	}
	if got := strings.Count(out, "in TIME_WAIT for about 60 s"); got != 1 {
		t.Fatalf("the TIME_WAIT note should be said once, not %d times:\n%s", got, out)
	}
	if strings.Index(out, "in TIME_WAIT") < strings.Index(out, "shutdown(") {
		t.Fatalf("the TIME_WAIT note came before the shutdown:\n%s", out)
	}

	// What the note claims, from ss while our descriptor is still open.
	port := local.(*unix.SockaddrInet4).Port
	ssPath := proctest.NeedTool(t, "ss")
	ss, err := exec.Command(ssPath, "-tan", "state", "time-wait", fmt.Sprintf("sport = :%d", port)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, ss)
	}
	if !strings.Contains(string(ss), fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("ss shows no TIME-WAIT for port %d while the trace says so:\n%s\ntrace:\n%s", port, ss, out)
	}
	Close(c)
}
