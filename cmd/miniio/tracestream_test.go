//go:build linux

package main

// miniio serve -trace-stream, watched by socket.io's own client on the
// /trace namespace (internal/nodepeer), while other clients chat.

import (
	"encoding/json"
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

	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
)

// traceItem is one item of a "lines" batch, as a page gets it.
type traceLine struct {
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Call  string `json:"call"`
	FD    *int   `json:"fd"`
	Ret   int    `json:"ret"`
	Errno string `json:"errno"`
	Note  bool   `json:"note"`
	N     int    `json:"n"`
}

// traceWatch is a viewer of /trace: a socket.io-client that acks every
// batch, as the page does.
type traceWatch struct {
	t        *testing.T
	c        *nodepeer.Client
	fd       int
	chat     *int
	items    []traceLine
	counters map[string]any
	replied  map[int]bool
}

// watchTrace joins /trace with auth and waits for the "you" event.
func watchTrace(t *testing.T, port int, auth any) *traceWatch {
	t.Helper()
	c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports: []string{"websocket"}, Namespace: "/trace", Auth: auth, NoReconnection: true,
	})
	c.Next(wsWait, nodepeer.Type("connect"))
	you := c.Next(wsWait, nodepeer.Event("you"))
	var me struct {
		FD   int  `json:"fd"`
		Chat *int `json:"chat"`
	}
	if len(you.Args) != 1 || json.Unmarshal(you.Args[0], &me) != nil || me.FD <= 0 {
		t.Fatalf("you: %s", you.Raw)
	}
	return &traceWatch{t: t, c: c, fd: me.FD, chat: me.Chat, replied: map[int]bool{}}
}

// take acks and collects the batches that came so far.
func (w *traceWatch) take() {
	w.t.Helper()
	for _, l := range w.c.Seen(nodepeer.Event("lines")) {
		if w.replied[l.Index] {
			continue
		}
		w.replied[l.Index] = true
		if l.Reply != 0 {
			r := l.Reply
			w.c.Send(nodepeer.Command{Reply: &r, Args: []any{}})
		}
		var items []traceLine
		if len(l.Args) < 2 || json.Unmarshal(l.Args[0], &items) != nil || json.Unmarshal(l.Args[1], &w.counters) != nil {
			w.t.Fatalf("a lines event not of the form [items, counters]: %s", l.Raw)
		}
		w.items = append(w.items, items...)
	}
}

