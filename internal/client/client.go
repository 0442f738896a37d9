// Package client is miniio's Go client, what socket.io-client is to a
// browser: Dial, Emit, On, acks, reconnection. It speaks the packet text
// of package wire inside miniio's TCP frames.
package client

// The miniio client: what `io("http://…")` gives a browser, on a plain TCP
// socket. It is written the simple way, with blocking system calls and
// goroutines, because that is how a reader new to sockets expects a client
// to look, and a client only ever has one connection to watch:
//
//   - one reader goroutine sits in read(2) on the socket and sorts what
//     arrives: PING is answered with PONG at once, an ACK wakes the
//     EmitWithAck that waits for it, an EVENT goes to the handlers;
//   - writes (Emit, the PONG, CONNECT, DISCONNECT) happen on the caller's
//     goroutine under one mutex, with a write-all loop, so two frames are
//     never interleaved on the stream;
//   - one handler goroutine runs the On/OnAny functions one at a time, in
//     the order the events arrived, like a browser's single JavaScript
//     thread. A slow handler delays the next handler, never the reader, so
//     PINGs are still answered and acks still arrive.
//
// Reconnection (ClientOptions.Reconnect) follows socket.io's rules; see
// client_reconnect.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// ClientOptions are the client's settings. The zero value is usable: no
// token, no reconnection, the defaults named below.
type ClientOptions struct {
	// Token is sent with CONNECT as 40{"token":"…"}, for a server
	// started with -token.
	Token string
	// Auth is more of the CONNECT payload, socket.io's `auth` option:
	// Auth{"name": "ann"} sends 40{"name":"ann"} (and the token, if any,
	// next to it). The demo server takes the chat name from it.
	Auth map[string]any

	// Reconnect makes the client come back after a connection it did not
	// mean to lose (the server restarted, the network dropped, a ping
	// timeout), waiting ReconnectDelay, then twice as long, up to
	// ReconnectDelayMax, each wait ±Jitter at random. socket.io turns this
	// on by default; here it is asked for, so that a one-shot program like
	// `miniio emit` does not hang around retrying.
	Reconnect         bool
	ReconnectDelay    time.Duration // first wait; default 1s
	ReconnectDelayMax time.Duration // longest wait; default 5s
	// Jitter spreads the waits so that a thousand clients dropped by the
	// same server restart do not all come back in the same millisecond:
	// 0.5 means ±50 %. 0 means the default, 0.5; negative means none.
	Jitter float64
	// ReconnectAttempts gives up after that many failed attempts in a row;
	// 0 means never give up.
	ReconnectAttempts int

	// AckTimeout is how long EmitWithAck waits when its context has no
	// deadline. Default 5s.
	AckTimeout time.Duration

	// ConnectTimeout bounds the handshake after connect(2): the server's
	// OPEN and its answer to our CONNECT. Default 5s.
	ConnectTimeout time.Duration

	// BufferSize is how many emits may wait while the client is not
	// connected (before the first connection, or while reconnecting).
	// They go out, in order, as soon as a connection is up and its
	// "connect" handlers have run (so a handler can join its rooms again
	// first; an emit made at that very moment by another goroutine may
	// overtake them). When the
	// buffer is full, Emit returns ErrBufferFull and the emit is dropped:
	// the caller learns about it, rather than memory growing without end.
	// Default 100; negative means no buffer (Emit fails at once).
	BufferSize int

	// OnStatus, if set, is told every change of connection state
	// (connecting, connected, disconnected, waiting to reconnect, closed).
	// It runs on the handler goroutine, in order with the event handlers.
	OnStatus func(ClientStatus)
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = time.Second
	}
	if o.ReconnectDelayMax <= 0 {
		o.ReconnectDelayMax = 5 * time.Second
	}
	if o.ReconnectDelayMax < o.ReconnectDelay {
		o.ReconnectDelayMax = o.ReconnectDelay
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = 0.5
	case o.Jitter < 0:
		o.Jitter = 0
	case o.Jitter > 1:
		o.Jitter = 1
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.BufferSize == 0 {
		o.BufferSize = 100
	}
	return o
}

