package chatpage_test

// The chat page in a real browser: Debian's chromium, headless, driven by
// peers/node/browser.js (npm puppeteer-core, which brings no browser of
// its own). The server here is socket.io's own, peers/node/sio-server.js,
// playing miniio's demo, with a scripted socket.io-client standing in for
// the `miniio chat` terminal user; miniio_browser_test.go runs the same
// scenario against `miniio serve` and a real `miniio chat`.
//
// Without chromium the test fails, unless SOCKLAB_ALLOW_MISSING lists
// "chromium"; without node or peers/node's modules, unless it lists "node".

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/chatpage"
	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
)

// wait bounds every wait for something to appear on a page: under
// proctest.Limit, which bounds the wait for browser.js's answer.
const wait = 12 * time.Second

// browser is a running browser.js: Chromium with named tabs.
type browser struct {
	t         *testing.T
	proc      *proctest.Proc
	stdin     io.WriteCloser
	lastID    int
	chromePID int
}

var readyLine = regexp.MustCompile(`(?m)^\{"ready":"([^"]*)","pid":(\d+)\}$`)

func startBrowser(t *testing.T) *browser {
	t.Helper()
	chromium := proctest.NeedTool(t, "chromium")
	dir := nodepeer.Dir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		proctest.Need(t, "node", fmt.Errorf("npm module puppeteer-core is not installed in peers/node (%v): run `npm ci --prefix peers/node --no-audit --no-fund`", err))
	}
	cmd := exec.Command("node", "browser.js", "--chromium", chromium)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("stdin pipe: %v", err)
	}
	b := &browser{t: t, stdin: stdin}
	b.proc = proctest.Start(t, cmd)
	m := b.proc.WaitMatch(t, &b.proc.Stdout, readyLine)
	b.chromePID, _ = strconv.Atoi(m[2])
	t.Logf("browser.js: %s, pid %d", m[1], b.chromePID)
	// Cleanups run last-registered first: this one before proctest's.
	// End of stdin asks browser.js to close Chromium; Chromium runs in a
	// process group of its own (puppeteer starts it so), which is killed
	// by its PID in case browser.js could not.
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-b.proc.Done:
		case <-time.After(proctest.Limit):
			t.Errorf("browser.js did not exit within %v of the end of its stdin", proctest.Limit)
		}
		if b.chromePID > 0 {
			syscall.Kill(-b.chromePID, syscall.SIGKILL) // ESRCH when it is gone already, as it should be
		}
	})
	return b
}

// do sends one command and waits for its answer; an error answer fails
// the test with what the pages logged.
func (b *browser) do(cmd map[string]any) json.RawMessage {
	b.t.Helper()
	b.lastID++
	cmd["id"] = b.lastID
	line, err := json.Marshal(cmd)
	if err != nil {
		b.t.Fatalf("command %v: %v", cmd, err)
	}
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("writing to browser.js: %v\n%s", err, b.proc.Stderr.String())
	}
	raw := b.proc.WaitSubmatch(b.t, &b.proc.Stdout, fmt.Sprintf(`(?m)^(\{"id":%d,.*)$`, b.lastID))
	var answer struct {
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(raw), &answer); err != nil || !answer.OK {
		b.t.Fatalf("browser.js: %s failed: %s\n(%v)\nbrowser.js stderr:\n%s", line, answer.Error, err, b.proc.Stderr.String())
	}
	return answer.Value
}

func (b *browser) open(tab, url string) {
	b.t.Helper()
	b.do(map[string]any{"open": tab, "url": url})
}

// see waits until the element (a CSS selector) of the tab shows text.
func (b *browser) see(tab, where, text string) {
	b.t.Helper()
	b.do(map[string]any{"page": tab, "waitText": text, "in": where, "timeout": wait.Milliseconds()})
}

// say types a chat message and presses Send, as a person would.
func (b *browser) say(tab, text string) {
	b.t.Helper()
	b.do(map[string]any{"page": tab, "type": "#text", "text": text})
	b.do(map[string]any{"page": tab, "click": "#send button"})
}

func (b *browser) joinRoom(tab, room string) {
	b.t.Helper()
	b.do(map[string]any{"page": tab, "type": "#room", "text": room})
	b.do(map[string]any{"page": tab, "click": "#join"})
}

func (b *browser) eval(tab, expr string, v any) {
	b.t.Helper()
	raw := b.do(map[string]any{"page": tab, "eval": expr})
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("%s: %s gave %s: %v", tab, expr, raw, err)
	}
}

// TestBrowserChat: two browser tabs and a terminal client chat through
// socket.io's own server, with each of the page's two clients (ours, and
// the official bundle), with the page served by the socket.io server
// itself and from another origin.
func TestBrowserChat(t *testing.T) {
	b := startBrowser(t)
	for _, client := range []string{"lesson", "official"} {
		for _, origin := range []string{"same-origin", "cross-origin"} {
			t.Run(client+"/"+origin, func(t *testing.T) {
				b.t = t
				defer func() { b.t = nil }()
				chatScenario(t, b, client, origin)
			})
		}
	}
}

