//go:build linux

package main

// Our own tests of every behaviour socket.io's official conformance
// suites check (the test-suite/ folders of socketio/engine.io-protocol
// and socketio/socket.io-protocol), run against `miniio serve
// -conformance`. The peers are made by hand, the way the suites' are:
// HTTP requests written with package httpwire (one TCP connection each,
// like a fetch), WebSocket frames with package websocket, and every
// answer read back as text.
//
// Two paths, as in the suites: /socket.io/ is the whole server, and
// /engine.io/ a bare Engine.IO session that sends every message back,
// the endpoint engine.io-protocol's suite talks to.
//
// The profile's heartbeat is fast (PING every 300 ms, 200 ms for the
// PONG, a CONNECT within 1 s), so a peer here answers each PING unless
// the test is about not answering. Waits are generous upper bounds; the
// only lower bounds are ones the server cannot beat (a ping timeout
// cannot come before the first PING was due).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"socklab/internal/httpwire"
	"socklab/internal/websocket"
)

// confWait bounds every wait for an answer.
const confWait = 5 * time.Second

// The two Engine.IO paths of the profile.
const (
	sioPath = "/socket.io/"
	eioPath = "/engine.io/"
)

type confServer struct {
	t    *testing.T
	srv  *serveProc
	port int
}

func startConformance(t *testing.T) *confServer {
	t.Helper()
	srv := startServer(t, "-conformance")
	return &confServer{t: t, srv: srv, port: srv.httpPort()}
}

func (cs *confServer) host() string { return "127.0.0.1:" + strconv.Itoa(cs.port) }

// ---- HTTP long-polling, one request per connection ----

type httpAnswer struct {
	status int
	body   string
}

// do sends one request and reads the answer. No t: it runs in goroutines
// too (two requests at once).
func (cs *confServer) do(method, target string, body []byte) (httpAnswer, error) {
	conn, err := net.Dial("tcp", cs.host())
	if err != nil {
		return httpAnswer{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(confWait))
	if _, err := conn.Write(httpwire.AppendRequest(nil, method, target, cs.host(), nil, body)); err != nil {
		return httpAnswer{}, err
	}
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		resp, n, err := httpwire.ParseResponse(buf, httpwire.Limits{})
		if err != nil {
			return httpAnswer{}, err
		}
		if n > 0 {
			rest := buf[n:]
			if resp.ContentLength < 0 {
				all, err := io.ReadAll(conn)
				if err != nil {
					return httpAnswer{}, err
				}
				return httpAnswer{resp.Status, string(append(rest, all...))}, nil
			}
			for int64(len(rest)) < resp.ContentLength {
				k, err := conn.Read(chunk)
				if err != nil {
					return httpAnswer{}, fmt.Errorf("body: %d of %d bytes, then %v", len(rest), resp.ContentLength, err)
				}
				rest = append(rest, chunk[:k]...)
			}
			return httpAnswer{resp.Status, string(rest[:resp.ContentLength])}, nil
		}
		k, err := conn.Read(chunk)
		if err != nil {
			return httpAnswer{}, fmt.Errorf("head (%q so far): %w", buf, err)
		}
		buf = append(buf, chunk[:k]...)
	}
}

func (cs *confServer) must(method, target string, body []byte) httpAnswer {
	cs.t.Helper()
	a, err := cs.do(method, target, body)
	if err != nil {
		cs.t.Fatalf("%s %s: %v", method, target, err)
	}
	return a
}

// openPolling opens a long-polling session on path and returns its sid,
// after checking the OPEN packet.
func (cs *confServer) openPolling(path string) string {
	cs.t.Helper()
	a := cs.must("GET", path+"?EIO=4&transport=polling", nil)
	if a.status != 200 || !strings.HasPrefix(a.body, "0") {
		cs.t.Fatalf("GET %s?EIO=4&transport=polling: %d %q, want 200 and OPEN", path, a.status, a.body)
	}
	open := checkOpen(cs.t, a.body, []string{"websocket"})
	return open.SID
}

func pollTarget(path, sid string) string {
	return path + "?EIO=4&transport=polling&sid=" + sid
}

// ---- WebSocket ----

type wsPeer struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
}

