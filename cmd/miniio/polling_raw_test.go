//go:build linux

package main

// Engine.IO long-polling by hand: HTTP requests written byte by byte on
// plain TCP connections, the way a learner would with nc, against
// `miniio serve`. Each refusal gets the status and the {"code","message"}
// body socket.io's own server answers with.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"socklab/internal/websocket"
)

const pollPath = "/socket.io/?EIO=4&transport=polling"

// pollRequest writes one HTTP/1.1 request (keep-alive) and reads its
// answer: the status, the head and the body.
func (w *wsRaw) pollRequest(method, target, body string, headers ...string) (status int, head, answer string) {
	w.t.Helper()
	req := method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if method == "POST" {
		req += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	w.write(req + "\r\n" + body)
	head, answer = w.answer()
	status, _ = strconv.Atoi(strings.Fields(head)[1])
	return status, head, answer
}

// pollOpen opens a session on a new connection and returns its sid and
// the connection (kept alive for the session's next requests).
func pollOpen(t *testing.T, port int) (string, *wsRaw) {
	t.Helper()
	w := wsDialRaw(t, port)
	status, head, body := w.pollRequest("GET", pollPath, "")
	if status != 200 || !strings.Contains(head, "Content-Type: text/plain; charset=UTF-8\r\n") ||
		!strings.HasPrefix(body, `0{"sid":"`) || !strings.Contains(body, `"upgrades":["websocket"]`) {
		t.Fatalf("handshake answered %q %q, want 200 and OPEN with upgrades [websocket]", head, body)
	}
	sid := strings.Split(body, `"`)[3]
	return sid, w
}

// pollConnect opens a session and completes CONNECT, by POST and GET.
func pollConnect(t *testing.T, port int, auth string) (string, *wsRaw) {
	t.Helper()
	sid, w := pollOpen(t, port)
	if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, "40"+auth); status != 200 || body != "ok" {
		t.Fatalf("POST 40 answered %d %q", status, body)
	}
	_, _, body := w.pollRequest("GET", pollPath+"&sid="+sid, "")
	id := connectAnswer(t, body, sid)
	if id == "" {
		t.Fatalf("no socket id in %q", body)
	}
	return sid, w
}

// refused checks a socket.io refusal: 400 and its JSON body.
func refused(t *testing.T, what string, status int, body string, code int, message string) {
	t.Helper()
	want := fmt.Sprintf(`{"code":%d,"message":%q}`, code, message)
	if status != 400 || body != want {
		t.Fatalf("%s: answered %d %q, want 400 %s", what, status, body, want)
	}
}

