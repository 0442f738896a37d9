package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// clientReadSize is how much one read(2) asks for: the same 4096 as the
// other lesson programs. A frame larger than that simply takes several
// reads; the Decoder puts it back together.
const clientReadSize = 4096

// clientConn is one TCP connection of a Client, from socket(2) to
// close(2). A Client makes a new one on every reconnection.
//
// Who touches what: the reader goroutine alone reads (next); writers hold
// Client.mu (writeAll); end and shutdownWrite may be called from any
// goroutine (a timer, Close) and take fdMu, as does close, so that a
// shutdown never lands on a descriptor number that was already closed and
// perhaps handed out again.
type clientConn struct {
	fd   int
	dec  wire.Decoder
	rbuf []byte
	wbuf []byte     // the envelope's output, reused (writePackets)
	wmu  sync.Mutex // one write(2) at a time: the reader answers pings too
	ws   *clientWS  // the WebSocket envelope; nil for TCP frames
	pkt  wire.Packet
	hs   wire.Handshake // from the server's OPEN
	sid  string         // from the server's CONNECT answer

	broken bool // guarded by Client.mu: a write failed or the connection is over

	fdMu       sync.Mutex
	closed     bool
	shutRead   bool // shutdown(SHUT_RDWR) already done
	shutWrite  bool // shutdown(SHUT_WR) already done
	reason     string
	purposeful bool // one side ended the session on purpose: no reconnection
	pingTimer  *time.Timer
	endTimer   *time.Timer
}

// dial makes one connection and runs the handshake:
//
//	socket → connect → read OPEN → write CONNECT → read CONNECT (or CONNECT_ERROR)
func (c *Client) dial() (*clientConn, error) {
	// socket(2): a TCP socket, SOCK_CLOEXEC where the system has it
	// (sys.StreamCloexec says why).
	fd, err := sys.Socket(c.domain, sys.StreamCloexec, 0)
	if err != nil {
		return nil, &DialError{Op: "socket", Addr: c.addr, Err: err}
	}
	sys.CloseOnExecAfter(fd)
	cn := &clientConn{fd: fd, rbuf: make([]byte, clientReadSize)}

	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		cn.close()
		return nil, ErrClientClosed
	}
	c.dialing = cn // so that Close can interrupt the handshake
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.dialing = nil
		c.mu.Unlock()
	}()

	// connect(2): the three-way handshake; blocks until it is done.
	if err := sys.Connect(fd, c.sa); err != nil {
		cn.close()
		return nil, &DialError{Op: "connect", Addr: c.addr, Err: err}
	}
	if c.ws {
		// HTTP, then WebSocket: GET /socket.io/… Upgrade → 101.
		cn.ws = &clientWS{}
		if err := cn.upgrade(c.host); err != nil {
			cn.close()
			return nil, &DialError{Op: "websocket", Addr: c.addr, Err: err}
		}
	}
	if err := c.handshake(cn); err != nil {
		cn.close()
		return nil, err
	}
	return cn, nil
}

// handshake reads the server's OPEN, sends CONNECT, and reads the answer,
// all within ConnectTimeout: a server that accepts and then says nothing
// must not hang the client forever.
func (c *Client) handshake(cn *clientConn) error {
	timer := time.AfterFunc(c.opts.ConnectTimeout, func() { cn.end(wire.ReasonConnectTimeout) })
	defer timer.Stop()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("miniio: handshake with %s: "+format, append([]any{c.addr}, args...)...)
	}

	p, err := cn.next()
	if err != nil {
		return fail("%s", cn.reasonFor(err))
	}
	switch p.Engine {
	case wire.Open:
	case wire.Close:
		return fail("the server closed the connection: %s", orDefault(p.Reason, "no reason given"))
	default:
		return fail("expected OPEN first, got %s", p)
	}
	cn.hs = p.Handshake
	// What arrives may be a little longer than what the server accepts:
	// it passes on what other clients sent it, with the sender's name in
	// front. Twice its limit is room enough, and still a limit.
	cn.dec.MaxPayload = min(2*cn.hs.MaxPayload, 1<<31-1)
	cn.startPingTimer()

	auth, err := c.connectPayload()
	if err != nil {
		return fail("auth: %v", err)
	}
	connect, err := wire.AppendConnect(nil, auth)
	if err != nil {
		return fail("auth: %v", err)
	}
	if err := cn.writePackets(connect); err != nil {
		return fail("write CONNECT: %s", sys.Describe(err))
	}

	for {
		p, err := cn.next()
		if err != nil {
			return fail("%s", cn.reasonFor(err))
		}
		switch {
		case p.Engine == wire.Ping:
			cn.startPingTimer()
			if err := cn.writePackets(wire.AppendPong(nil)); err != nil {
				return fail("write PONG: %s", sys.Describe(err))
			}
			continue
		case p.Engine == wire.Close:
			return fail("the server closed the connection: %s", orDefault(p.Reason, "no reason given"))
		case p.Engine == wire.Message && p.Socket == wire.ConnectError:
			// The server says no (a wrong token). Say goodbye properly.
			cn.writePackets(wire.AppendClose(nil, ""))
			return &ConnectError{Message: p.Reason}
		case p.Engine == wire.Message && p.Socket == wire.Connect:
			cn.sid = sidOf(p.Data)
			return nil
		}
		return fail("expected CONNECT or CONNECT_ERROR, got %s", p)
	}
}