// dialWS does the opening handshake. A refusal comes back as the
// answer's status, with a nil peer.
func (cs *confServer) dialWS(target string) (*wsPeer, int) {
	cs.t.Helper()
	conn, err := net.Dial("tcp", cs.host())
	if err != nil {
		cs.t.Fatal(err)
	}
	cs.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(confWait))
	key := websocket.NewKey()
	if _, err := conn.Write(websocket.AppendClientRequest(nil, cs.host(), target, key, nil)); err != nil {
		cs.t.Fatal(err)
	}
	w := &wsPeer{t: cs.t, conn: conn}
	for {
		resp, n, err := httpwire.ParseResponse(w.buf, httpwire.Limits{})
		if err != nil {
			cs.t.Fatalf("GET %s: %v", target, err)
		}
		if n > 0 {
			w.buf = w.buf[n:]
			if resp.Status != 101 {
				return nil, resp.Status
			}
			if err := websocket.CheckResponse(&resp, key); err != nil {
				cs.t.Fatalf("GET %s: %v", target, err)
			}
			return w, 101
		}
		if err := w.fill(); err != nil {
			// Closed without an answer: a refusal too, with no status.
			return nil, 0
		}
	}
}

func (cs *confServer) mustWS(target string) *wsPeer {
	cs.t.Helper()
	w, status := cs.dialWS(target)
	if w == nil {
		cs.t.Fatalf("GET %s (WebSocket): answered %d, want 101", target, status)
	}
	return w
}

func (w *wsPeer) fill() error {
	chunk := make([]byte, 4096)
	n, err := w.conn.Read(chunk)
	w.buf = append(w.buf, chunk[:n]...)
	return err
}

