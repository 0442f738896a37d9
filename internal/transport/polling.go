package transport

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"time"

	"socklab/internal/httpwire"
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// HTTP long-polling: Engine.IO's first transport, the one every
// socket.io client starts with because it works wherever plain HTTP does.
//
//	GET  /socket.io/?EIO=4&transport=polling            → 0{"sid":"…","upgrades":["websocket"],…}   a session opens
//	GET  /socket.io/?EIO=4&transport=polling&sid=…      → waits until the server has packets: 2␞42["chat","hi"]
//	POST /socket.io/?EIO=4&transport=polling&sid=…      ← 3␞42["chat","ho"]   → ok
//
// A session is not a connection. Its requests may come on one keep-alive
// connection or on a new connection each; a GET may wait on one while a
// POST goes out on another. So the session lives in a map keyed by its
// sid, and the layer above sees it as one *Conn whose envelope is a
// queue: Send appends a packet to it, and the waiting GET (if any) takes
// everything queued as one payload. The sid authorises every request of
// the session, so it is a secret: 120 random bits from crypto/rand, and
// not the id the programs see (the server makes those separately).
//
// Its own timeout: a session that has no GET waiting for
// SessionTimeout (pingInterval + pingTimeout) is over. The server's
// PING and the client's PONG ride in the payloads like any packet.
//
// The upgrade, while the session polls (pollProbe below):
//
//	WebSocket with sid=… → 101;  ← 2probe  → 3probe;  the waiting GET gets 6 (NOOP)
//	← 5 (UPGRADE): the session's *Conn now sends on the WebSocket; the
//	WebSocket's own *Conn reads, and reports to the same layer-above state
//
// After the upgrade the sid answers no HTTP request (400). A second
// WebSocket with it (or a second probe while one is under way) gets 101
// and is closed at once, as engine.io does: socket.io's clients, and the
// official test suites, expect a WebSocket there, not an HTTP error.
//
// When a session ends its sid is forgotten at once: a later GET or POST
// gets 400 "Session ID unknown". A GET that waits at that moment takes
// the CLOSE packet. The one exception is a calm close by the server (a
// disconnect, a refused CONNECT): its last packets wait for the next GET,
// as engine.io's do (see pollClose).
//
// The CLOSE packet goes out as plain `1`, as engine.io sends it: the
// suites compare bytes, and socket.io's clients read no reason there.
// The reason is in the server's log (pollEnd's note, the layer above's
// own); miniio's TCP frames keep `1{"reason":…}`.

// HTTPOptions are the HTTP listener's settings beyond WebSocket: the
// long-polling sessions' timeout, the origins allowed by CORS, and the
// pages it serves besides /socket.io/.
type HTTPOptions struct {
	// SessionTimeout ends a long-polling session that has had no GET
	// waiting for this long (socket.io: pingInterval + pingTimeout).
	SessionTimeout time.Duration
	// CORSOrigins are the origins ("http://localhost:8080") whose pages
	// may talk to the server from another origin; empty: none.
	CORSOrigins []string
	// Page answers a GET outside /socket.io/ and /socket.io/ paths that
	// are files (the client bundle): status 0 means no such page (404).
	Page func(path string) (status int, contentType string, body []byte)
}

// DefaultSessionTimeout is socket.io's pingInterval + pingTimeout.
const DefaultSessionTimeout = 45 * time.Second

// SetHTTP sets the HTTP options; before Serve.
func (t *Transport) SetHTTP(o HTTPOptions) {
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	t.http = o
}

// pollSession is one long-polling session.
type pollSession struct {
	sid    string
	conn   *Conn        // what the layer above knows as the connection
	queue  []pollOut    // packets waiting for a GET
	queued int          // their bytes
	get    *Conn        // the HTTP connection whose GET waits; nil: none
	post   *Conn        // the HTTP connection whose POST body is coming
	timer  Stopper      // SessionTimeout while no GET waits
	probe  *Conn        // a WebSocket that asked to take over the session
	probed bool         // it sent 2probe and got 3probe
	state  sessionState //
	reason string       // why it ended
}

type sessionState int

const (
	sessionPolling  sessionState = iota
	sessionClosing               // the layer above closed it: the next GET takes the CLOSE packet
	sessionUpgraded              // the WebSocket carries it
	sessionEnded
)

type pollOut struct {
	p      *Packet
	binary bool
}

