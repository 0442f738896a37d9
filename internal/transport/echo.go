package transport

import (
	"strconv"
	"time"

	"socklab/internal/wire"
)

// The Engine.IO echo endpoint: Engine.IO sessions with no socket.io
// layer above them, each MESSAGE sent straight back. It is what
// engine.io-protocol's conformance suite talks to (its README starts
// Node's engine.io with the same loop: socket.on("data", d =>
// socket.send(d))), and it shows the layer under socket.io alone:
//
//	GET /engine.io/?EIO=4&transport=websocket   → 0{"sid":"…","upgrades":[],…}
//	← 4hello         → 4hello        a MESSAGE comes back as it came
//	← <bytes>        → <bytes>       a binary message too
//	→ 2  ← 3                         the heartbeat, as on /socket.io/
//	← 1                              the client closes the session
//	← abc            → close         anything else ends the session
//
// Long-polling and the upgrade work as on /socket.io/: the same
// transport carries both paths, and a connection is marked echo when
// its request came to the echo path. The heartbeat here is the plain
// version of the server's (package server keeps one timer queue for
// all its sockets): a timer per session.

// EnableEcho serves the echo endpoint at path ("/engine.io/") next to
// /socket.io/, with this heartbeat. Before Serve.
func (t *Transport) EnableEcho(path string, pingInterval, pingTimeout time.Duration) {
	t.echo = &echoConfig{path: path, pingInterval: pingInterval, pingTimeout: pingTimeout}
	if g, ok := t.h.(openedOnly); ok {
		g.Handler = echoRouter{g.Handler, t}
		t.h = g
	}
}

type echoConfig struct {
	path                      string
	pingInterval, pingTimeout time.Duration
}

// isEcho says whether a request's path is the echo endpoint's.
func (t *Transport) isEcho(path string) bool { return t.echo != nil && path == t.echo.path }

// enginePath says whether a request's path is an Engine.IO endpoint,
// and marks c as the echo's when it is that one.
func (t *Transport) enginePath(c *Conn, path string) bool {
	c.echo = t.isEcho(path)
	return c.echo || path == "/socket.io/"
}

// echoRouter hands the echo's connections to the echo, and all others
// to the layer above. After an upgrade the WebSocket's *Conn carries the
// session's Context, so Context says whose a connection is.
type echoRouter struct {
	Handler
	t *Transport
}

type echoSession struct {
	c       *Conn
	timer   Stopper // the next PING, or the wait for its PONG
	waiting bool    // a PING is out and its PONG has not come
	ended   bool
}

func (r echoRouter) Opened(c *Conn) {
	if !c.echo {
		r.Handler.Opened(c)
		return
	}
	cfg := r.t.echo
	e := &echoSession{c: c}
	c.Context = e
	hs := wire.Handshake{SID: c.SID(), PingInterval: cfg.pingInterval, PingTimeout: cfg.pingTimeout, MaxPayload: r.t.opts.MaxPayload, Upgrades: []string{}}
	if c.Polling() {
		hs.Upgrades = []string{"websocket"}
	} else {
		hs.SID = newSID()
	}
	open, err := wire.AppendOpen(nil, hs)
	if err != nil {
		e.end(r.t, wire.ReasonProtocolError+": "+err.Error())
		return
	}
	c.Send(NewPacket(open))
	e.nextPing(r.t)
}

func (r echoRouter) Packet(c *Conn, text []byte) {
	e, ok := c.Context.(*echoSession)
	if !ok {
		r.Handler.Packet(c, text)
		return
	}
	if e.ended {
		return
	}
	switch {
	case len(text) > 0 && text[0] == '4':
		e.c.Send(NewPacket(text))
	case string(text) == "3" && e.waiting:
		e.waiting = false
		e.nextPing(r.t)
	case string(text) == "1":
		// The client closes the session; nothing to answer.
		e.stop()
		e.ended = true
		e.c.Close()
	default:
		e.end(r.t, wire.ReasonParseError+": not an Engine.IO packet the client sends: "+quoteShort(text))
	}
}

// Attachment: a binary message comes back as one.
func (r echoRouter) Attachment(c *Conn, data []byte) {
	e, ok := c.Context.(*echoSession)
	if !ok {
		if a, ok := r.Handler.(attacher); ok {
			a.Attachment(c, data)
			return
		}
		r.Handler.Refused(c, wire.ReasonProtocolError+": binary packets are not supported")
		return
	}
	if e.ended {
		return
	}
	p := NewPacket(data)
	if e.c.poll != nil && e.c.link == nil {
		e.c.pollSendBinary(p) // still polling: `b` + base64 in the next payload
		return
	}
	e.c.SendBinary(p)
}

func (r echoRouter) Refused(c *Conn, reason string) {
	if e, ok := c.Context.(*echoSession); ok {
		e.end(r.t, reason)
		return
	}
	r.Handler.Refused(c, reason)
}

func (r echoRouter) Closed(c *Conn, reason string) {
	if e, ok := c.Context.(*echoSession); ok {
		e.stop()
		e.ended = true
		return
	}
	r.Handler.Closed(c, reason)
}

// nextPing sends PING after pingInterval, then waits pingTimeout for the
// PONG.
func (e *echoSession) nextPing(t *Transport) {
	e.stop()
	cfg := t.echo
	e.timer = t.loop.AfterFunc(cfg.pingInterval, func() {
		if e.ended {
			return
		}
		e.waiting = true
		e.c.Send(NewPacket([]byte("2")))
		e.timer = t.loop.AfterFunc(cfg.pingTimeout, func() {
			if e.waiting && !e.ended {
				e.end(t, wire.ReasonPingTimeout)
			}
		})
	})
}

func (e *echoSession) stop() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

// end closes the session with a reason: CLOSE (a close frame on a
// WebSocket), then the connection.
func (e *echoSession) end(t *Transport, reason string) {
	if e.ended {
		return
	}
	e.ended = true
	e.stop()
	e.c.Send(ClosePacket(reason))
	e.c.Close()
}

// quoteShort is a peer's text for a reason: at most 20 bytes of it.
func quoteShort(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return strconv.QuoteToASCII(string(b))
}