// frame reads the next frame the server sent; io.EOF when the connection
// closed first.
func (w *wsPeer) frame(within time.Duration) (websocket.Opcode, []byte, error) {
	w.conn.SetReadDeadline(time.Now().Add(within))
	for {
		f, n, err := websocket.ParseFrame(w.buf, false, 2<<20)
		if err != nil {
			return 0, nil, err
		}
		if n > 0 {
			payload := append([]byte(nil), f.Payload...)
			w.buf = w.buf[n:]
			if !f.Fin {
				return 0, nil, errors.New("a fragmented message; the server sends one frame per packet")
			}
			return f.Opcode, payload, nil
		}
		if err := w.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// next is the next message, PINGs answered and skipped.
func (w *wsPeer) next() (websocket.Opcode, string) {
	w.t.Helper()
	for {
		op, p, err := w.frame(confWait)
		if err != nil {
			w.t.Fatalf("reading a message: %v", err)
		}
		if op == websocket.OpText && string(p) == "2" {
			w.send("3")
			continue
		}
		if op == websocket.OpClose {
			w.t.Fatalf("the server closed the WebSocket: %q", p)
		}
		return op, string(p)
	}
}

// text is the next message, which must be text.
func (w *wsPeer) text() string {
	w.t.Helper()
	op, p := w.next()
	if op != websocket.OpText {
		w.t.Fatalf("got a %v message %q, want text", op, p)
	}
	return p
}

func (w *wsPeer) expect(want string) {
	w.t.Helper()
	if got := w.text(); got != want {
		w.t.Fatalf("got %q, want %q", got, want)
	}
}

func (w *wsPeer) send(text string) {
	w.t.Helper()
	w.write(websocket.OpText, []byte(text))
}

func (w *wsPeer) write(op websocket.Opcode, payload []byte) {
	w.t.Helper()
	if _, err := w.conn.Write(websocket.AppendMaskedFrame(nil, true, op, websocket.NewMaskKey(), payload)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// expectClosed reads until the server ends the WebSocket (a close frame,
// or the connection just closing), answering nothing; what came before
// is returned.
func (w *wsPeer) expectClosed() []string {
	w.t.Helper()
	var seen []string
	for {
		op, p, err := w.frame(confWait)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return seen
		}
		if err != nil {
			w.t.Fatalf("waiting for the server to close (after %q): %v", seen, err)
		}
		if op == websocket.OpClose {
			return seen
		}
		seen = append(seen, string(p))
	}
}

// openWS opens a WebSocket session on path and checks its OPEN.
func (cs *confServer) openWS(path string) *wsPeer {
	cs.t.Helper()
	w := cs.mustWS(path + "?EIO=4&transport=websocket")
	op, p, err := w.frame(confWait)
	if err != nil || op != websocket.OpText {
		cs.t.Fatalf("first message: %v %q %v, want OPEN", op, p, err)
	}
	checkOpen(cs.t, string(p), []string{})
	return w
}

// ---- what every handshake must say ----

type openPacket struct {
	SID          string
	Upgrades     []string
	PingInterval int
	PingTimeout  int
	MaxPayload   int
}

// checkOpen checks an OPEN packet has the suites' fields and no others,
// with the profile's values.
func checkOpen(t *testing.T, text string, upgrades []string) openPacket {
	t.Helper()
	if !strings.HasPrefix(text, "0") {
		t.Fatalf("%q is not an OPEN packet", text)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text[1:]), &fields); err != nil {
		t.Fatalf("OPEN %q: %v", text, err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	if len(fields) != 5 {
		t.Errorf("OPEN %q has keys %v, want exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", text, keys)
	}
	var o openPacket
	var sid any
	json.Unmarshal(fields["sid"], &sid)
	json.Unmarshal([]byte(text[1:]), &o)
	want, _ := json.Marshal(upgrades)
	if s, ok := sid.(string); !ok || s == "" {
		t.Errorf("OPEN %q: sid is not a non-empty string", text)
	}
	if string(fields["upgrades"]) != string(want) {
		t.Errorf("OPEN %q: upgrades %s, want %s", text, fields["upgrades"], want)
	}
	if o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Errorf("OPEN %q: want pingInterval 300, pingTimeout 200, maxPayload 1000000", text)
	}
	return o
}

// ---- Engine.IO, on both paths ----

func TestConformanceEngineIO(t *testing.T) {
	cs := startConformance(t)
	for _, path := range []string{sioPath, eioPath} {
		t.Run(strings.Trim(path, "/"), func(t *testing.T) {
			c := *cs
			c.t = t
			testEngineIO(t, &c, path)
		})
	}
	cs.srv.checkNoPanic()
}

func testEngineIO(t *testing.T, cs *confServer, path string) {
	t.Run("polling handshake", func(t *testing.T) {
		c := *cs
		c.t = t
		c.openPolling(path)
	})
	t.Run("polling bad parameters", func(t *testing.T) {
		c := *cs
		c.t = t
		for _, bad := range []struct{ method, query string }{
			{"GET", "transport=polling"},         // no EIO
			{"GET", "EIO=abc&transport=polling"}, // EIO not a version
			{"GET", "EIO=3&transport=polling"},   // a version we do not speak
			{"GET", "EIO=4"},                     // no transport
			{"GET", "EIO=4&transport=abc"},       // an unknown one
			{"POST", "EIO=4&transport=polling"},  // a handshake is a GET
			{"PUT", "EIO=4&transport=polling"},
			{"GET", "EIO=4&transport=polling&sid=nosuchsession"},
		} {
			a := c.must(bad.method, path+"?"+bad.query, nil)
			if a.status != 400 {
				t.Errorf("%s %s?%s: %d %q, want 400", bad.method, path, bad.query, a.status, a.body)
			}
			var body struct {
				Code    *int
				Message string
			}
			if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.Code == nil || body.Message == "" {
				t.Errorf("%s %s?%s: body %q, want {\"code\":N,\"message\":\"…\"}", bad.method, path, bad.query, a.body)
			}
		}
	})
	t.Run("websocket handshake", func(t *testing.T) {
		c := *cs
		c.t = t
		c.openWS(path)
	})
	t.Run("websocket bad parameters", func(t *testing.T) {
		c := *cs
		c.t = t
		for _, query := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"} {
			if w, status := c.dialWS(path + "?" + query); w != nil || status != 400 {
				t.Errorf("WebSocket %s?%s: answered %d, want 400 and no upgrade", path, query, status)
			}
		}
	})
	t.Run("websocket heartbeat", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(path)
		if path == sioPath {
			w.send("40") // else the connect timeout (1 s) ends it between PINGs
		}
		start := time.Now()
		pings := 0
		for pings < 3 {
			op, p, err := w.frame(confWait)
			if err != nil || op == websocket.OpClose {
				t.Fatalf("after %d PINGs: %v %q %v", pings, op, p, err)
			}
			if string(p) == "2" {
				pings++
				w.send("3")
			}
		}
		if d := time.Since(start); d < 3*300*time.Millisecond*9/10 {
			t.Errorf("3 PINGs in %v; pingInterval is 300ms", d)
		}
	})
	t.Run("websocket ping timeout", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(path)
		start := time.Now()
		seen := w.expectClosed() // no PONG
		if d := time.Since(start); d < 450*time.Millisecond {
			t.Errorf("closed after %v, before a PING (300ms) could time out (200ms)", d)
		}
		if len(seen) == 0 || seen[0] != "2" {
			t.Errorf("before the close the server sent %q, want a PING", seen)
		}
	})
	t.Run("polling heartbeat", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		if path == sioPath {
			c.post(sid, path, "40")
		}
		for i := 0; i < 3; {
			a := c.must("GET", pollTarget(path, sid), nil)
			if a.status != 200 {
				t.Fatalf("poll %d: %d %q", i, a.status, a.body)
			}
			for _, p := range strings.Split(a.body, "\x1e") {
				if p == "2" {
					i++
					c.post(sid, path, "3")
				}
			}
		}
	})
	t.Run("polling ping timeout", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		time.Sleep(1500 * time.Millisecond) // PING due at 300 ms, PONG by 500 ms
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 400 {
			t.Errorf("a poll after the ping timeout: %d %q, want 400", a.status, a.body)
		}
	})
	t.Run("websocket forced close", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(path)
		w.send("1")
		w.expectClosed()
	})
	t.Run("polling forced close", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		poll := c.goDo("GET", pollTarget(path, sid), nil)
		time.Sleep(100 * time.Millisecond) // the GET waits in the server
		c.post(sid, path, "1")
		if a := c.wait(poll); a.status != 200 || a.body != "6" {
			t.Errorf("the waiting GET got %d %q, want 200 \"6\" (NOOP)", a.status, a.body)
		}
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 400 {
			t.Errorf("a poll after CLOSE: %d %q, want 400", a.status, a.body)
		}
	})
	t.Run("polling duplicate poll", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		first := c.goDo("GET", pollTarget(path, sid), nil)
		time.Sleep(100 * time.Millisecond)
		second := c.must("GET", pollTarget(path, sid)+"&t=burst", nil)
		if a := c.wait(first); a.status != 200 || a.body != "1" {
			t.Errorf("the first GET got %d %q, want 200 \"1\" (CLOSE)", a.status, a.body)
		}
		if second.status != 400 && second.status != 500 {
			t.Errorf("the second GET got %d %q, want 400", second.status, second.body)
		}
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 400 {
			t.Errorf("a poll after the duplicate: %d %q, want 400", a.status, a.body)
		}
	})
	t.Run("polling invalid packet", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		// The server answers 400 or just closes; either way the session ends.
		if a, err := c.do("POST", pollTarget(path, sid), []byte("abc")); err == nil && a.status != 400 {
			t.Errorf("POST \"abc\": %d %q, want 400", a.status, a.body)
		}
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 400 {
			t.Errorf("a poll after the bad packet: %d %q, want 400", a.status, a.body)
		}
	})
	t.Run("upgrade", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		w := c.mustWS(path + "?EIO=4&transport=websocket&sid=" + sid)
		w.send("2probe")
		w.expect("3probe")
		// The poll that waits (or the next one) is let go with a NOOP.
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 200 || a.body != "6" {
			t.Fatalf("the poll during the upgrade: %d %q, want 200 \"6\"", a.status, a.body)
		}
		w.send("5")
		c.checkSession(w, path)
	})
	t.Run("refusals after the upgrade", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(path)
		w := c.mustWS(path + "?EIO=4&transport=websocket&sid=" + sid)
		w.send("2probe")
		w.send("5")
		w.expect("3probe")
		if a := c.must("GET", pollTarget(path, sid), nil); a.status != 400 {
			t.Errorf("a poll after the upgrade: %d %q, want 400", a.status, a.body)
		}
		if a := c.must("POST", pollTarget(path, sid), []byte("3")); a.status != 400 {
			t.Errorf("a POST after the upgrade: %d %q, want 400", a.status, a.body)
		}
		// A second WebSocket with the sid: engine.io accepts the handshake
		// and closes the WebSocket at once, and the suites' client counts
		// on that (an HTTP 400 there is an uncaught error in their test).
		w2, status := c.dialWS(path + "?EIO=4&transport=websocket&sid=" + sid)
		if w2 == nil {
			t.Errorf("a second WebSocket with the upgraded sid was answered %d, want 101 and then a close", status)
		} else if seen := w2.expectClosed(); len(seen) > 0 {
			t.Errorf("a second WebSocket with the upgraded sid was sent %q", seen)
		}
		// The upgraded session is unharmed.
		c.checkSession(w, path)
	})
}