// until collects batches until cond holds, or fails after within.
func (w *traceWatch) until(within time.Duration, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		w.take()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the trace viewer never got %s within %v; it got:\n%s", what, within, w.dump(60))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// find is the index of the first item from start that match accepts, or -1.
func (w *traceWatch) find(start int, match func(traceLine) bool) int {
	for i := start; i < len(w.items); i++ {
		if match(w.items[i]) {
			return i
		}
	}
	return -1
}

func (w *traceWatch) dump(n int) string {
	var b strings.Builder
	items := w.items
	if len(items) > n {
		fmt.Fprintf(&b, "… (%d items before)\n", len(items)-n)
		items = items[len(items)-n:]
	}
	for _, it := range items {
		fmt.Fprintf(&b, "[%s] %s\n", it.Kind, it.Text)
	}
	fmt.Fprintf(&b, "counters: %v", w.counters)
	return b.String()
}

func (w *traceWatch) counter(name string) int {
	f, _ := w.counters[name].(float64)
	return int(f)
}

// onFD: a call of this descriptor.
func onFD(call string, fd int, contains string) func(traceLine) bool {
	return func(it traceLine) bool {
		return it.Kind == "line" && !it.Note && it.FD != nil && *it.FD == fd &&
			(call == "" || it.Call == call || (call == "write" && it.Call == "writev")) &&
			strings.Contains(it.Text, contains)
	}
}

// fdOf is the server's descriptor for the named client, from its log.
func fdOf(srv *serveProc, name string) int {
	srv.t.Helper()
	m := srv.waitFor(regexp.QuoteMeta(name)+` connected: sid \S+, fd (\d+)`, wsWait)
	n, _ := strconv.Atoi(m[1])
	return n
}

// A chat, seen from /trace: the read that received "hi" on the sender's
// descriptor (masked, as every client frame; the frame view shows it
// unmasked), the write that carried it to the other client, and nothing
// of the viewer's own connection but the count of its hidden calls.
func TestTraceStreamShowsTheChat(t *testing.T) {
	srv := startServer(t, "-trace-stream")
	port := srv.httpPort()
	view := watchTrace(t, port, nil)
	ann := wsClient(t, port, "ann")
	annFD := fdOf(srv, "ann")
	bob := wsClient(t, port, "bob")
	bobFD := fdOf(srv, "bob")
	ann.Emit("chat", "hi")
	sameArgs(t, "bob's chat", bob.Next(wsWait, nodepeer.Event("chat")).Args, `["ann","hi"]`)

	var read, frame, write int
	view.until(wsWait, "the read of ann's chat, its frame, and the write to bob", func() bool {
		frame = view.find(0, func(it traceLine) bool {
			return it.Kind == "wire" && strings.HasPrefix(it.Text, fmt.Sprintf("fd %d ← ", annFD)) && strings.Contains(it.Text, `42[\"chat\",\"hi\"]`)
		})
		if frame < 0 {
			return false
		}
		read = -1
		for i := frame - 1; i >= 0 && read < 0; i-- {
			if onFD("read", annFD, "")(view.items[i]) && view.items[i].Ret > 0 {
				read = i
			}
		}
		write = view.find(frame, onFD("write", bobFD, `42[\"chat\",\"ann\",\"hi\"]`))
		return read >= 0 && write >= 0
	})
	t.Logf("read: %s\nframe: %s\nwrite: %s", view.items[read].Text, view.items[frame].Text, view.items[write].Text)

	// The viewer's own connection: never a line, only the counter.
	for _, it := range view.items {
		if it.FD != nil && *it.FD == view.fd {
			t.Errorf("the viewer saw a call of its own connection (fd %d): %s", view.fd, it.Text)
		}
		if it.Kind == "wire" && strings.HasPrefix(it.Text, fmt.Sprintf("fd %d ", view.fd)) {
			t.Errorf("the viewer saw a frame of its own connection: %s", it.Text)
		}
		if it.Call == "epoll_wait" && it.Ret == 0 {
			t.Errorf("an idle epoll_wait was streamed: %s", it.Text)
		}
	}
	if view.counter("hidden") == 0 || !strings.Contains(fmt.Sprint(view.counters["hiddenText"]), "calls of the viewers' own connections not shown") {
		t.Errorf("no hidden counter: %v", view.counters)
	}
	srv.checkNoPanic()
}

// Who may watch: with -token, the token's holders only (a client on this
// machine without it is refused); the chat itself needs it as before.
func TestTraceStreamNeedsTheToken(t *testing.T) {
	srv := startServer(t, "-trace-stream", "-token", "s3cret")
	port := srv.httpPort()
	for _, auth := range []any{nil, map[string]string{"token": "wrong"}} {
		c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
			Transports: []string{"websocket"}, Namespace: "/trace", Auth: auth, NoReconnection: true,
		})
		l := c.Next(wsWait, func(l nodepeer.Line) bool { return l.Type == "connect_error" || l.Type == "connect" })
		if l.Type != "connect_error" || !strings.Contains(l.Message, "token") {
			t.Errorf("a viewer with auth %v: %s, want connect_error naming the token", auth, l.Raw)
		}
		c.Close()
	}
	view := watchTrace(t, port, map[string]string{"token": "s3cret"})
	if view.fd <= 0 {
		t.Fatal("no fd")
	}
	srv.checkNoPanic()
}

// Redaction: a CONNECT carrying a token, from a TCP client (the read
// shows it as sent) and from socket.io's client (the frame view shows
// it), never shows the token in the stream; stderr's -trace does.
func TestTraceStreamRedactsTheToken(t *testing.T) {
	srv := startServer(t, "-trace-stream", "-trace", "-token", "s3cret")
	port := srv.httpPort()
	view := watchTrace(t, port, map[string]string{"token": "s3cret"})
	tcp := dialRaw(t, srv.addr)
	tcp.send(`40{"token":"s3cret","name":"tcp"}`)
	if got := tcp.read(); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("TCP CONNECT answered %q", got)
	}
	tcpFD := fdOf(srv, "tcp")
	nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports: []string{"websocket"}, Auth: map[string]string{"token": "s3cret", "name": "ws"}, NoReconnection: true,
	}).Next(wsWait, nodepeer.Type("connect"))
	wsFD := fdOf(srv, "ws")
	view.until(wsWait, "both CONNECTs, redacted", func() bool {
		return view.find(0, onFD("read", tcpFD, `[redacted]`)) >= 0 &&
			view.find(0, func(it traceLine) bool {
				return it.Kind == "wire" && strings.HasPrefix(it.Text, fmt.Sprintf("fd %d ← ", wsFD)) && strings.Contains(it.Text, "[redacted]")
			}) >= 0
	})
	for _, it := range view.items {
		if strings.Contains(it.Text, "s3cret") || strings.Contains(it.Text, "3cre") {
			t.Errorf("the stream shows the token: %s", it.Text)
		}
	}
	if !strings.Contains(srv.out.String(), `s3cret`) {
		t.Errorf("stderr's trace lost the token: it is the operator's own, not redacted")
	}
}