func chatScenario(t *testing.T, b *browser, client, origin string) {
	// A quick heartbeat, so that the pages answer pings (on both
	// transports) while the test watches; generous for a loaded machine.
	opts := nodepeer.ServerOptions{PingInterval: 500 * time.Millisecond, PingTimeout: 1500 * time.Millisecond}
	var pageURL func(name string) string
	if origin == "same-origin" {
		page, err := filepath.Abs("chat.html")
		if err != nil {
			t.Fatal(err)
		}
		opts.Page = page
	} else {
		pages := pageServer(t)
		opts.CORS = []string{pages.URL}
		pageURL = func(name string) string { return pages.URL + "/?server=" + nodepeer.URL(opts.Port) + "&name=" + name }
	}
	srv := nodepeer.StartServerProc(t, opts)
	opts.Port = srv.Port
	if pageURL == nil {
		pageURL = func(name string) string { return srv.URL() + "/?name=" + name }
	}
	query := ""
	if client == "official" {
		query = "&client=official"
	}
	ann, bob := client+"-"+origin+"-ann", client+"-"+origin+"-bob"

	// The terminal user, connected before the pages, sees them arrive.
	tess := nodepeer.StartClient(t, srv.URL(), nodepeer.ClientOptions{
		Auth:              map[string]string{"name": "tess"},
		ReconnectionDelay: 200 * time.Millisecond, ReconnectionDelayMax: time.Second,
	})
	tess.Next(proctest.Limit, nodepeer.Type("connect"))

	// Each page starts on long-polling (the server logs the transport a
	// socket connected with) and upgrades (the page's status says so).
	b.open(ann, pageURL("ann")+query)
	b.see(ann, "#status", "connected as ann (websocket)")
	b.open(bob, pageURL("bob")+query)
	b.see(bob, "#status", "connected as bob (websocket)")
	connected := time.Now()
	srv.Proc.WaitFor(t, &srv.Proc.Stderr, "/ bob connected: sid ")
	for _, name := range []string{"ann", "bob"} {
		if !regexp.MustCompile(`(?m)^/ ` + name + ` connected: sid \S+, polling$`).MatchString(srv.Stderr()) {
			t.Errorf("%s did not start on long-polling; the server logged:\n%s", name, srv.Stderr())
		}
	}
	b.see(ann, "#log", "bob joined")
	wantArgs(t, tess.Next(wait, nodepeer.Event("user joined")), "user joined", "ann")
	wantArgs(t, tess.Next(wait, nodepeer.Event("user joined")), "user joined", "bob")
	if want := "client: the official socket.io.min.js bundle"; client == "official" {
		b.see(ann, "#client", want)
	} else {
		b.see(ann, "#client", "client: the hand-written lessonIO")
	}

	// A message from a page reaches the other page and the terminal, and
	// the server's ack shows its round trip on the sender's page.
	b.say(ann, "hello from ann")
	b.see(bob, "#log", "ann: hello from ann")
	wantArgs(t, tess.Next(wait, nodepeer.Event("chat")), "chat", "ann", "hello from ann")
	b.see(ann, "#log", "✓ ack in")
	var ms float64
	b.eval(ann, `Number(document.querySelector('#log .latency').dataset.ms)`, &ms)
	if ms <= 0 || ms > float64(wait.Milliseconds()) {
		t.Errorf("the ack's latency on the page is %v ms; want a round trip above 0 and below %v", ms, wait)
	}
	tess.Emit("chat", "hi from the terminal")
	b.see(ann, "#log", "tess: hi from the terminal")
	b.see(bob, "#log", "tess: hi from the terminal")

	// A room: once both pages joined "lobby", their chat stays in it.
	b.joinRoom(ann, "lobby")
	b.see(ann, "#inrooms", "rooms: lobby")
	b.joinRoom(bob, "lobby")
	b.see(bob, "#inrooms", "rooms: lobby")
	b.say(bob, "lobby only")
	b.see(ann, "#log", "bob: lobby only")
	tess.EmitAck("echo", "after the lobby message") // the server has sent bob's message by now
	if seen := tess.Seen(func(l nodepeer.Line) bool { return l.Event == "chat" && strings.Contains(l.Raw, "lobby only") }); len(seen) > 0 {
		t.Errorf("the terminal client, in no room, got the lobby's message: %s", seen[0].Raw)
	}
	if origin == "same-origin" && client == "lesson" {
		screenshot(t, b, ann)
	}

	// Nobody was dropped on the way: a page that does not answer the
	// server's pings is gone within the interval and two timeouts (the
	// server waits once more after any other packet), and a page that
	// does not see pings drops itself after the interval and one timeout.
	time.Sleep(time.Until(connected.Add(opts.PingInterval + 2*opts.PingTimeout + 500*time.Millisecond)))
	if strings.Contains(srv.Stderr(), " disconnected: ") {
		t.Errorf("a socket was dropped while the server ran; it logged:\n%s", srv.Stderr())
	}
	for _, tab := range []string{ann, bob} {
		var log string
		b.eval(tab, `document.querySelector('#log').innerText`, &log)
		if strings.Contains(log, "disconnected") {
			t.Errorf("%s was disconnected while the server ran:\n%s", tab, log)
		}
	}

	// The server dies and comes back on the same port: the pages notice,
	// reconnect by themselves, join their room again, and chat on.
	srv.Stop(t)
	b.see(ann, "#log", "disconnected (transport close)")
	b.see(bob, "#log", "disconnected (transport close)")
	tess.Next(wait, nodepeer.Type("disconnect"))
	srv = nodepeer.StartServerProc(t, opts)
	b.see(ann, "#status", "connected as ann (websocket)")
	b.see(bob, "#status", "connected as bob (websocket)")
	b.see(ann, "#log", "back in room lobby")
	b.see(bob, "#log", "back in room lobby")
	tess.Next(wait, nodepeer.Type("connect"))
	b.say(ann, "back again")
	b.see(bob, "#log", "ann: back again")
	tess.Emit("chat", "the terminal is back too")
	b.see(ann, "#log", "tess: the terminal is back too")
	b.see(bob, "#log", "tess: the terminal is back too")

	// Closing a tab is a user leaving.
	b.do(map[string]any{"page": bob, "close": true})
	b.see(ann, "#log", "bob left")
	b.do(map[string]any{"page": ann, "close": true})
}