// checkSession checks an upgraded WebSocket carries the session: an echo
// on /engine.io/, a CONNECT on /socket.io/.
func (cs *confServer) checkSession(w *wsPeer, path string) {
	cs.t.Helper()
	if path == eioPath {
		w.send("4hello")
		w.expect("4hello")
		return
	}
	w.send("40")
	if p := w.text(); !strings.HasPrefix(p, `40{"sid":"`) {
		cs.t.Fatalf("CONNECT over the upgraded WebSocket answered %q", p)
	}
	w.expect(`42["auth",{}]`)
}

// post sends packets on a polling session; the answer must be 200 "ok".
func (cs *confServer) post(sid, path, payload string) {
	cs.t.Helper()
	if a := cs.must("POST", pollTarget(path, sid), []byte(payload)); a.status != 200 || a.body != "ok" {
		cs.t.Fatalf("POST %q: %d %q, want 200 \"ok\"", payload, a.status, a.body)
	}
}

type pending chan struct {
	a   httpAnswer
	err error
}

// goDo sends a request from another goroutine; wait has its answer.
func (cs *confServer) goDo(method, target string, body []byte) pending {
	ch := make(pending, 1)
	go func() {
		a, err := cs.do(method, target, body)
		ch <- struct {
			a   httpAnswer
			err error
		}{a, err}
	}()
	return ch
}