// httpExchange is the request an HTTP connection is in the middle of:
// a GET waiting for packets, or a POST whose body is coming.
type httpExchange struct {
	sess      *pollSession
	post      bool
	body      []byte // the POST body so far, in a buffer of Content-Length
	timer     Stopper
	keepAlive bool
	origin    string
	early     []byte // bytes that came while the GET waited (a pipelined request)
}

// Polling says whether the connection is a long-polling session (also
// after its upgrade to WebSocket: the layer above keeps the same *Conn).
func (c *Conn) Polling() bool { return c.poll != nil }

// SID is the Engine.IO session id the transport made for a long-polling
// session (the OPEN packet must carry it); "" for other connections,
// whose OPEN sid the layer above makes itself.
func (c *Conn) SID() string {
	if c.poll == nil {
		return ""
	}
	return c.poll.sid
}

// newSID makes a session id: 15 random bytes, 20 URL-safe characters.
func newSID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// route takes the requests on the HTTP port that are not a plain
// WebSocket handshake: long-polling, the upgrade of a polling session,
// CORS preflights and the pages. It reports whether it took the request;
// if not, checkHandshake answers it as before. rest is what followed
// the head in buf.
func (t *Transport) route(c *Conn, req *httpwire.Request, rest []byte) bool {
	origin, _ := req.Header("Origin")
	if !t.enginePath(c, req.Path()) || (req.Method == "GET" && req.RawQuery() == "") {
		if t.http.Page == nil || (req.Method != "GET" && req.Method != "HEAD") {
			return false
		}
		status, ctype, body := t.http.Page(req.Path())
		if status == 0 {
			return false
		}
		if req.Method == "HEAD" {
			body = nil
		}
		t.httpBegin(c, req, rest)
		t.answer(c, status, ctype, body)
		return true
	}
	if req.Method == "OPTIONS" {
		// A CORS preflight: the browser asks before a cross-origin POST.
		t.httpBegin(c, req, rest)
		t.answer(c, 204, "", nil)
		return true
	}
	q, err := httpwire.ParseQuery(req.RawQuery())
	if err != nil {
		return false // checkHandshake says 400 Bad request
	}
	transport, _ := q.Get("transport")
	sid, hasSID := q.Get("sid")
	switch {
	case transport == "websocket" && q.Count("transport") == 1 && hasSID:
		t.upgradeRequest(c, req, q, sid, rest)
		return true
	case transport != "polling":
		return false // a WebSocket handshake, or Transport unknown
	}
	// Engine.IO's checks, in its order: a session's requests by their
	// sid; a handshake by its method, then its protocol version.
	if q.Count("transport") != 1 || q.Count("sid") > 1 {
		t.pollRefuse(c, origin, 3, "Bad request", "transport and sid may each appear once")
		return true
	}
	if !hasSID {
		v, _ := q.Get("EIO")
		switch {
		case req.Method != "GET":
			t.pollRefuse(c, origin, 2, "Bad handshake method", req.Method+" cannot open a session")
		case v != "4":
			t.pollRefuse(c, origin, 5, "Unsupported protocol version", "EIO "+strconv.Quote(v))
		default:
			t.httpBegin(c, req, rest)
			t.pollOpen(c)
		}
		return true
	}
	sess := t.sessions[sid]
	switch {
	case sess == nil || sess.state == sessionEnded:
		t.pollRefuse(c, origin, 1, "Session ID unknown", "no session "+strconv.Quote(sid))
	case sess.state == sessionUpgraded:
		t.pollRefuse(c, origin, 3, "Bad request", "the session was upgraded to WebSocket")
	case req.Method == "GET":
		t.httpBegin(c, req, rest)
		t.pollGet(c, sess)
	case req.Method == "POST":
		t.httpBegin(c, req, rest)
		t.pollPost(c, sess, int(req.ContentLength))
	default:
		t.pollRefuse(c, origin, 2, "Bad handshake method", req.Method+" is neither GET nor POST")
	}
	return true
}

// httpBegin makes c's exchange for a request it will answer itself.
func (t *Transport) httpBegin(c *Conn, req *httpwire.Request, rest []byte) {
	origin, _ := req.Header("Origin")
	c.hx = &httpExchange{keepAlive: req.KeepAlive, origin: origin}
	stop(&c.ws.headTimer)
	c.ws.head = nil
	if len(rest) > 0 {
		c.hx.early = append([]byte(nil), rest...)
	}
	t.hold(c, len(c.hx.early))
}