func TestPollingRefusals(t *testing.T) {
	srv := startServer(t, "-max-payload", "1000", "-frame-timeout", "700ms")
	port := srv.httpPort()
	sid, w := pollConnect(t, port, "")

	for _, c := range []struct {
		what, method, target string
		code                 int
		message              string
	}{
		{"a POST cannot open a session", "POST", pollPath, 2, "Bad handshake method"},
		{"PUT on a session", "PUT", pollPath + "&sid=" + sid, 2, "Bad handshake method"},
		{"EIO=3", "GET", "/socket.io/?EIO=3&transport=polling", 5, "Unsupported protocol version"},
		{"no EIO", "GET", "/socket.io/?transport=polling", 5, "Unsupported protocol version"},
		{"unknown sid", "GET", pollPath + "&sid=nope", 1, "Session ID unknown"},
		{"unknown sid, POST", "POST", pollPath + "&sid=nope", 1, "Session ID unknown"},
		{"two transports", "GET", pollPath + "&transport=polling", 3, "Bad request"},
		{"two sids", "GET", pollPath + "&sid=" + sid + "&sid=" + sid, 3, "Bad request"},
		{"unknown transport", "GET", "/socket.io/?EIO=4&transport=carrier-pigeon", 0, "Transport unknown"},
	} {
		r := wsDialRaw(t, port)
		status, _, body := r.pollRequest(c.method, c.target, "")
		refused(t, c.what, status, body, c.code, c.message)
	}

	// A body past maxPayload is refused from its Content-Length: 413.
	r := wsDialRaw(t, port)
	if status, _, _ := r.pollRequest("POST", pollPath+"&sid="+sid, strings.Repeat("4", 1001)); status != 413 {
		t.Fatalf("a POST of 1001 bytes (maxPayload 1000) answered %d, want 413", status)
	}

	// A body that trickles and stops (slowloris): 408, then closed.
	r = wsDialRaw(t, port)
	r.write("POST " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n42[\"ch")
	start := time.Now()
	head, _ := r.answer()
	if !strings.HasPrefix(head, "HTTP/1.1 408 ") {
		t.Fatalf("a body that stopped half-way answered %q, want 408", head)
	}
	if _, err := r.r.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after the 408")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the 408 took %v (frame timeout 700ms)", d)
	}

	// A payload with a packet that is not Engine.IO: 400, and the session
	// ends (as in socket.io: a parse error closes the transport).
	sid2, w2 := pollConnect(t, port, "")
	if status, _, body := w2.pollRequest("POST", pollPath+"&sid="+sid2, "42[\"a\"]\x1ezzz"); status != 400 {
		t.Fatalf("a payload with a bad packet answered %d %q", status, body)
	}
	srv.waitFor(`closed: parse error|disconnected: parse error`, 10*time.Second)

	// No CORS headers without -cors, whatever the Origin.
	_, head, _ = w.pollRequest("POST", pollPath+"&sid="+sid, `42["chat","hi"]`, "Origin: http://elsewhere.example")
	if strings.Contains(head, "Access-Control-") {
		t.Fatalf("CORS headers without -cors: %q", head)
	}
	// The first session lived through all of it.
	if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, `421["echo","still"]`); status != 200 || body != "ok" {
		t.Fatalf("POST on the first session: %d %q", status, body)
	}
	if _, _, body := w.pollRequest("GET", pollPath+"&sid="+sid, ""); body != `431["still"]` {
		t.Fatalf("GET on the first session: %q, want the echo's ack", body)
	}
	// Two requests in one write (HTTP pipelining): answered in order.
	post := `422["echo","piped"]`
	w.write("POST " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(post)) + "\r\n\r\n" + post +
		"GET " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := w.answer(); body != "ok" {
		t.Fatalf("the pipelined POST got %q", body)
	}
	if _, body := w.answer(); body != `432["piped"]` {
		t.Fatalf("the pipelined GET got %q", body)
	}
	srv.checkNoPanic()
}

