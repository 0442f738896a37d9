package chatpage_test

// The chat page in a real browser against `miniio serve`: the page served
// by miniio itself (same origin) and from another origin with -cors, with
// the page's own client and with the official bundle that miniio serves
// (-client-bundle); two tabs and one `miniio chat` terminal client, over
// miniio's TCP frames, in one chat and one room. The same scenario as
// TestBrowserChat against socket.io's own server.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
)

// miniioServe is a running `miniio serve`.
type miniioServe struct {
	proc     *proctest.Proc
	addr     string // the TCP port's address, for miniio chat
	httpAddr string // the HTTP port's, 127.0.0.1:PORT
}

func startMiniio(t *testing.T, bin string, args ...string) *miniioServe {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "miniio"), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	p := proctest.Start(t, cmd)
	s := &miniioServe{proc: p}
	s.addr = p.WaitSubmatch(t, &p.Stderr, `listening on (\S+)`)
	s.httpAddr = p.WaitSubmatch(t, &p.Stderr, `socket\.io clients: http://(\S+)/socket\.io/`)
	return s
}

func (s *miniioServe) url() string { return "http://" + s.httpAddr }

// stop ends the server as Ctrl-C does, and waits for it.
func (s *miniioServe) stop(t *testing.T) {
	t.Helper()
	s.proc.Signal(t, syscall.SIGINT)
	select {
	case <-s.proc.Done:
	case <-time.After(proctest.Limit):
		t.Fatalf("miniio serve did not stop on SIGINT within %v", proctest.Limit)
	}
}

// terminal is a `miniio chat` client: lines typed on its stdin.
type terminal struct {
	proc  *proctest.Proc
	stdin interface{ Write([]byte) (int, error) }
}

func (c *terminal) say(t *testing.T, line string) {
	t.Helper()
	if _, err := c.stdin.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("typing into miniio chat: %v", err)
	}
}

func (c *terminal) see(t *testing.T, text string) {
	t.Helper()
	c.proc.WaitFor(t, &c.proc.Stdout, text)
}

func TestBrowserChatMiniio(t *testing.T) {
	b := startBrowser(t)
	bin, err := proctest.Build("socklab/cmd/miniio")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	for _, client := range []string{"lesson", "official"} {
		for _, origin := range []string{"same-origin", "cross-origin"} {
			t.Run(client+"/"+origin, func(t *testing.T) {
				b.t = t
				defer func() { b.t = nil }()
				miniioScenario(t, b, bin, client, origin)
			})
		}
	}
}