// Handler is what On registers: it gets the arguments the sender passed to
// emit, as raw JSON. For the built-in events, "disconnect" gets one
// argument, the reason as a JSON string ("transport close"),
// "connect_error" gets the error message as a JSON string, and "connect"
// gets none.
type Handler func(args []json.RawMessage)

// AckHandler is what OnAck registers: like Handler, plus ack, which sends
// the answer to a sender that asked for one: socket.io's
// `socket.on("echo", (data, callback) => callback(data))`. Each argument
// of ack is sent as JSON (json.RawMessage as it is). When the sender did
// not ask for an answer, or ack was already called, ack does nothing.
type AckHandler func(args []json.RawMessage, ack func(args ...any) error)

// AnyHandler is what OnAny registers: every event, with its name.
type AnyHandler func(event string, args []json.RawMessage)

// Client is one miniio connection, and the next ones when it reconnects.
// All its methods are safe to call from any goroutine, handlers included.
type Client struct {
	addr   string
	host   string // host:port, the address without ws://
	ws     bool   // ws://: WebSocket and Engine.IO v4, as socket.io-client speaks
	domain int
	sa     unix.Sockaddr
	opts   ClientOptions

	hmu         sync.RWMutex
	handlers    map[string][]AckHandler
	anyHandlers []AnyHandler

	// mu guards everything below, and is held for every write to the
	// socket so that frames go out whole and in order.
	mu         sync.Mutex
	started    bool               // Connect was called
	closing    bool               // Close was called
	finished   bool               // no more connections will be made
	cur        *clientConn        // the live connection, nil between connections
	dialing    *clientConn        // a connection still in its handshake
	sid        string             // the socket id of the live connection
	maxPayload int                // the largest packet the server accepts (from OPEN)
	outbox     []clientOutgoing   // emits waiting for a connection
	nextAckID  int                // the id the next EmitWithAck gets
	pending    map[int]*clientAck // EmitWithAck calls waiting for their ACK
	reason     string             // why the client finished
	scratch    []byte             // where Emit encodes, reused

	queue    clientQueue   // work for the handler goroutine
	stop     chan struct{} // closed by Close: wakes a reconnect wait
	loopDone chan struct{} // closed when the network side has ended
	done     chan struct{} // closed when the last handler has run
}

// clientOutgoing is one emit waiting in the buffer: its frame, ready to
// write, and its ack id (wire.NoAck when it wants none).
type clientOutgoing struct {
	text  []byte // the packet's text
	ackID int
}

// clientAck is one EmitWithAck waiting for its answer.
type clientAck struct {
	event  string
	sent   bool // the EVENT is on the wire (not still in the buffer)
	result chan clientAckResult
}

type clientAckResult struct {
	args []json.RawMessage
	err  error
}

