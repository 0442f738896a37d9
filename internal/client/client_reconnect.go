package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// When the client reconnects, following socket.io's client:
//
//	how the connection ended                        reason                     reconnect?
//	Close() on this side                            "io client disconnect"     no
//	the server sent DISCONNECT (41)                 "io server disconnect"     no
//	the server refused CONNECT (44, a bad token)    the server's message       no
//	the server sent CLOSE (1{"reason":…})           its reason, e.g.           yes
//	                                                "server shutting down"
//	the server closed the socket (read = 0)         "transport close"          yes
//	read or write failed (ECONNRESET, EPIPE)        "transport error: …"       yes
//	no PING for pingInterval+pingTimeout            "ping timeout"             yes
//	the server sent bytes that are not miniio       "parse error: …"           yes
//
// The rule behind the table: when either side's program decided the
// session is over, coming back would go against that decision (and a
// refused token would be refused again, forever); when the connection was
// lost by accident or the server went away as a whole (a restart), the
// client should come back on its own. A CLOSE carries a reason only for
// people to read; DISCONNECT is the "on purpose" signal, so a server that
// wants a client gone for good sends DISCONNECT before it closes.

// run is the network goroutine: it reads the live connection until it
// ends, then reconnects when the rules allow, until the client finishes.
func (c *Client) run(cn *clientConn) {
	defer close(c.loopDone)
	for {
		reason, deliberate := c.serve(cn)
		if deliberate || !c.opts.Reconnect || c.isClosing() {
			c.finish(reason)
			return
		}
		if cn = c.reconnect(); cn == nil {
			return
		}
	}
}

// retryFirst is run for a first connection that failed: it keeps trying
// as reconnect does, then serves the connection it gets.
func (c *Client) retryFirst() {
	cn := c.reconnect()
	if cn == nil {
		close(c.loopDone)
		return
	}
	c.run(cn)
}

// reconnect waits and dials until a connection is up (returned) or the
// client finishes (nil).
func (c *Client) reconnect() *clientConn {
	for attempt := 1; ; attempt++ {
		if max := c.opts.ReconnectAttempts; max > 0 && attempt > max {
			c.finish(fmt.Sprintf("gave up after %d reconnection attempts", max))
			return nil
		}
		delay := c.backoff(attempt)
		c.status(ClientStatus{State: StateReconnecting, Addr: c.addr, Attempt: attempt, Delay: delay})
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-c.stop:
			timer.Stop()
			c.finish(ReasonIOClientDisconnect)
			return nil
		}

		c.status(ClientStatus{State: StateConnecting, Addr: c.addr, Attempt: attempt})
		cn, err := c.dial()
		if err == nil {
			err = c.attach(cn)
		}
		if err == nil {
			return cn
		}
		c.connectFailed(err, attempt)
		var ce *ConnectError
		switch {
		case errors.As(err, &ce):
			c.finish(ce.Message)
			return nil
		case errors.Is(err, ErrClientClosed) || c.isClosing():
			c.finish(ReasonIOClientDisconnect)
			return nil
		}
	}
}

// backoff is the wait before reconnection attempt n (1, 2, …): the first
// delay doubled n−1 times, capped at the longest, then moved at random by
// up to ±Jitter of itself, and capped again (socket.io computes it the
// same way). With the defaults: about 1s, 2s, 4s, 5s, 5s, … each ±50 %.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.ReconnectDelay
	for i := 1; i < attempt && d < c.opts.ReconnectDelayMax; i++ {
		d *= 2
	}
	d = min(d, c.opts.ReconnectDelayMax)
	if j := c.opts.Jitter; j > 0 {
		d = time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
	}
	return min(d, c.opts.ReconnectDelayMax)
}

// attach makes a connection that finished its handshake the live one.
// What waited in the buffer goes out right after the "connect" handlers
// have run, as in socket.io: a handler that joins a room again sees its
// join go out before the messages that were meant for that room.
func (c *Client) attach(cn *clientConn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		cn.deliberate(ReasonIOClientDisconnect)
		cn.writePackets(goodbye()...)
		cn.close()
		return ErrClientClosed
	}
	c.cur = cn
	c.sid = cn.sid
	c.maxPayload = cn.hs.MaxPayload
	c.status(ClientStatus{State: StateConnected, Addr: c.addr, SID: cn.sid})
	c.emitBuiltin("connect")
	c.queue.push(func() { c.flushOutbox(cn) })
	return nil
}

// flushOutbox sends the emits that waited for a connection, oldest first.
func (c *Client) flushOutbox(cn *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.outbox) > 0 && c.cur == cn && !cn.broken {
		o := c.outbox[0]
		if err := cn.writePackets(o.text); err != nil {
			// Broken already: the reader will see it, and what is left
			// waits for the next connection.
			cn.broken = true
			cn.end(wire.ReasonTransportError + ": " + sys.Describe(err))
			return
		}
		if a := c.pending[o.ackID]; o.ackID != wire.NoAck && a != nil {
			a.sent = true
		}
		c.outbox[0] = clientOutgoing{}
		c.outbox = c.outbox[1:]
	}
}