// connectPayload is the JSON object CONNECT carries: Auth and the token,
// or nothing (a bare `40`) when there are neither.
func (c *Client) connectPayload() ([]byte, error) {
	if c.opts.Token == "" && len(c.opts.Auth) == 0 {
		return nil, nil
	}
	auth := make(map[string]any, len(c.opts.Auth)+1)
	for k, v := range c.opts.Auth {
		auth[k] = v
	}
	if c.opts.Token != "" {
		auth["token"] = c.opts.Token
	}
	return json.Marshal(auth) // keys in sorted order: the same bytes every time
}

// sidOf takes the "sid" out of the server's 40{"sid":"…"}.
func sidOf(data []byte) string {
	var answer struct {
		SID string `json:"sid"`
	}
	json.Unmarshal(data, &answer) // without a sid, the id is "": odd but harmless
	return answer.SID
}

// next returns the next packet from the server, reading from the socket
// as often as it takes to get one whole frame. The packet's Args and Data
// point into the read buffer: they are valid until the next call.
func (cn *clientConn) next() (wire.Packet, error) {
	text, err := cn.readPacket()
	if err != nil {
		return wire.Packet{}, err
	}
	if err := cn.pkt.Parse(text); err != nil {
		return wire.Packet{}, &clientParseError{err}
	}
	return cn.pkt, nil
}

// clientParseError is a frame or packet from the server that breaks the
// protocol.
type clientParseError struct{ err error }

func (e *clientParseError) Error() string { return "parse error: " + e.err.Error() }

// reasonFor turns the error that ended reading into a disconnect reason,
// in socket.io's words where it has them. A reason set by end() (ping
// timeout, our own Close) comes first: the read error is only its echo.
func (cn *clientConn) reasonFor(err error) string {
	cn.fdMu.Lock()
	reason := cn.reason
	cn.fdMu.Unlock()
	if reason != "" {
		return reason
	}
	var pe *clientParseError
	var closed *wsClosed
	switch {
	case errors.Is(err, io.EOF):
		return wire.ReasonTransportClose
	case errors.As(err, &closed):
		// The server's close frame: its reason, in socket.io's words
		// when it gave one ("ping timeout"), else "transport close".
		return orDefault(closed.reason, wire.ReasonTransportClose)
	case errors.As(err, &pe):
		return pe.Error()
	}
	return wire.ReasonTransportError + ": " + sys.Describe(err)
}

// writeAll writes the whole of p, however many write(2) calls it takes: a
// blocking socket may still take fewer bytes than offered. The caller
// holds Client.mu (or, during the handshake, is the only one who knows
// this connection).
func (cn *clientConn) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := sys.Write(cn.fd, p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// startPingTimer (re)starts the client's side of the heartbeat: the
// server promised a PING every pingInterval, and allows pingTimeout for
// the answer, so if nothing comes for pingInterval+pingTimeout the server
// is gone (paused, crashed, or the network between us is down), even if
// TCP has not noticed. socket.io's client uses the same sum.
func (cn *clientConn) startPingTimer() {
	wait := cn.hs.PingInterval + cn.hs.PingTimeout
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	if cn.closed {
		return
	}
	if cn.pingTimer == nil {
		cn.pingTimer = time.AfterFunc(wait, func() { cn.end(wire.ReasonPingTimeout) })
		return
	}
	cn.pingTimer.Reset(wait)
}

// end stops the connection from any goroutine: shutdown(SHUT_RDWR) wakes
// the reader, whose read(2) then returns 0, and makes any write fail. The
// descriptor itself is closed later by the reader's goroutine, once
// nobody can be using it. The first reason given is the one reported.
func (cn *clientConn) end(reason string) {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	if cn.reason == "" {
		cn.reason = reason
	}
	if cn.closed || cn.shutRead {
		return
	}
	cn.shutRead = true
	sys.Shutdown(cn.fd, unix.SHUT_RDWR) // ENOTCONN if the peer already reset it: nothing to do
}

// deliberate records that this ending is on purpose (Close, or the
// server's DISCONNECT), so the client will not reconnect.
func (cn *clientConn) deliberate(reason string) {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	cn.purposeful = true
	if cn.reason == "" {
		cn.reason = reason
	}
}

// shutdownWrite sends our FIN: "no more from me", while we still read
// what the server has left to say.
func (cn *clientConn) shutdownWrite() {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	if cn.closed || cn.shutWrite || cn.shutRead {
		return
	}
	cn.shutWrite = true
	sys.Shutdown(cn.fd, unix.SHUT_WR)
}

// endAfter calls end if the server has not closed its side within d, so
// that waiting for a polite goodbye is bounded.
func (cn *clientConn) endAfter(d time.Duration, reason string) {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	if cn.closed || cn.endTimer != nil {
		return
	}
	cn.endTimer = time.AfterFunc(d, func() { cn.end(reason) })
}

// ending reports the reason and whether the ending was on purpose.
func (cn *clientConn) ending() (string, bool) {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	return cn.reason, cn.purposeful
}

// close(2) the descriptor and stop the timers. Called once nobody reads
// or writes it any more.
func (cn *clientConn) close() {
	cn.fdMu.Lock()
	defer cn.fdMu.Unlock()
	if cn.closed {
		return
	}
	cn.closed = true
	if cn.pingTimer != nil {
		cn.pingTimer.Stop()
	}
	if cn.endTimer != nil {
		cn.endTimer.Stop()
	}
	sys.Close(cn.fd)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
