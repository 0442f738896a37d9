//go:build linux

package reactor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/proctest"
	"socklab/internal/sys"
	"socklab/internal/tracetest"
)

// straceChild is the test binary playing a small server under strace
// (TestMain's SOCKLAB_REACTOR_CHILD): on "go\n" it answers with forty
// small frames in one turn (one writev), on "stop\n" it stops the loop
// from inside a handler.
func straceChild() {
	sys.SetTracing(true)
	h := &funcs{data: func(c *Conn, in []byte) int {
		switch string(in) {
		case "go\n":
			for i := range 40 {
				c.Write([]byte(fmt.Sprintf("frame %d\n", i)))
			}
		case "stop\n":
			c.Loop().Stop()
		}
		return len(in)
	}}
	l, err := New(h, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	domain, local, _ := sys.ParseAddr("127.0.0.1:0")
	fd, _ := sys.Socket(domain, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	sys.Bind(fd, local)
	sys.Listen(fd, 16)
	sa, _ := sys.Getsockname(fd)
	sys.Note("listening on %s", sys.Addr(sa))
	l.Serve(fd)
	if err := l.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// The loop's calls, writev included, are the ones strace sees.
func TestTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := tracetest.Command(log, os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "SOCKLAB_REACTOR_CHILD=1", "GODEBUG=containermaxprocs=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var printed bytes.Buffer
	lines := bufio.NewReader(io.TeeReader(stderr, &printed))
	addr := ""
	for addr == "" {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("child ended before listening: %v\n%s", err, printed.String())
		}
		addr, _ = strings.CutPrefix(strings.TrimSpace(line), "# listening on ")
		if addr == strings.TrimSpace(line) {
			addr = ""
		}
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "go\n")
	r := bufio.NewReader(c)
	for i := range 40 {
		if line, err := r.ReadString('\n'); err != nil || line != fmt.Sprintf("frame %d\n", i) {
			t.Fatalf("frame %d: %q, %v", i, line, err)
		}
	}
	io.WriteString(c, "stop\n")
	io.Copy(io.Discard, lines) // to the end: the child exits after Stop
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, printed.String())
	}
	c.Close()
	trace := printed.String()
	if !strings.Contains(trace, `writev(`) || !strings.Contains(trace, `{iov_base="frame 39\n", iov_len=9}], 40) = `) &&
		!strings.Contains(trace, `, ...], 40) = `) {
		t.Errorf("no writev of the 40 frames:\n%s", trace)
	}
	keep := map[int]bool{}
	for _, re := range []string{`epoll_create1\(EPOLL_CLOEXEC\) = (\d+)`, `eventfd2\([^)]*\) = (\d+)`} {
		m := regexp.MustCompile(re).FindStringSubmatch(trace)
		if m == nil {
			t.Fatalf("no %s in the trace:\n%s", re, trace)
		}
		n, _ := strconv.Atoi(m[1])
		keep[n] = true
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	ours := tracetest.Ours(trace)
	theirs := tracetest.Theirs(string(raw), []string{"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}, keep)
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
}