// pollRefuse answers a polling request socket.io's way, 400 with
// {"code":N,"message":"…"}, and closes the connection.
func (t *Transport) pollRefuse(c *Conn, origin string, code int, message, why string) {
	body := fmt.Appendf(nil, `{"code":%d,"message":%q}`, code, message)
	headers := append(t.cors(origin), httpwire.Header{Name: "Content-Type", Value: "application/json"},
		httpwire.Header{Name: "Connection", Value: "close"})
	t.refuseHTTP(c, httpwire.AppendResponse(nil, 400, headers, body), 400, why)
}

// cors is the CORS answer for a request from origin: the origin itself
// when it is allowed (never "*": the client sends its cookies), nothing
// otherwise, and then the browser refuses to hand the answer to the page.
func (t *Transport) cors(origin string) []httpwire.Header {
	if origin == "" || !slices.Contains(t.http.CORSOrigins, origin) {
		return nil
	}
	return []httpwire.Header{
		{Name: "Access-Control-Allow-Origin", Value: origin},
		{Name: "Access-Control-Allow-Credentials", Value: "true"},
		{Name: "Access-Control-Allow-Methods", Value: "GET, POST"},
		{Name: "Access-Control-Allow-Headers", Value: "Content-Type"},
		{Name: "Vary", Value: "Origin"},
	}
}

// answer ends c's exchange with a whole answer; the connection then
// waits for its next request (keep-alive), or closes.
func (t *Transport) answer(c *Conn, status int, ctype string, body []byte) {
	hx := c.hx
	headers := t.cors(hx.origin)
	if ctype != "" {
		headers = append(headers, httpwire.Header{Name: "Content-Type", Value: ctype})
	}
	if !hx.keepAlive {
		headers = append(headers, httpwire.Header{Name: "Connection", Value: "close"})
	}
	out := httpwire.AppendResponse(nil, status, headers, body)
	if t.opts.OnHTTP != nil {
		shown := out
		if len(body) > 1024 { // a page: its head is the news
			shown = out[:len(out)-len(body)]
		}
		t.opts.OnHTTP(c, true, shown)
	}
	err := c.link.Write(out)
	stop(&hx.timer)
	c.hx = nil
	if err != nil {
		// Past the loop's hard cap on queued output: a client that sends
		// requests and never reads their answers.
		c.closing = true
		t.release(c)
		c.link.Abort()
		return
	}
	if !hx.keepAlive {
		c.closing = true
		t.release(c)
		c.link.Close()
		return
	}
	t.hold(c, 0)
	t.idle(c)
	if len(hx.early) > 0 {
		// A pipelined request: it becomes the start of the next head,
		// read on the loop's next turn, not now (answer may run inside a
		// handler of the layer above, which must not be re-entered).
		// Bytes that come meanwhile go behind it, in order.
		c.ws.head = hx.early
		t.hold(c, cap(c.ws.head))
		t.loop.Post(func() {
			if !c.closing && c.hx == nil && !c.ws.upgraded && len(c.ws.head) > 0 {
				t.wsData(c, []byte{})
			}
		})
	}
}

// idle waits for the next request on a keep-alive connection: one that
// sends nothing for HeadTimeout is closed quietly (a browser opens a new
// one), one that sends part of a head gets 408.
func (t *Transport) idle(c *Conn) {
	timeout := t.opts.HeadTimeout
	c.ws.headTimer = t.loop.AfterFunc(timeout, func() {
		c.ws.headTimer = nil
		if c.closing || c.hx != nil || c.ws.upgraded {
			return
		}
		if len(c.ws.head) == 0 {
			c.closing = true
			t.release(c)
			c.link.Close()
			return
		}
		reason := fmt.Sprintf("no whole request head within %v", timeout)
		t.refuseHTTP(c, httpwire.AppendError(nil, 408, reason), 408, reason)
	})
}

// pollOpen opens a session for c's GET and answers with OPEN.
func (t *Transport) pollOpen(c *Conn) {
	sess := &pollSession{sid: newSID()}
	for t.sessions[sess.sid] != nil {
		sess.sid = newSID()
	}
	sc := &Conn{t: t, fd: c.fd, peer: c.peer, poll: sess, opened: true, echo: c.echo}
	sess.conn = sc
	if t.sessions == nil {
		t.sessions = make(map[string]*pollSession)
	}
	t.sessions[sess.sid] = sess
	c.hx.sess = sess
	sess.get = c
	t.note(c, "a long-polling session opened")
	t.h.Opened(sc) // OPEN is queued, and goes out as the answer
	if sess.get == c && len(sess.queue) > 0 {
		t.pollFlush(sess)
	}
}

