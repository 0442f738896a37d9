//go:build linux

package tracestream

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// The whole path in one process, as the server will use it: real traced
// calls on socketpairs, the tap, the stream, and a viewer whose
// deliveries are written (traced) to its own connection. The token the
// client sends in two writes is on stderr, as always, but never in what
// the viewer gets; the viewer's own writes are left out and counted, so
// the stream goes quiet when the chat does.
func TestLiveTapToViewer(t *testing.T) {
	var stderr bytes.Buffer
	sys.SetOutput(&stderr)
	sys.SetTracing(true)
	tap := sys.NewTap(4096)
	sys.SetTap(tap)
	defer func() { sys.SetTap(nil); sys.SetOutput(os.Stderr) }()

	chat, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	client, server := chat[0], chat[1]
	// The page's connection: the server writes on conn; the page, another
	// process in real life, reads page without tracing.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, page := pair[0], pair[1]
	defer unix.Close(page)
	sys.TapExclude(conn)

	s := New(Config{})
	v := s.Subscribe()
	var shown []string
	writes := 0
	round := func() int {
		s.Pump(tap, 0)
		d := v.Take(0)
		for _, it := range d.Items {
			shown = append(shown, it.Text)
			sys.Write(conn, []byte(it.Text+"\n")) // traced, and left out of the tap
			writes++
			buf := make([]byte, 4096)
			unix.Read(page, buf)
		}
		return len(d.Items)
	}

	sys.Write(client, []byte(`40{"tok`))
	sys.Write(client, []byte(`en":"s3cr3t"}`))
	buf := make([]byte, 64)
	for got := 0; got < len(`40{"token":"s3cr3t"}`); {
		n, err := sys.Read(server, buf)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	sys.Write(server, []byte(`40{"sid":"x"}`))
	rounds := 0
	for n := round(); n > 0; n = round() {
		if rounds++; rounds > 10 {
			t.Fatalf("the stream does not go quiet: it feeds itself")
		}
	}
	if writes == 0 {
		t.Fatal("the viewer got nothing")
	}
	if !strings.Contains(stderr.String(), "s3cr3t") {
		t.Errorf("stderr lost the token: the trace itself is not redacted\n%s", stderr.String())
	}
	all := strings.Join(shown, "\n")
	if strings.Contains(all, "s3cr3t") || strings.Contains(all, "cr3") {
		t.Errorf("the viewer saw the token:\n%s", all)
	}
	if !strings.Contains(all, `"[redacted]`) {
		t.Errorf("no redaction shown:\n%s", all)
	}
	for _, l := range shown {
		if strings.HasPrefix(l, "write("+itoa(conn)+",") {
			t.Errorf("the viewer saw its own write: %s", l)
		}
	}
	d := v.Take(0)
	if d.Hidden != uint64(writes) || !strings.Contains(d.HiddenText(), itoa(writes)+" calls of the viewers' own connections not shown") {
		t.Errorf("hidden %d (%q), want %d", d.Hidden, d.HiddenText(), writes)
	}
	sys.Close(client)
	sys.Close(server)
	sys.Close(conn)
	round()
	if !strings.Contains(strings.Join(shown, "\n"), "close("+itoa(client)+")") {
		t.Errorf("the client's close is missing")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