// NewClient makes a client for the server at addr (127.0.0.1:7070,
// [::1]:7070) without connecting yet, so that handlers can be registered
// before the first event can arrive. Call Connect next. An address
// written ws://127.0.0.1:3000 is a socket.io server's (ours with -http,
// or Node's): the client then speaks WebSocket and Engine.IO v4.
func NewClient(addr string, opts ClientOptions) (*Client, error) {
	host, ws, err := SplitAddr(addr)
	if err != nil {
		return nil, err
	}
	domain, sa, err := sys.ParseAddr(host)
	if err != nil {
		return nil, err
	}
	c := &Client{
		addr:       addr,
		host:       host,
		ws:         ws,
		domain:     domain,
		sa:         sa,
		opts:       opts.withDefaults(),
		handlers:   map[string][]AckHandler{},
		maxPayload: wire.DefaultMaxPayload,
		pending:    map[int]*clientAck{},
		stop:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.queue.init()
	return c, nil
}

// Dial is NewClient and Connect in one call, for a program that registers
// its handlers afterwards (an event that arrives in between finds no
// handler and is dropped, as in socket.io).
func Dial(addr string, opts ClientOptions) (*Client, error) {
	c, err := NewClient(addr, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(); err != nil {
		return nil, err
	}
	return c, nil
}

// On registers fn for the event, like socket.io's socket.on(event, fn).
// Several functions may listen to one event; they run in the order they
// were registered. The built-in events "connect", "disconnect" and
// "connect_error" are delivered here too.
func (c *Client) On(event string, fn Handler) {
	c.OnAck(event, func(args []json.RawMessage, _ func(...any) error) { fn(args) })
}

// OnAck registers fn for an event whose sender may want an answer.
func (c *Client) OnAck(event string, fn AckHandler) {
	c.hmu.Lock()
	c.handlers[event] = append(c.handlers[event], fn)
	c.hmu.Unlock()
}

// OnAny registers fn for every event from the server (not the built-in
// connect/disconnect/connect_error), like socket.onAny. It runs before
// the handlers registered for the event by name.
func (c *Client) OnAny(fn AnyHandler) {
	c.hmu.Lock()
	c.anyHandlers = append(c.anyHandlers, fn)
	c.hmu.Unlock()
}

// Connect makes the first connection: socket, connect, the server's OPEN,
// our CONNECT and the server's answer. It returns when the client is
// connected, or with the reason it could not be: a *DialError (nothing
// listens there, say), a *ConnectError (the server said no), or a
// handshake that broke or timed out. A client whose Connect failed is
// finished; make a new one to try again.
//
// With Reconnect, a first connection lost the way a later one can be
// lost (nothing listens yet, the handshake broke or timed out) is tried
// again with the same waits as a reconnection, as socket.io's client
// does: Connect then returns nil at once, and OnStatus tells what
// happens (StateConnectFailed with Attempt 0, then StateReconnecting).
// A *ConnectError (the server said no) is final either way.
func (c *Client) Connect() error {
	c.mu.Lock()
	switch {
	case c.closing:
		c.mu.Unlock()
		return ErrClientClosed
	case c.started:
		c.mu.Unlock()
		return errors.New("miniio: Connect called twice")
	}
	c.started = true
	c.mu.Unlock()
	go c.runHandlers()

	c.status(ClientStatus{State: StateConnecting, Addr: c.addr})
	cn, err := c.dial()
	if err == nil {
		err = c.attach(cn)
	}
	if err != nil {
		c.connectFailed(err, 0)
		reason := err.Error()
		var ce *ConnectError
		if errors.As(err, &ce) {
			reason = ce.Message
		} else if c.opts.Reconnect && !errors.Is(err, ErrClientClosed) {
			go c.retryFirst()
			return nil
		}
		c.finish(reason)
		close(c.loopDone)
		return err
	}
	go c.run(cn)
	return nil
}

// Emit sends the event with its arguments, like socket.emit(event, …).
// Each argument is sent as JSON: a json.RawMessage as it is, anything
// else through json.Marshal. It returns once the frame is handed to the
// kernel, or buffered while the client is (re)connecting.
//
// Errors: the event name is reserved ("connect", "disconnect", …) or an
// argument cannot be made JSON; the packet is larger than the server's
// maxPayload (the server would hang up on it); ErrBufferFull;
// ErrClientClosed.
func (c *Client) Emit(event string, args ...any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.emitLocked(event, wire.NoAck, args)
}

// Send emits the "message" event, like socket.send(…).
func (c *Client) Send(args ...any) error { return c.Emit("message", args...) }

// EmitWithAck emits the event asking for an answer and waits for it, like
// `await socket.timeout(ms).emitWithAck(event, …)`. It returns the
// arguments the server passed to its ack callback.
//
// It waits until ctx is done or, when ctx has no deadline, for
// ClientOptions.AckTimeout. If no answer comes in that time it returns an
// *wire.AckTimeoutError (errors.Is(err, wire.ErrAckTimeout)), and an answer that
// comes later is ignored. If the connection ends after the event was sent
// and before the answer came, it returns a *DisconnectedError: the server
// may or may not have seen the event, and the answer can no longer come.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	timeout := time.Duration(0)
	if _, ok := ctx.Deadline(); !ok {
		timeout = c.opts.AckTimeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()

	c.mu.Lock()
	id := c.nextAckID
	c.nextAckID++
	if c.nextAckID > wire.MaxAckID {
		c.nextAckID = 0 // two billion acks later; the old ids are long gone
	}
	wait := &clientAck{event: event, result: make(chan clientAckResult, 1)}
	c.pending[id] = wait
	if err := c.emitLocked(event, id, args); err != nil {
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Unlock()

	select {
	case r := <-wait.result:
		return r.args, r.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	delete(c.pending, id) // from now on an answer to id is ignored
	c.dropBuffered(id)    // the caller gives up, so it must not go out later
	c.mu.Unlock()
	select {
	case r := <-wait.result: // it arrived while we were giving up
		return r.args, r.err
	default:
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if timeout == 0 {
			timeout = time.Since(start).Round(time.Millisecond)
		}
		return nil, &wire.AckTimeoutError{Event: event, Timeout: timeout}
	}
	return nil, fmt.Errorf("miniio: waiting for the ack of %q: %w", event, ctx.Err())
}

// ID is the socket id the server gave this connection (its CONNECT
// answer, 40{"sid":"…"}), or "" while not connected. It changes on every
// reconnection, as socket.id does.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sid
}

// Connected reports whether a connection is up right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// Done is closed when the client has finished for good (Close, a
// deliberate disconnect by the server, a lost connection without
// Reconnect, or reconnection given up) and its last handler has run.
func (c *Client) Done() <-chan struct{} { return c.done }

// Reason says why the client finished ("" before it has): "io client
// disconnect" after Close, "io server disconnect" when the server sent
// DISCONNECT, the server's CLOSE reason or "transport close" otherwise.
func (c *Client) Reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Close leaves for good, like socket.disconnect(): it sends DISCONNECT
// (`41`) and CLOSE (`1`) in one write, half-closes the socket with
// shutdown(SHUT_WR), reads until the server closes its side (at most 2
// seconds), and closes the descriptor. Reading to the end first means the
// server's last bytes are not left unread, which would make our kernel
// answer with RST instead of a clean FIN. The client does not reconnect
// afterwards. Emits still in the buffer are dropped. EmitWithAck calls
// still waiting return an error: wire.ErrDisconnected when their event went
// out, ErrClientClosed when it was still in the buffer. Close returns when
// the socket is closed; handlers may still be running (wait on Done for
// them). Calling it again, from any goroutine or handler, is harmless.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.loopDone
		return nil
	}
	c.closing = true
	close(c.stop)
	if !c.started {
		c.started = true
		c.finishLocked(ReasonIOClientDisconnect)
		c.mu.Unlock()
		close(c.loopDone)
		c.queue.close()
		close(c.done)
		return nil
	}
	if cn := c.cur; cn != nil {
		cn.deliberate(ReasonIOClientDisconnect)
		if err := cn.writePackets(goodbye()...); err == nil {
			cn.shutdownWrite()
			cn.endAfter(2*time.Second, ReasonIOClientDisconnect)
		} else {
			cn.end(ReasonIOClientDisconnect)
		}
	} else if cn := c.dialing; cn != nil {
		cn.deliberate(ReasonIOClientDisconnect)
		cn.end(ReasonIOClientDisconnect)
	}
	c.mu.Unlock()
	<-c.loopDone
	return nil
}

// emitLocked encodes one EVENT and writes it, or buffers it while not
// connected. c.mu is held.
func (c *Client) emitLocked(event string, ackID int, args []any) error {
	if wire.IsReserved(event) {
		return fmt.Errorf("miniio: %q is a reserved event name: it cannot be emitted", event)
	}
	if c.closing || c.finished {
		return ErrClientClosed
	}
	text, err := wire.AppendEventArgs(c.scratch[:0], ackID, event, args...)
	if err != nil {
		return fmt.Errorf("miniio: emit %q: %w", event, err)
	}
	c.scratch = text[:0] // keep the memory for the next emit
	if size := len(text); size > c.maxPayload {
		return fmt.Errorf("miniio: emit %q: packet of %d bytes exceeds the server's maxPayload of %d bytes (the server would close the connection)",
			event, size, c.maxPayload)
	}

	if cn := c.cur; cn != nil && !cn.broken {
		err := cn.writePackets(text)
		if err == nil {
			if a := c.pending[ackID]; ackID != wire.NoAck && a != nil {
				a.sent = true
			}
			return nil
		}
		// The connection broke under us. The reader will notice and end
		// it; the frame may have gone out in part, which the server
		// cannot use, so it is sent again whole on the next connection.
		cn.broken = true
		cn.end(wire.ReasonTransportError + ": " + sys.Describe(err))
		if !c.opts.Reconnect {
			return fmt.Errorf("miniio: emit %q: write: %w", event, err)
		}
	}
	if len(c.outbox) >= c.opts.BufferSize {
		return ErrBufferFull
	}
	c.outbox = append(c.outbox, clientOutgoing{text: bytes.Clone(text), ackID: ackID})
	return nil
}

// dropBuffered takes the emit with that ack id out of the buffer, if it
// is still there. c.mu is held.
func (c *Client) dropBuffered(ackID int) {
	for i, o := range c.outbox {
		if o.ackID == ackID {
			c.outbox = append(c.outbox[:i], c.outbox[i+1:]...)
			return
		}
	}
}

// dispatch hands an incoming event to the handler goroutine. The packet's
// memory belongs to the read buffer, so it is copied first.
func (c *Client) dispatch(p wire.Packet, cn *clientConn) {
	p = p.Clone()
	c.queue.push(func() {
		c.hmu.RLock()
		anys := c.anyHandlers
		named := c.handlers[p.Event]
		c.hmu.RUnlock()
		var ack func(args ...any) error = func(...any) error { return nil }
		if p.HasAck {
			var once sync.Once
			ack = func(args ...any) error {
				err := errors.New("miniio: ack already sent")
				once.Do(func() { err = c.sendAck(cn, p.AckID, args) })
				return err
			}
		}
		for _, fn := range anys {
			fn(p.Event, p.Args)
		}
		for _, fn := range named {
			fn(p.Args, ack)
		}
	})
}

// sendAck answers the server's event on the connection it came from: an
// answer cannot go to a later connection, whose server-side socket never
// asked the question.
func (c *Client) sendAck(cn *clientConn, id int, args []any) error {
	text, err := wire.AppendAckArgs(nil, id, args...)
	if err != nil {
		return fmt.Errorf("miniio: ack: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != cn || cn.broken {
		return errors.New("miniio: ack: the connection that asked is gone")
	}
	return cn.writePackets(text)
}

// emitBuiltin delivers one of the built-in events to its handlers.
func (c *Client) emitBuiltin(event string, args ...string) {
	raw := make([]json.RawMessage, len(args))
	for i, a := range args {
		raw[i], _ = json.Marshal(a)
	}
	c.queue.push(func() {
		c.hmu.RLock()
		named := c.handlers[event]
		c.hmu.RUnlock()
		for _, fn := range named {
			fn(raw, func(...any) error { return nil })
		}
	})
}

// status reports a state change to OnStatus, on the handler goroutine.
func (c *Client) status(s ClientStatus) {
	if c.opts.OnStatus == nil {
		return
	}
	fn := c.opts.OnStatus
	c.queue.push(func() { fn(s) })
}

// runHandlers is the handler goroutine.
func (c *Client) runHandlers() {
	for {
		fn, ok := c.queue.pop()
		if !ok {
			close(c.done)
			return
		}
		fn()
	}
}

// clientQueue is an unbounded first-in first-out list of functions for
// the handler goroutine. Unbounded, so that the reader never waits for a
// handler: an EmitWithAck called from inside a handler needs the reader
// free to bring its answer in.
type clientQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []func()
	closed bool
}

func (q *clientQueue) init() { q.cond = sync.NewCond(&q.mu) }

func (q *clientQueue) push(fn func()) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, fn)
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// close lets pop return false once the items already queued have run.
func (q *clientQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
}

func (q *clientQueue) pop() (func(), bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		if q.closed {
			return nil, false
		}
		q.cond.Wait()
	}
	fn := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return fn, true
}