func miniioScenario(t *testing.T, b *browser, bin, client, origin string) {
	bundle := filepath.Join(nodepeer.Dir(t), "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	const pingInterval, pingTimeout = 500 * time.Millisecond, 1500 * time.Millisecond
	args := []string{"-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-wire",
		"-ping-interval", pingInterval.String(), "-ping-timeout", pingTimeout.String(), "-client-bundle", bundle}
	var pages string
	if origin == "cross-origin" {
		pages = pageServer(t).URL
		args = append(args, "-cors", pages)
	}
	srv := startMiniio(t, bin, args...)
	pageURL := func(name string) string { return srv.url() + "/?name=" + name }
	if pages != "" {
		pageURL = func(name string) string { return pages + "/?server=" + srv.url() + "&name=" + name }
	}
	query := ""
	if client == "official" {
		query = "&client=official"
	}
	ann, bob := "miniio-"+client+"-"+origin+"-ann", "miniio-"+client+"-"+origin+"-bob"

	// The terminal user, on miniio's TCP frames, connected before the pages.
	cmd := exec.Command(filepath.Join(bin, "miniio"), "chat", "-name", "tess", "-addr", srv.addr)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tess := &terminal{proc: proctest.Start(t, cmd), stdin: stdin}
	t.Cleanup(func() { stdin.Close() })
	tess.see(t, "* connected")

	// Each page starts on long-polling and upgrades: the server's -wire
	// log shows the GET that opens the session and the WebSocket that
	// takes it over, and the page's status names the transport.
	b.open(ann, pageURL("ann")+query)
	b.see(ann, "#status", "connected as ann (websocket)")
	b.open(bob, pageURL("bob")+query)
	b.see(bob, "#status", "connected as bob (websocket)")
	connected := time.Now()
	log := srv.proc.WaitFor(t, &srv.proc.Stderr, "bob connected: sid ")
	opens := regexp.MustCompile(`← GET /socket\.io/\?EIO=4&transport=polling(&t=[^&\s]+)? HTTP/1\.1`).FindAllString(log, -1)
	upgrades := regexp.MustCompile(`← GET /socket\.io/\?EIO=4&transport=websocket&sid=`).FindAllString(log, -1)
	if len(opens) < 2 || len(upgrades) < 2 {
		t.Errorf("%d sessions opened by long-polling and %d upgrades, want 2 of each; the server logged:\n%s", len(opens), len(upgrades), log)
	}
	b.see(ann, "#log", "bob joined")
	tess.see(t, "* ann joined")
	tess.see(t, "* bob joined")

	// A message from a page reaches the other page and the terminal; the
	// ack's round trip shows on the sender's page.
	b.say(ann, "hello from ann")
	b.see(bob, "#log", "ann: hello from ann")
	tess.see(t, "ann: hello from ann")
	b.see(ann, "#log", "✓ ack in")
	var ms float64
	b.eval(ann, `Number(document.querySelector('#log .latency').dataset.ms)`, &ms)
	if ms <= 0 || ms > float64(wait.Milliseconds()) {
		t.Errorf("the ack's latency on the page is %v ms; want a round trip above 0 and below %v", ms, wait)
	}
	tess.say(t, "hi from the terminal")
	b.see(ann, "#log", "tess: hi from the terminal")
	b.see(bob, "#log", "tess: hi from the terminal")

	// A room, the terminal in it too: the pages' chat stays in it.
	b.joinRoom(ann, "lobby")
	b.see(ann, "#inrooms", "rooms: lobby")
	b.joinRoom(bob, "lobby")
	b.see(bob, "#inrooms", "rooms: lobby")
	tess.say(t, "/join lobby")
	tess.see(t, "* joined #lobby")
	b.say(bob, "lobby only")
	b.see(ann, "#log", "bob: lobby only")
	tess.see(t, "bob: lobby only")
	tess.say(t, "from the terminal to the lobby")
	b.see(ann, "#log", "tess: from the terminal to the lobby")
	b.see(bob, "#log", "tess: from the terminal to the lobby")

	// Nobody is dropped by the heartbeat while the server runs.
	time.Sleep(time.Until(connected.Add(pingInterval + 2*pingTimeout + 500*time.Millisecond)))
	if stderr := srv.proc.Stderr.String(); strings.Contains(stderr, " disconnected: ") {
		t.Errorf("a socket was dropped while the server ran; it logged:\n%s", stderr)
	}

	// The server stops and comes back on the same ports: the pages and
	// the terminal reconnect by themselves and rejoin the room.
	srv.stop(t)
	b.see(ann, "#log", "disconnected (transport close)")
	b.see(bob, "#log", "disconnected (transport close)")
	tess.see(t, "* disconnected")
	again := append([]string(nil), args...)
	again[1], again[3] = srv.addr, srv.httpAddr
	srv = startMiniio(t, bin, again...)
	b.see(ann, "#status", "connected as ann (websocket)")
	b.see(bob, "#status", "connected as bob (websocket)")
	b.see(ann, "#log", "back in room lobby")
	b.see(bob, "#log", "back in room lobby")
	tess.see(t, "* rejoined #lobby")
	b.say(ann, "back again")
	b.see(bob, "#log", "ann: back again")
	tess.see(t, "ann: back again")
	tess.say(t, "the terminal is back too")
	b.see(ann, "#log", "tess: the terminal is back too")
	b.see(bob, "#log", "tess: the terminal is back too")

	// Closing a tab is a user leaving.
	b.do(map[string]any{"page": bob, "close": true})
	b.see(ann, "#log", "bob left")
	tess.see(t, "* bob left")
	b.do(map[string]any{"page": ann, "close": true})
	proctest.NoPanic(t, srv.proc.Stderr.String())
}

// A page from another origin, against a miniio that did not name that
// origin in -cors: the browser keeps the answers from the page, which
// says it could not connect (and so the cross-origin runs above test
// CORS, not luck).
func TestBrowserRefusedMiniio(t *testing.T) {
	b := startBrowser(t)
	bin, err := proctest.Build("socklab/cmd/miniio")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	pages := pageServer(t)
	srv := startMiniio(t, bin, "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-cors", "http://somewhere.else")
	for _, client := range []string{"lesson", "official"} {
		tab := "miniio-no-cors-" + client
		b.open(tab, pages.URL+"/?name=eve&client="+client+"&server="+srv.url())
		b.see(tab, "#log", "connect error")
		var status string
		b.eval(tab, `document.querySelector('#status').innerText`, &status)
		if strings.HasPrefix(status, "connected") {
			t.Errorf("%s: the page says %q", tab, status)
		}
		b.do(map[string]any{"page": tab, "close": true})
	}
	if stderr := srv.proc.Stderr.String(); strings.Contains(stderr, "eve connected") {
		t.Errorf("eve got in; the server logged:\n%s", stderr)
	}
}