func (cs *confServer) wait(p pending) httpAnswer {
	cs.t.Helper()
	r := <-p
	if r.err != nil {
		cs.t.Fatalf("request: %v", r.err)
	}
	return r.a
}

// ---- the Engine.IO echo endpoint's messages ----

func TestConformanceEngineIOMessages(t *testing.T) {
	cs := startConformance(t)
	t.Run("websocket text", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(eioPath)
		w.send("4hello")
		w.expect("4hello")
		w.send("4héllo wörld")
		w.expect("4héllo wörld")
	})
	t.Run("websocket binary", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(eioPath)
		w.write(websocket.OpBinary, []byte{1, 2, 3, 4})
		if op, p := w.next(); op != websocket.OpBinary || p != "\x01\x02\x03\x04" {
			t.Errorf("binary echo: %v %q, want binary 01 02 03 04", op, p)
		}
	})
	t.Run("websocket invalid packet", func(t *testing.T) {
		c := *cs
		c.t = t
		w := c.openWS(eioPath)
		w.send("abc")
		w.expectClosed()
	})
	for _, payload := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="} {
		t.Run(fmt.Sprintf("polling payload %q", payload), func(t *testing.T) {
			c := *cs
			c.t = t
			sid := c.openPolling(eioPath)
			c.post(sid, eioPath, payload)
			if a := c.must("GET", pollTarget(eioPath, sid), nil); a.status != 200 || a.body != payload {
				t.Errorf("poll: %d %q, want 200 %q", a.status, a.body, payload)
			}
		})
	}
	cs.srv.checkNoPanic()
}

// ---- socket.io, on /socket.io/ over WebSocket ----

// connectSIO opens a WebSocket session and sends CONNECT, with the answer
// and the "auth" event checked.
func (cs *confServer) connectSIO() *wsPeer {
	cs.t.Helper()
	w := cs.openWS(sioPath)
	w.send("40")
	if p := w.text(); !strings.HasPrefix(p, `40{"sid":"`) {
		cs.t.Fatalf("CONNECT answered %q", p)
	}
	w.expect(`42["auth",{}]`)
	return w
}