// Two GETs of one session at once: the second is refused (400) and the
// session ends, as socket.io does; the first GET takes the CLOSE packet.
func TestPollingDuplicateGet(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	sid, w := pollConnect(t, port, `{"name":"dup"}`)
	w.write("GET " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n") // held
	time.Sleep(200 * time.Millisecond)
	second := wsDialRaw(t, port)
	status, _, body := second.pollRequest("GET", pollPath+"&sid="+sid, "")
	refused(t, "a second GET", status, body, 3, "Bad request")
	_, first := w.answer()
	if first != "1" {
		t.Fatalf("the waiting GET got %q, want the CLOSE packet as engine.io sends it, \"1\" (the reason is in the log)", first)
	}
	third := wsDialRaw(t, port)
	status, _, body = third.pollRequest("GET", pollPath+"&sid="+sid, "")
	refused(t, "a GET after the session ended", status, body, 1, "Session ID unknown")
	srv.waitFor(`dup disconnected: transport error: overlap from client`, 10*time.Second)
}

// The upgrade by hand: a WebSocket with the session's sid, 2probe and
// 3probe, the waiting GET released with NOOP, UPGRADE; then the session
// lives on the WebSocket, and the sid opens nothing else (a second
// WebSocket gets 101 and a close, as in engine.io).
func TestPollingUpgradeByHand(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	sid, w := pollConnect(t, port, `{"name":"up"}`)
	w.write("GET " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n") // waits

	ws := wsDialRaw(t, port)
	ws.write(wsRequest("/socket.io/?EIO=4&transport=websocket&sid=" + sid))
	if head, _ := ws.answer(); !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("the upgrade's handshake answered %q", head)
	}
	ws.send(websocket.OpText, "2probe")
	if op, text := ws.frame(); op != websocket.OpText || text != "3probe" {
		t.Fatalf("2probe answered %v %q, want 3probe", op, text)
	}
	if _, body := w.answer(); body != "6" {
		t.Fatalf("the waiting GET got %q, want NOOP 6", body)
	}
	ws.send(websocket.OpText, "5")
	ws.send(websocket.OpText, `421["echo","on ws"]`)
	for {
		op, text := ws.frame()
		if op != websocket.OpText {
			t.Fatalf("after UPGRADE: %v %q", op, text)
		}
		if text == "2" {
			ws.send(websocket.OpText, "3")
			continue
		}
		if text != `431["on ws"]` {
			t.Fatalf("after UPGRADE: %q, want the echo's ack on the WebSocket", text)
		}
		break
	}

	// The sid is the WebSocket's now: HTTP is refused, a second WebSocket
	// is closed at once.
	r := wsDialRaw(t, port)
	status, _, body := r.pollRequest("GET", pollPath+"&sid="+sid, "")
	refused(t, "GET after the upgrade", status, body, 3, "Bad request")
	r = wsDialRaw(t, port)
	status, _, body = r.pollRequest("POST", pollPath+"&sid="+sid, "3")
	refused(t, "POST after the upgrade", status, body, 3, "Bad request")
	r = wsDialRaw(t, port)
	r.write(wsRequest("/socket.io/?EIO=4&transport=websocket&sid=" + sid))
	// engine.io's answer: 101, then a close at once (no OPEN, nothing).
	if head, body := r.answer(); !strings.HasPrefix(head, "HTTP/1.1 101 ") || body != "" {
		t.Fatalf("a second WebSocket for the sid answered %q %q, want 101", head, body)
	}
	if op, p := r.frame(); op != websocket.OpClose || !strings.Contains(p, "upgraded already") {
		t.Fatalf("a second WebSocket for the sid was sent %v %q, want a close frame", op, p)
	}
	r = wsDialRaw(t, port)
	r.write(wsRequest("/socket.io/?EIO=4&transport=websocket&sid=nope"))
	if _, body := r.answer(); body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("a WebSocket for an unknown sid answered %q", body)
	}

	// The session ends with its WebSocket.
	ws.conn.Close()
	srv.waitFor(`up disconnected: transport close`, 10*time.Second)
	srv.checkNoPanic()
}