// A viewer that stops reading (SIGSTOP) does not slow a chat client: its
// p99 echo round trip stays within a generous multiple of its value with
// no viewer, the server's memory stays bounded, and when the viewer
// comes back (SIGCONT) it is told how many lines it lost.
func TestTraceStreamSlowViewer(t *testing.T) {
	srv := startServer(t, "-trace-stream")
	port := srv.httpPort()
	good := connectRaw(t, srv.addr)
	// About 5 lines per round trip, paced to stay under the stream's
	// summary rate (2000 lines a second), so that a stopped viewer's ring
	// (2000) overflows and lines are dropped rather than summed. Timed
	// the same way with no viewer and with one.
	id := 1
	paced := func(n int) []time.Duration {
		var out []time.Duration
		for range n {
			out = append(out, roundTrips(good, id, 1)...)
			id++
			time.Sleep(4 * time.Millisecond)
		}
		return out
	}
	roundTrips(good, 100000, 50) // warm up
	alone := p99(paced(400))
	rssBefore, _ := srv.memory()

	view := watchTrace(t, port, nil)
	roundTrips(good, 200000, 5) // lines for the viewer's first batch
	view.until(wsWait, "a first batch", func() bool { return len(view.items) > 0 })
	pid := view.c.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

	slow := p99(paced(1500))
	rssAfter, _ := srv.memory()
	t.Logf("p99 echo round trip: %v with no viewer, %v with a stopped viewer; RSS %d → %d KiB", alone, slow, rssBefore/1024, rssAfter/1024)
	if limit := max(10*alone, 25*time.Millisecond); slow > limit {
		t.Errorf("a stopped viewer raised the p99 round trip from %v to %v (limit %v)", alone, slow, limit)
	}
	if rssAfter > rssBefore+64<<20 {
		t.Errorf("RSS grew from %d to %d KiB with a stopped viewer", rssBefore/1024, rssAfter/1024)
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The drop notice comes when the viewer's ring overflowed while it was
	// stopped. On a loaded machine the stop sometimes lands after the
	// stream's batches were already in the socket, and nothing is dropped:
	// then what must hold is that the viewer is served again. (That drops
	// are counted and announced is internal/tracestream's own test.)
	dropped := func() bool {
		return view.find(0, func(it traceLine) bool { return it.Kind == "dropped" && it.N > 0 }) >= 0 && view.counter("dropped") > 0
	}
	before := len(view.items)
	roundTrips(good, 300000, 20) // lines after the viewer came back
	view.until(wsWait, "lines after SIGCONT", func() bool { return dropped() || len(view.items) > before })
	if i := view.find(0, func(it traceLine) bool { return it.Kind == "dropped" }); i >= 0 {
		t.Logf("after SIGCONT: %s (counters %v)", view.items[i].Text, view.counters)
	} else {
		t.Logf("after SIGCONT: no lines were dropped this time (%d items received); the viewer is served again", len(view.items))
	}
	srv.checkNoPanic()
}

// Without -token, /trace is for this machine only: in a network namespace
// of its own (unshare -rn: nothing in it reaches any network), the server
// listens on every address there, and a viewer that comes from 10.9.9.1
// is refused while one from 127.0.0.1 is let in.
func TestTraceStreamRefusesOtherMachines(t *testing.T) {
	unshare := proctest.NeedTool(t, "unshare")
	ip := proctest.NeedTool(t, "ip")
	script := `
set -e
"$IP" link set lo up
"$IP" addr add 10.9.9.1/32 dev lo
"$MINIIO" serve -addr 127.0.0.1:0 -http 0.0.0.0:3000 -trace-stream 2>"$LOG" &
srv=$!
trap 'kill $srv' EXIT
for i in $(seq 100); do grep -q "socket.io clients" "$LOG" && break; sleep 0.1; done
cd "$NODEDIR"
echo "--- from 10.9.9.1"
sleep 3 | node sio-client.js http://10.9.9.1:3000 --transports websocket --namespace /trace --no-reconnection
echo "--- from 127.0.0.1"
sleep 3 | node sio-client.js http://127.0.0.1:3000 --transports websocket --namespace /trace --no-reconnection
`
	cmd := exec.Command(unshare, "-rn", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "IP="+ip, "MINIIO="+miniioBinary(t), "NODEDIR="+nodepeer.Dir(t), "LOG="+filepath.Join(t.TempDir(), "serve.log"))
	out, stderr, code := proctest.Run(t, cmd)
	if code != 0 {
		t.Fatalf("the namespace's script failed (%d):\n%s\n%s", code, out, stderr)
	}
	far, near, ok := strings.Cut(out, "--- from 127.0.0.1")
	if !ok {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(far, `"type":"connect_error"`) || !strings.Contains(far, "this machine only") || strings.Contains(far, `"event":"you"`) {
		t.Errorf("a viewer from 10.9.9.1 was not refused:\n%s", far)
	}
	if !strings.Contains(near, `"event":"you"`) {
		t.Errorf("a viewer from 127.0.0.1 was not let in:\n%s", near)
	}
}