func TestConformanceSocketIO(t *testing.T) {
	cs := startConformance(t)
	sub := func(name string, f func(t *testing.T, c *confServer)) {
		t.Run(name, func(t *testing.T) {
			c := *cs
			c.t = t
			f(t, &c)
		})
	}
	connects := []struct{ send, answer, auth string }{
		{"40", "40", `42["auth",{}]`},
		{`40{"token":"123"}`, "40", `42["auth",{"token":"123"}]`},
		{"40/custom,", "40/custom,", `42/custom,["auth",{}]`},
		{`40/custom,{"token":"abc"}`, "40/custom,", `42/custom,["auth",{"token":"abc"}]`},
	}
	for _, cn := range connects {
		sub("connect "+cn.send, func(t *testing.T, c *confServer) {
			w := c.openWS(sioPath)
			w.send(cn.send)
			p := w.text()
			rest, ok := strings.CutPrefix(p, cn.answer)
			var hs map[string]any
			if !ok || json.Unmarshal([]byte(rest), &hs) != nil || len(hs) != 1 || hs["sid"] == nil || hs["sid"] == "" {
				t.Fatalf("%s answered %q, want %s{\"sid\":\"…\"} and nothing else", cn.send, p, cn.answer)
			}
			if _, ok := hs["sid"].(string); !ok {
				t.Fatalf("%s answered %q: sid is not a string", cn.send, p)
			}
			w.expect(cn.auth)
		})
	}
	sub("unknown namespace", func(t *testing.T, c *confServer) {
		for _, send := range []string{"40/random", "40/random,"} {
			w := c.openWS(sioPath)
			w.send(send)
			w.expect(`44/random,{"message":"Invalid namespace"}`)
		}
	})
	sub("invalid handshake", func(t *testing.T, c *confServer) {
		w := c.openWS(sioPath)
		w.send("4abc")
		w.expectClosed()
	})
	sub("no handshake", func(t *testing.T, c *confServer) {
		w := c.openWS(sioPath)
		start := time.Now()
		// PINGs answered, so that only the connect timeout (1 s) can end it.
		for {
			op, p, err := w.frame(confWait)
			if err != nil || op == websocket.OpClose {
				break
			}
			if string(p) == "2" {
				w.send("3")
			}
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("closed after %v, before the connect timeout (1s)", d)
		}
	})
	sub("disconnect from the main namespace keeps the session", func(t *testing.T, c *confServer) {
		// socket.io leaves the Engine.IO session open: the PINGs go on.
		w := c.connectSIO()
		w.send("41")
		op, p, err := w.frame(confWait)
		if err != nil || op != websocket.OpText || string(p) != "2" {
			t.Fatalf("after 41 the server sent %v %q (%v), want a PING: the session lives on", op, p, err)
		}
	})
	sub("multiplexing", func(t *testing.T, c *confServer) {
		w := c.connectSIO()
		w.send("40/custom") // no comma: the namespace ends with the packet
		if p := w.text(); !strings.HasPrefix(p, `40/custom,{"sid":"`) {
			t.Fatalf("CONNECT to /custom answered %q", p)
		}
		w.expect(`42/custom,["auth",{}]`)
		w.send(`42["message","to main"]`)
		w.expect(`42["message-back","to main"]`)
		w.send("41/custom")
		w.send(`42["message","message to main namespace"]`)
		w.expect(`42["message-back","message to main namespace"]`)
		// /custom is gone, "/" is not.
		w.send(`42/custom,["message","x"]`)
		w.expectClosed()
	})
	sub("event", func(t *testing.T, c *confServer) {
		w := c.connectSIO()
		w.send(`42["message",1,"2",{"3":[true]}]`)
		w.expect(`42["message-back",1,"2",{"3":[true]}]`)
	})
	sub("event with an ack", func(t *testing.T, c *confServer) {
		w := c.connectSIO()
		w.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
		w.expect(`43456[1,"2",{"3":[false]}]`)
	})
	binary := []struct{ name, send, answer string }{
		{"binary event", `452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{"binary event with an ack", `452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			`462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	}
	for _, b := range binary {
		sub(b.name, func(t *testing.T, c *confServer) {
			w := c.connectSIO()
			w.send(b.send)
			w.write(websocket.OpBinary, []byte{1, 2, 3})
			w.write(websocket.OpBinary, []byte{4, 5, 6})
			w.expect(b.answer)
			for _, want := range []string{"\x01\x02\x03", "\x04\x05\x06"} {
				if op, p := w.next(); op != websocket.OpBinary || p != want {
					t.Fatalf("attachment: %v %q, want binary %q", op, p, want)
				}
			}
		})
	}
	for _, bad := range []struct{ name, send string }{
		{"unknown packet type", "4abc"},
		{"invalid payload format", "42{}"},
		{"invalid ack id", `42abc["message-with-ack",1,"2",{"3":[false]}]`},
	} {
		sub("invalid format: "+bad.name, func(t *testing.T, c *confServer) {
			w := c.connectSIO()
			w.send(bad.send)
			if seen := w.expectClosed(); len(seen) > 0 && !onlyPings(seen) {
				t.Errorf("%q was answered with %q before the close", bad.send, seen)
			}
		})
	}
	cs.srv.checkNoPanic()
}

func onlyPings(seen []string) bool {
	for _, s := range seen {
		if s != "2" {
			return false
		}
	}
	return true
}

// ---- socket.io over long-polling ----

// pollUntil polls the session, answering PINGs, until it has seen every
// packet in want (in any order across payloads; in order within one
// kind), and returns all it saw.
func (cs *confServer) pollUntil(sid string, want ...string) []string {
	cs.t.Helper()
	var seen []string
	deadline := time.Now().Add(confWait)
	missing := func() []string {
		var m []string
		for _, w := range want {
			found := false
			for _, s := range seen {
				if s == w || strings.HasSuffix(w, "…") && strings.HasPrefix(s, strings.TrimSuffix(w, "…")) {
					found = true
					break
				}
			}
			if !found {
				m = append(m, w)
			}
		}
		return m
	}
	for len(missing()) > 0 {
		if time.Now().After(deadline) {
			cs.t.Fatalf("polled %q; still missing %q", seen, missing())
		}
		a := cs.must("GET", pollTarget(sioPath, sid), nil)
		if a.status != 200 {
			cs.t.Fatalf("poll: %d %q (seen %q)", a.status, a.body, seen)
		}
		for _, p := range strings.Split(a.body, "\x1e") {
			if p == "2" {
				cs.post(sid, sioPath, "3")
				continue
			}
			seen = append(seen, p)
		}
	}
	return seen
}

func TestConformanceSocketIOPolling(t *testing.T) {
	cs := startConformance(t)
	t.Run("several packets in one payload", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(sioPath)
		c.post(sid, sioPath, "40\x1e"+`42["message","a"]`+"\x1e"+`421["message-with-ack","b"]`)
		seen := c.pollUntil(sid, `40{"sid":"…`, `42["auth",{}]`, `42["message-back","a"]`, `431["b"]`)
		if !strings.HasPrefix(seen[0], "40") {
			t.Errorf("the first packet polled is %q, want the CONNECT answer", seen[0])
		}
	})
	t.Run("binary in a payload", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(sioPath)
		c.post(sid, sioPath, "40")
		c.pollUntil(sid, `40{"sid":"…`, `42["auth",{}]`)
		c.post(sid, sioPath, `451-["message",{"_placeholder":true,"num":0}]`+"\x1ebAQIDBA==")
		seen := c.pollUntil(sid, `451-["message-back",{"_placeholder":true,"num":0}]`, "bAQIDBA==")
		if got := strings.Join(seen, "\x1e"); !strings.Contains(got, `451-["message-back",{"_placeholder":true,"num":0}]`+"\x1ebAQIDBA==") {
			t.Errorf("polled %q: the attachment must follow its packet", seen)
		}
	})
	t.Run("binary ack in a payload", func(t *testing.T) {
		c := *cs
		c.t = t
		sid := c.openPolling(sioPath)
		c.post(sid, sioPath, "40")
		c.pollUntil(sid, `40{"sid":"…`, `42["auth",{}]`)
		c.post(sid, sioPath, `451-7["message-with-ack",{"_placeholder":true,"num":0}]`+"\x1ebAQIDBA==")
		c.pollUntil(sid, `461-7[{"_placeholder":true,"num":0}]`, "bAQIDBA==")
	})
	cs.srv.checkNoPanic()
}

// Without -conformance there is no echo endpoint, and the demo's timings.
func TestConformanceProfileIsOptIn(t *testing.T) {
	srv := startServer(t)
	cs := &confServer{t: t, srv: srv, port: srv.httpPort()}
	if a := cs.must("GET", eioPath+"?EIO=4&transport=polling", nil); a.status != 404 {
		t.Errorf("GET %s without -conformance: %d %q, want 404", eioPath, a.status, a.body)
	}
	a := cs.must("GET", sioPath+"?EIO=4&transport=polling", nil)
	if a.status != 200 || strings.Contains(a.body, `"pingInterval":300,`) {
		t.Errorf("GET %s without -conformance: %d %q, want the default timings", sioPath, a.status, a.body)
	}
}