// pollGet holds c's GET until the session has packets.
func (t *Transport) pollGet(c *Conn, sess *pollSession) {
	c.hx.sess = sess
	if sess.get != nil {
		// Two GETs at once: socket.io ends the session ("overlap from
		// client"); the first GET takes the CLOSE packet.
		t.pollRefuse(c, c.hx.origin, 3, "Bad request", "a second GET while one waits")
		c.hx = nil
		t.h.Refused(sess.conn, wire.ReasonTransportError+": overlap from client (two GET requests at once)")
		return
	}
	sess.get = c
	stop(&sess.timer)
	switch {
	case len(sess.queue) > 0:
		t.pollFlush(sess)
	case sess.probed:
		t.pollNoop(sess) // the upgrade is on its way: do not hold the GET
	case sess.state != sessionPolling:
		t.pollEnd(sess, sess.endReason())
	}
}

// pollPost reads a POST's body (its length was checked against
// maxPayload with the head: 413), within FrameTimeout.
func (t *Transport) pollPost(c *Conn, sess *pollSession, length int) {
	c.hx.sess, c.hx.post = sess, true
	if sess.post != nil {
		t.pollRefuse(c, c.hx.origin, 3, "Bad request", "a second POST while one is read")
		c.hx = nil
		t.h.Refused(sess.conn, wire.ReasonTransportError+": data request overlap from client (two POST requests at once)")
		return
	}
	sess.post = c
	early := c.hx.early
	c.hx.early = nil
	c.hx.body = make([]byte, 0, length)
	if !t.hold(c, length) {
		return
	}
	timeout := t.opts.FrameTimeout
	hx := c.hx
	hx.timer = t.loop.AfterFunc(timeout, func() {
		hx.timer = nil
		if c.hx == hx && !c.closing {
			if sess.post == c {
				sess.post = nil
			}
			reason := fmt.Sprintf("%d of the body's %d bytes came within %v", len(hx.body), cap(hx.body), timeout)
			t.refuseHTTP(c, httpwire.AppendError(nil, 408, reason), 408, reason)
		}
	})
	t.httpData(c, early)
}

// httpData takes bytes that came during an exchange: a POST's body, or
// a pipelined request behind a waiting GET.
func (t *Transport) httpData(c *Conn, in []byte) {
	hx := c.hx
	if !hx.post {
		if len(hx.early)+len(in) > maxHead {
			t.refuseHTTP(c, httpwire.AppendError(nil, 400, "a request sent behind a waiting GET is too long"), 400, "pipelined request too long")
			return
		}
		hx.early = append(hx.early, in...)
		t.hold(c, cap(hx.early))
		return
	}
	k := min(cap(hx.body)-len(hx.body), len(in))
	hx.body = append(hx.body, in[:k]...)
	if len(hx.body) < cap(hx.body) {
		return
	}
	hx.early = append(hx.early, in[k:]...)
	t.pollPayload(c, hx)
}

// pollPayload hands a whole POST body's packets to the layer above and
// answers "ok".
func (t *Transport) pollPayload(c *Conn, hx *httpExchange) {
	sess := hx.sess
	sess.post = nil
	stop(&hx.timer)
	packets, err := wire.SplitPayload(nil, hx.body, t.opts.MaxPayload, 0)
	if err != nil {
		t.pollRefuse(c, hx.origin, 3, "Bad request", err.Error())
		if sess.state == sessionPolling {
			t.h.Refused(sess.conn, wire.ReasonParseError+": "+err.Error())
		}
		return
	}
	// Delivered after an upgrade too: a POST sent before UPGRADE may be
	// read after it (the client waits for it before it upgrades, but the
	// server may read the two connections in either order).
	if sess.state == sessionPolling || sess.state == sessionUpgraded {
		sc := sess.conn
		for _, p := range packets {
			if sc.closing {
				break
			}
			if p.Binary {
				t.attachment(sc, p.Data)
			} else {
				t.h.Packet(sc, p.Data)
			}
		}
	}
	if !c.closing {
		t.answer(c, 200, "text/html", []byte("ok"))
	}
}