// TestBrowserRefused: pages the server does not let in say so. From
// another origin, with a server that did not allow that origin (which
// shows that the cross-origin runs above test CORS, not luck); and with a
// server that wants a token the page has not (CONNECT_ERROR).
func TestBrowserRefused(t *testing.T) {
	b := startBrowser(t)
	pages := pageServer(t)
	for _, refusal := range []string{"no-cors", "not-authorized"} {
		t.Run(refusal, func(t *testing.T) {
			b.t = t
			defer func() { b.t = nil }()
			opts := nodepeer.ServerOptions{CORS: []string{pages.URL}}
			want := "connect error: not authorized"
			if refusal == "no-cors" {
				opts = nodepeer.ServerOptions{}
				want = "connect error"
			} else {
				opts.Token = "s3cret"
			}
			srv := nodepeer.StartServerProc(t, opts)
			for _, client := range []string{"lesson", "official"} {
				tab := refusal + "-" + client
				b.open(tab, pages.URL+"/?name=eve&client="+client+"&server="+srv.URL())
				b.see(tab, "#log", want)
				var status string
				b.eval(tab, `document.querySelector('#status').innerText`, &status)
				if strings.HasPrefix(status, "connected") {
					t.Errorf("%s: the page says %q", tab, status)
				}
				b.do(map[string]any{"page": tab, "close": true})
			}
			if strings.Contains(srv.Stderr(), "eve connected") {
				t.Errorf("eve got in; the server logged:\n%s", srv.Stderr())
			}
		})
	}
}

// pageServer serves the page from another origin (another port), with
// the official bundle next to it as `miniio serve` will.
func pageServer(t *testing.T) *httptest.Server {
	bundle := filepath.Join(nodepeer.Dir(t), "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	js, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatalf("the official bundle: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", chatpage.ContentType)
		w.Write(chatpage.HTML)
	})
	mux.HandleFunc("GET "+chatpage.BundlePath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
		w.Write(js)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// screenshot saves the tab as a PNG: in SOCKLAB_CHATPAGE_SHOT when that
// names a file (to look at it), else in the test's temporary folder.
func screenshot(t *testing.T, b *browser, tab string) {
	path := os.Getenv("SOCKLAB_CHATPAGE_SHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "chat.png")
	}
	b.do(map[string]any{"page": tab, "screenshot": path})
	png, err := os.ReadFile(path)
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot %s: %d bytes, %v; want a PNG", path, len(png), err)
	}
}

// wantArgs checks an event line from the scripted client: its name and
// string arguments.
func wantArgs(t *testing.T, l nodepeer.Line, event string, args ...string) {
	t.Helper()
	var got []string
	for _, a := range l.Args {
		var s string
		if err := json.Unmarshal(a, &s); err != nil {
			t.Errorf("%s: argument %s is not a string", l.Raw, a)
		}
		got = append(got, s)
	}
	if l.Event != event || strings.Join(got, "\x00") != strings.Join(args, "\x00") {
		t.Errorf("got %s; want event %q with %q", l.Raw, event, args)
	}
}