// A client that keeps a GET waiting and never reads: what the server
// queues for it is bounded by -max-output, and then it is dropped as a
// slow consumer.
func TestPollingHeldGetNeverRead(t *testing.T) {
	srv := startServer(t, "-max-output", "65536")
	port := srv.httpPort()
	sid, w := pollConnect(t, port, `{"name":"slow"}`)
	w.write("GET " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n") // and never read again
	tcp := connectRaw(t, srv.addr)
	big := `"` + strings.Repeat("x", 8000) + `"`
	for i := 0; i < 40; i++ {
		tcp.send(`42["shout",` + big + `]`)
	}
	srv.waitFor(`slow disconnected: slow consumer`, 10*time.Second)
	tcp.waitConns(1, 10*time.Second)
}

// waitConns asks the server for its connection count (the `stats`
// event) until it is want, for at most within.
func (c *rawClient) waitConns(want int, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for id := 1000; ; id++ {
		conns, _, _ := c.stats(id)
		if conns == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d connections after %v, want %d", conns, within, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// 10,000 sessions opened by long-polling and abandoned: all reaped by
// the session timeout (pingInterval + pingTimeout), within a generous
// memory ceiling.
func TestPollingAbandonedSessionsReaped(t *testing.T) {
	const sessions = 10000
	srv := startServer(t, "-ping-interval", "300ms", "-ping-timeout", "200ms", "-max-conns", "20000", "-connect-timeout", "30s")
	port := srv.httpPort()
	rss0, _ := srv.memory()

	// Eight keep-alive connections, each opening its share of sessions
	// one request after another.
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := wsDialRaw(t, port)
			for i := 0; i < sessions/8; i++ {
				w.write("GET " + pollPath + " HTTP/1.1\r\nHost: x\r\n\r\n")
				head, body := w.answerOrError()
				if !strings.HasPrefix(body, `0{"sid":"`) {
					errs <- fmt.Sprintf("session %d: %q %q", i, head, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	_, peak := srv.memory()
	// Every one is gone within a few timeouts: the count the server gives
	// (its `stats`, asked by a TCP client) is back to that client alone.
	tcp := connectRaw(t, srv.addr)
	tcp.waitConns(1, 20*time.Second)
	// And each went by a timeout, as the log says, one line a session:
	// the session's own (no GET for pingInterval + pingTimeout) or the
	// heartbeat's (its PING waited in the queue, and no PONG came).
	if n := strings.Count(srv.out.String(), "closed: ping timeout: "); n != sessions {
		t.Fatalf("%d sessions ended by the timeout, want %d; log:\n%s", n, sessions, reasons(srv.out.String()))
	}
	if peak-rss0 > 256<<20 {
		t.Fatalf("%d sessions took the server from %d to %d bytes of RSS", sessions, rss0, peak)
	}
	t.Logf("RSS %d MB before, peak %d MB", rss0>>20, peak>>20)
}

// answerOrError is answer for a goroutine other than the test's: it
// reports a failure in its result instead of calling Fatal.
func (w *wsRaw) answerOrError() (head, body string) {
	var h strings.Builder
	n := 0
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			return h.String(), "error: " + err.Error()
		}
		h.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(w.r, b); err != nil {
		return h.String(), "error: " + err.Error()
	}
	return h.String(), string(b)
}

// reasons counts the log's lines by what follows "closed: " (for a
// failure message).
func reasons(log string) string {
	count := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		if _, why, ok := strings.Cut(line, "closed: "); ok {
			count[why]++
		}
	}
	return fmt.Sprint(count)
}

// How a long-polling session ends, as engine.io ends it: DISCONNECT of
// "/" keeps the session (the PINGs go on, the client's CLOSE ends it); a
// calm close by the server (a refused CONNECT) leaves its last packets
// for the next GET; either way the sid is forgotten then (400).
func TestPollingSessionEndings(t *testing.T) {
	srv := startServer(t, "-ping-interval", "300ms", "-ping-timeout", "5s", "-token", "s3cret")
	port := srv.httpPort()

	sid, w := pollConnect(t, port, `{"name":"keep","token":"s3cret"}`)
	if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, "41"); status != 200 || body != "ok" {
		t.Fatalf("POST 41 answered %d %q", status, body)
	}
	// The next payloads are PINGs: the session lives on without "/".
	for i := 0; i < 2; i++ {
		status, _, body := w.pollRequest("GET", pollPath+"&sid="+sid, "")
		if status != 200 || body != "2" {
			t.Fatalf("GET %d after 41 answered %d %q, want a PING", i+1, status, body)
		}
		if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, "3"); status != 200 || body != "ok" {
			t.Fatalf("POST 3 answered %d %q", status, body)
		}
	}
	if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, "1"); status != 200 || body != "ok" {
		t.Fatalf("POST 1 answered %d %q", status, body)
	}
	srv.waitFor(`keep disconnected: client namespace disconnect`, 10*time.Second)
	status, _, body := w.pollRequest("GET", pollPath+"&sid="+sid, "")
	refused(t, "a GET after CLOSE", status, body, 1, "Session ID unknown")

	// A refused CONNECT while no GET waits: the CONNECT_ERROR and the
	// CLOSE (plain `1`) wait for the next GET, and then the sid is gone.
	sid, w = pollOpen(t, port)
	if status, _, body := w.pollRequest("POST", pollPath+"&sid="+sid, `40{"token":"nope"}`); status != 200 || body != "ok" {
		t.Fatalf("POST 40 answered %d %q", status, body)
	}
	status, _, body = w.pollRequest("GET", pollPath+"&sid="+sid, "")
	if status != 200 || body != `44{"message":"not authorized"}`+"\x1e1" {
		t.Fatalf("the GET after a refused CONNECT answered %d %q, want CONNECT_ERROR and CLOSE", status, body)
	}
	w = wsDialRaw(t, port)
	status, _, body = w.pollRequest("GET", pollPath+"&sid="+sid, "")
	refused(t, "a GET after the refusal", status, body, 1, "Session ID unknown")
	srv.checkNoPanic()
}