// attacher is the layer above when it takes binary attachments (the
// server's Attachment; see server_conn.go).
type attacher interface{ Attachment(c *Conn, data []byte) }

func (t *Transport) attachment(c *Conn, data []byte) {
	if a, ok := t.h.(attacher); ok { // openedOnly is one
		a.Attachment(c, data)
		return
	}
	t.h.Refused(c, wire.ReasonProtocolError+": binary packets are not supported")
}

// pollSend queues a packet for the session's next GET, and answers the
// GET at once if one waits (as engine.io does).
func (c *Conn) pollSend(p *Packet, binary bool) error {
	sess := c.poll
	if sess.state == sessionEnded {
		return nil
	}
	if p.close {
		sess.reason = p.reason
		p = NewPacket(wire.AppendClose(nil, ""))
	}
	sess.queue = append(sess.queue, pollOut{p: p, binary: binary})
	sess.queued += p.Len()
	if sess.get != nil && !sess.get.closing {
		c.t.pollFlush(sess)
	}
	return nil
}

// pollSendBinary queues p's bytes as one binary packet (`b` + base64 in
// the payload). The layer above reaches it through Conn.SendBinary.
func (c *Conn) pollSendBinary(p *Packet) error { return c.pollSend(p, true) }

// pollFlush answers the waiting GET with every queued packet.
func (t *Transport) pollFlush(sess *pollSession) {
	c := sess.get
	packets := make([]wire.PollPacket, 0, len(sess.queue))
	for _, o := range sess.queue {
		packets = append(packets, wire.PollPacket{Binary: o.binary, Data: o.p.Text()})
	}
	sess.queue, sess.queued = nil, 0
	body, err := wire.AppendPayload(nil, packets...)
	if err != nil {
		t.note(c, "packets dropped: %v", err)
		body = wire.AppendNoop(nil)
	}
	t.pollAnswered(sess)
	t.answer(c, 200, "text/plain; charset=UTF-8", body)
	if sess.state == sessionClosing {
		t.pollEnd(sess, sess.endReason())
	}
}

// pollNoop releases the waiting GET with NOOP (6): during the upgrade,
// so that no packet is stuck in a GET the client has given up on.
func (t *Transport) pollNoop(sess *pollSession) {
	c := sess.get
	t.pollAnswered(sess)
	t.answer(c, 200, "text/plain; charset=UTF-8", wire.AppendNoop(nil))
}

// pollAnswered: no GET waits any more; the session's timeout runs.
func (t *Transport) pollAnswered(sess *pollSession) {
	sess.get = nil
	if sess.timer == nil && sess.state != sessionUpgraded && sess.state != sessionEnded {
		timeout := t.http.SessionTimeout
		if timeout <= 0 {
			timeout = DefaultSessionTimeout
		}
		sess.timer = t.loop.AfterFunc(timeout, func() {
			sess.timer = nil
			switch sess.state {
			case sessionPolling:
				t.h.Refused(sess.conn, fmt.Sprintf("%s: no poll request within %v", wire.ReasonPingTimeout, timeout))
			case sessionClosing:
				t.pollEnd(sess, sess.endReason())
			}
		})
	}
}

// pollClose is Close for a session: the CLOSE packet the layer above
// queued goes out to the GET that waits, if one does; if none waits, a
// session that ends in error is forgotten at once (endsAtOnce), and a
// calm close waits for the next GET, or for its timeout. It reports false after
// the upgrade: the WebSocket is closed the usual way.
func (c *Conn) pollClose(abort bool) bool {
	sess := c.poll
	t := c.t
	if sess.state == sessionUpgraded {
		if r := sess.probe; r != nil {
			r.closing = true
			t.release(r)
		}
		return false
	}
	c.closing = true
	reason := sess.endReason()
	switch {
	case sess.state == sessionEnded:
	case abort:
		t.pollEnd(sess, reason)
	case sess.get != nil:
		sess.state = sessionClosing
		t.pollFlush(sess)
	case len(sess.queue) == 0:
		t.pollEnd(sess, reason) // the CLOSE packet went out already
	case endsAtOnce(reason):
		// An error ends a session at once, as in engine.io (its onError
		// closes without waiting for a GET): the queued packets are
		// dropped and the sid is forgotten, so a later poll gets 400.
		t.pollEnd(sess, reason)
	default:
		sess.state = sessionClosing
		if sess.timer == nil {
			t.pollAnswered(sess)
		}
	}
	return true
}