// goodbye is DISCONNECT then CLOSE, written with one write(2).
func goodbye() [][]byte {
	return [][]byte{wire.AppendDisconnect(nil), wire.AppendClose(nil, "")}
}

// serve is the reader: it reads packets from the live connection until
// the connection ends, then closes it and says why.
func (c *Client) serve(cn *clientConn) (reason string, deliberate bool) {
	var err error
	for err == nil {
		var p wire.Packet
		p, err = cn.next()
		if err == nil {
			c.handle(cn, p)
		}
	}
	reason = cn.reasonFor(err)
	var pe *clientParseError
	if errors.As(err, &pe) {
		// Tell the server why we hang up, as it would tell us.
		c.mu.Lock()
		if !cn.broken {
			cn.writePackets(wire.AppendClose(nil, reason))
		}
		c.mu.Unlock()
	}
	_, deliberate = cn.ending()
	c.detach(cn, reason)
	return reason, deliberate
}

// handle acts on one packet from the server.
func (c *Client) handle(cn *clientConn, p wire.Packet) {
	switch {
	case p.Engine == wire.Ping:
		// The heartbeat: answer at once, and count the server as alive.
		cn.startPingTimer()
		c.mu.Lock()
		if !cn.broken {
			if err := cn.writePackets(wire.AppendPong(nil)); err != nil {
				cn.broken = true
				cn.end(wire.ReasonTransportError + ": " + sys.Describe(err))
			}
		}
		c.mu.Unlock()

	case p.Engine == wire.Close:
		// The server's last frame. Keep reading: its FIN follows, and the
		// connection ends when read returns 0 (or in 2 s at the latest).
		cn.serverClosed(orDefault(p.Reason, wire.ReasonTransportClose))

	case p.Engine != wire.Message:
		cn.end("parse error: unexpected " + p.Engine.String() + " packet")

	case p.Socket == wire.Event:
		if c.isClosing() {
			return // after Close, no more handlers run
		}
		c.dispatch(p, cn)

	case p.Socket == wire.Ack:
		c.mu.Lock()
		wait := c.pending[p.AckID]
		if wait != nil && wait.sent {
			delete(c.pending, p.AckID)
		} else {
			wait = nil
		}
		c.mu.Unlock()
		if wait == nil {
			// Its EmitWithAck already gave up (timed out): ignore it.
			sys.Note("ACK %d has no one waiting for it (timed out?): ignored", p.AckID)
			return
		}
		wait.result <- clientAckResult{args: p.Clone().Args}

	case p.Socket == wire.Disconnect || p.Socket == wire.ConnectError:
		// The server ends the session on purpose: we answer with our FIN
		// and do not come back.
		reason := ReasonIOServerDisconnect
		if p.Socket == wire.ConnectError {
			reason = p.Reason
		}
		cn.deliberate(reason)
		cn.shutdownWrite()
		cn.endAfter(2*time.Second, reason)

	default: // a second CONNECT answer
		cn.end("parse error: unexpected " + p.Socket.String() + " packet")
	}
}

// serverClosed records the server's CLOSE reason and bounds the wait for its FIN.
func (cn *clientConn) serverClosed(reason string) {
	cn.fdMu.Lock()
	if cn.reason == "" {
		cn.reason = reason
	}
	cn.fdMu.Unlock()
	cn.endAfter(2*time.Second, reason)
}

// detach takes an ended connection out of use, closes its descriptor and
// tells the handlers. EmitWithAck calls whose event went out on it will
// never get an answer now; they are told so instead of waiting out their
// timeout. Those still in the buffer keep waiting for the next connection.
func (c *Client) detach(cn *clientConn, reason string) {
	c.mu.Lock()
	if c.cur == cn {
		c.cur = nil
		c.sid = ""
	}
	cn.broken = true
	for id, a := range c.pending {
		if a.sent {
			a.result <- clientAckResult{err: &DisconnectedError{Event: a.event, Reason: reason}}
			delete(c.pending, id)
		}
	}
	c.mu.Unlock()
	cn.close()
	c.status(ClientStatus{State: StateDisconnected, Addr: c.addr, Reason: reason})
	c.emitBuiltin("disconnect", reason)
}

// connectFailed reports a connection attempt that did not get through.
func (c *Client) connectFailed(err error, attempt int) {
	msg := err.Error()
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	c.status(ClientStatus{State: StateConnectFailed, Addr: c.addr, Attempt: attempt, Err: err})
	c.emitBuiltin("connect_error", msg)
}

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// finish ends the client for good: nothing more is sent, the waiting
// emits are dropped, and the handler goroutine stops after the last
// status.
func (c *Client) finish(reason string) {
	c.mu.Lock()
	c.finishLocked(reason)
	c.mu.Unlock()
	c.status(ClientStatus{State: StateClosed, Addr: c.addr, Reason: reason})
	c.queue.close()
}

func (c *Client) finishLocked(reason string) {
	if c.finished {
		return
	}
	c.finished = true
	c.reason = reason
	c.outbox = nil
	for id, a := range c.pending {
		a.result <- clientAckResult{err: fmt.Errorf("%w (%s)", ErrClientClosed, reason)}
		delete(c.pending, id)
	}
}