// endReason is why the session ends, for the log: the reason of the
// CLOSE packet the layer above sent, if it sent one.
func (sess *pollSession) endReason() string {
	if sess.reason == "" {
		return wire.ReasonTransportClose
	}
	return sess.reason
}

// endsAtOnce says whether a session that ends for reason is forgotten
// at once (an error, which engine.io handles in onError) rather than
// kept until the next GET takes its last packets (a calm close, which
// engine.io's close() lets drain).
func endsAtOnce(reason string) bool {
	for _, prefix := range []string{wire.ReasonPingTimeout, wire.ReasonParseError,
		wire.ReasonProtocolError, wire.ReasonTransportError, wire.ReasonTooLarge,
		wire.ReasonFrameTimeout, wire.ReasonInputBudget, wire.ReasonSlowConsumer} {
		if hasPrefix(reason, prefix) {
			return true
		}
	}
	return false
}

// pollEnd ends a session: out of the map, its requests answered or
// closed, and the layer above told (after this turn, as for a TCP
// connection that closes).
func (t *Transport) pollEnd(sess *pollSession, reason string) {
	if sess.state == sessionEnded {
		return
	}
	sess.state = sessionEnded
	delete(t.sessions, sess.sid)
	stop(&sess.timer)
	sess.queue, sess.queued = nil, 0
	if c := sess.get; c != nil {
		sess.get = nil
		t.answer(c, 200, "text/plain; charset=UTF-8", wire.AppendClose(nil, ""))
	}
	if r := sess.probe; r != nil && !r.closing {
		r.wsClose(websocket.CloseNormal, "")
	}
	sc := sess.conn
	sc.closing = true
	t.note(sc, "a long-polling session ended: %s", reason)
	t.loop.Post(func() {
		if sc.opened {
			sc.opened = false
			t.h.Closed(sc, reason)
		}
	})
}

// pollHangup: the loop closed c, an HTTP connection of the HTTP port.
func (t *Transport) pollHangup(c *Conn) {
	if hx := c.hx; hx != nil {
		stop(&hx.timer)
		c.hx = nil
		if sess := hx.sess; sess != nil {
			if sess.get == c {
				t.pollAnswered(sess) // the client gave up on its GET; the packets stay queued
			}
			if sess.post == c {
				sess.post = nil
			}
		}
	}
	if sess := c.probe; sess != nil && sess.probe == c {
		if sess.state == sessionUpgraded {
			// The session's WebSocket is gone: the layer above hears it
			// from this connection (it reports for the session since the
			// upgrade).
			sess.conn.closing = true
			sess.state = sessionEnded
			delete(t.sessions, sess.sid)
			return
		}
		sess.probe, sess.probed = nil, false
	}
}

// upgradeRequest is a WebSocket that wants to take over a polling
// session: checked, answered with 101, and then a probe until UPGRADE.
func (t *Transport) upgradeRequest(c *Conn, req *httpwire.Request, q httpwire.Query, sid string, rest []byte) {
	sess := t.sessions[sid]
	switch v, _ := q.Get("EIO"); {
	case v != "4":
		t.refuseHTTP(c, engineError(5, "Unsupported protocol version"), 400, "EIO "+strconv.Quote(v))
		return
	case sess == nil || sess.state == sessionEnded:
		t.refuseHTTP(c, engineError(1, "Session ID unknown"), 400, "no session "+strconv.Quote(sid))
		return
	case sess.state != sessionPolling && sess.state != sessionUpgraded:
		t.refuseHTTP(c, engineError(1, "Session ID unknown"), 400, "the session is closing")
		return
	}
	key, herr := websocket.CheckRequest(req)
	if herr != nil {
		t.refuseHTTP(c, herr.Append(nil), herr.Status, herr.Reason)
		return
	}
	accept := websocket.AppendAccept(nil, key, nil)
	if t.opts.OnHTTP != nil {
		t.opts.OnHTTP(c, true, accept)
	}
	c.link.Write(accept)
	ws := c.ws
	ws.upgraded = true
	stop(&ws.headTimer)
	if sess.state == sessionUpgraded || sess.probe != nil {
		// engine.io's answer to a WebSocket for a session that has one
		// (or is probing one): 101, then a close at once.
		ws.head = nil
		why := "the session was upgraded already"
		if sess.state != sessionUpgraded {
			why = "the session is being upgraded already"
		}
		t.note(c, "a second WebSocket for a long-polling session: %s", why)
		c.wsClose(websocket.CloseNormal, why)
		return
	}
	if len(rest) > 0 {
		rest = append([]byte(nil), rest...)
	}
	ws.head = nil
	t.hold(c, c.waitingCap())
	c.probe = sess
	sess.probe = c
	t.note(c, "a WebSocket for a long-polling session: probing")
	if len(rest) > 0 {
		t.wsFrames(c, rest)
	}
}

// pollProbe handles a text message on a WebSocket that is taking over a
// session, before its UPGRADE.
func (t *Transport) pollProbe(c *Conn, text []byte) {
	sess := c.probe
	switch {
	case sess.probe != c || sess.state != sessionPolling:
		c.wsClose(websocket.CloseNormal, "")
	case string(text) == "2probe" && !sess.probed:
		sess.probed = true
		pong := NewPacket(wire.AppendPongProbe(nil))
		if t.opts.OnFrame != nil {
			t.opts.OnFrame(c, true, websocket.Frame{Fin: true, Opcode: websocket.OpText, Payload: pong.Text()})
		}
		c.link.Write(pong.wsFrame())
		if sess.get != nil && len(sess.queue) == 0 {
			t.pollNoop(sess)
		}
	case string(text) == "5" && sess.probed:
		t.pollUpgrade(c, sess)
	default:
		c.ws.closeCode = websocket.ClosePolicyViolation
		c.wsClose(websocket.ClosePolicyViolation, "expected 2probe, then 5")
	}
}

// pollUpgrade hands the session to the WebSocket c: the session's *Conn
// sends on c's connection from now on, and c reads for it.
func (t *Transport) pollUpgrade(c *Conn, sess *pollSession) {
	sc := sess.conn
	if sess.get != nil {
		t.pollNoop(sess)
	}
	stop(&sess.timer)
	sess.state = sessionUpgraded
	sc.link, sc.ws, sc.fd, sc.peer = c.link, c.ws, c.fd, c.peer
	c.Context = sc.Context
	c.opened = true
	t.note(c, "a long-polling session upgraded to WebSocket")
	queue := sess.queue
	sess.queue, sess.queued = nil, 0
	for _, o := range queue {
		if o.binary {
			// An attachment queued before the upgrade: a binary frame.
			frame := websocket.AppendFrame(nil, true, websocket.OpBinary, o.p.Text())
			sc.link.Write(frame)
			continue
		}
		sc.Send(o.p)
	}
}

// openedOnly passes the layer above only what concerns connections it
// knows: the input budget may pick an HTTP connection that is still
// sending its request (or a WebSocket still probing a session), and
// that one the transport closes itself.
type openedOnly struct {
	Handler
	t *Transport
}

// Attachment passes a binary message up when the layer above takes
// them and knows the connection: a WebSocket still probing a session is
// closed instead (1003), and a layer that takes no binary ends the
// connection as unsupported data.
func (g openedOnly) Attachment(c *Conn, data []byte) {
	a, ok := g.Handler.(attacher)
	switch {
	case !c.opened && c.ws != nil && c.ws.upgraded:
		c.wsClose(websocket.CloseUnsupportedData, "binary before UPGRADE")
	case !ok || !c.opened:
		if c.ws != nil {
			c.ws.closeCode = websocket.CloseUnsupportedData
		}
		g.Refused(c, wire.ReasonProtocolError+": binary messages are not taken here")
	default:
		a.Attachment(c, data)
	}
}

func (g openedOnly) Refused(c *Conn, reason string) {
	if c.opened {
		g.Handler.Refused(c, reason)
		return
	}
	if c.closing {
		return
	}
	if c.ws != nil && c.ws.upgraded {
		c.wsClose(websocket.ClosePolicyViolation, reason)
		return
	}
	if c.ws != nil {
		if c.hx != nil {
			if s := c.hx.sess; s != nil && s.post == c {
				s.post = nil
			}
			stop(&c.hx.timer)
			c.hx = nil
		}
		g.t.refuseHTTP(c, httpwire.AppendError(nil, 503, reason), 503, reason)
		return
	}
	c.Abort()
}
