// Package server is miniio's socket.io layer: what `new Server(httpServer)`
// gives a Node program, on socklab's event loop instead of Node's.
// Namespaces, sockets, rooms, emit scopes, acks, binary attachments,
// heartbeats and the reasons a session ends; packets and handlers only. The bytes around each packet (a TCP
// frame today) are package transport's, which calls up into this one
// with each packet's text; the packet text itself is package wire's.
package server

// One goroutine, the event loop's, owns every connection. The transport
// reads and cuts frames off the input; this package parses each packet and calls
// the program's handlers, one at a time, the way Node calls JavaScript
// callbacks. A handler that emits does not write to a socket itself: the
// emit is put on a queue, and the loop goroutine works through the queue
// as soon as the handler returns (server_emit.go says why that makes
// emitting from any goroutine safe). The loop then writes everything
// queued for a connection in one go.
//
//	           ┌────────────── event loop goroutine ──────────────┐
//	bytes in → │ transport → ParseSocketIO → handler → emit queue│ → transport → bytes out
//	           │        timers: PING, ping timeout, connect       │
//	           │        timeout, ack timeouts                     │
//	           └──────────────────────────────────────────────────┘
//	other goroutines ── Emit / To(room).Emit / Join ──→ emit queue (+ wake the loop)

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"socklab/internal/transport"
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// Defaults, the same as socket.io's except where a comment says otherwise.
const (
	DefaultPingInterval = 25 * time.Second // the server sends PING this often
	DefaultPingTimeout  = 20 * time.Second // and waits this long for PONG

	// DefaultConnectTimeout is how long the server waits for CONNECT after
	// its OPEN (socket.io waits 45 s; a TCP client that says nothing for
	// 10 s is not going to).
	DefaultConnectTimeout = 10 * time.Second

	// DefaultMaxPayload is the largest packet text accepted: 1 MiB
	// (socket.io: 1,000,000 bytes).
	DefaultMaxPayload = wire.DefaultMaxPayload

	// DefaultFrameTimeout and DefaultInputBudget are the transport's
	// input defences (package transport, input.go).
	DefaultFrameTimeout = transport.DefaultFrameTimeout
	DefaultInputBudget  = transport.DefaultInputBudget
	DefaultHeadTimeout  = transport.DefaultHeadTimeout
)

// ServerOptions are the server's settings and limits. The zero value means
// every default; each limit can be turned off with a negative value where
// its comment says so.
type ServerOptions struct {
	// PingInterval is how often the server sends PING; PingTimeout how long
	// it then waits for PONG before it ends the connection with "ping
	// timeout". Defaults 25s and 20s, as in socket.io.
	PingInterval time.Duration
	PingTimeout  time.Duration

	// ConnectTimeout is how long a connection may stay open without
	// sending CONNECT after the server's OPEN. Default 10s.
	ConnectTimeout time.Duration

	// MaxPayload is the largest packet text accepted, checked from the
	// frame's length prefix before any of it is stored. Default 1 MiB.
	MaxPayload int

	// FrameTimeout is how long the rest of a frame may take once its
	// length prefix has arrived; then the connection is closed with
	// "frame timeout". Default 10s.
	FrameTimeout time.Duration

	// InputBudget bounds the bytes the server holds, for all connections
	// together, of frames that have not fully arrived (each one's buffer
	// is the size its prefix announced) and of input waiting for its turn.
	// Past it, the connections holding the most are closed with "input
	// budget" until the total is under it again. Default 64 MiB.
	InputBudget int

	// TurnTime is how much handler time one connection gets per turn of
	// the loop before the rest of its input waits for the next turn.
	// Default 1 ms (transport.TurnTime).
	TurnTime time.Duration

	// MaxConns is how many connections may be open at once; one more is
	// told "server full" in a CLOSE frame and closed. Default 20000;
	// negative means no limit (the process's file descriptor limit
	// still is one).
	MaxConns int

	// MaxOutput caps the bytes waiting to be sent to one connection. A
	// peer that stops reading makes them pile up (the kernel's buffers
	// fill first, then ours); past the cap it is disconnected as a "slow
	// consumer" instead of growing the server's memory without end. One
	// frame is always let through to an empty queue, however large.
	// Default 1 MiB; negative means no cap.
	MaxOutput int

	// MaxAttachments is how many binary attachments one BINARY_EVENT or
	// BINARY_ACK may carry, coming in or going out. Default 10, as
	// socket.io's decoder. The attachments of one packet together may
	// be MaxPayload bytes.
	MaxAttachments int

	// Hooks for a program that shows what happens (miniio serve's log).
	// Each is optional and runs on the loop goroutine.

	// The three connection hooks get the connection's socket of "/"
	// (which stands for the connection whether or not the client joined
	// "/"); sockets of other namespaces end through their OnDisconnect.

	// OnOpen is called when a connection was accepted, just before its
	// OPEN is sent (it has not sent CONNECT yet, so the connection
	// handlers have not run). Connections refused at once (server full,
	// shutting down) skip it and go straight to OnClose.
	OnOpen func(s *Socket)
	// OnPacket is called for every packet sent (sent = true) or
	// received, with its text (without its envelope), and for every
	// binary attachment, with its bytes.
	OnPacket func(s *Socket, sent bool, text []byte)
	// OnClose is called once for every connection that ends, connected or
	// not, with the reason (the same text as in its CLOSE frame).
	OnClose func(s *Socket, reason string)

	// HeadTimeout bounds how long a WebSocket client may take to send its
	// HTTP request head. Default 10s.
	HeadTimeout time.Duration
	// OnHTTP and OnWebSocketFrame show the bytes around the packets of
	// WebSocket clients: each HTTP head read or written, each frame (see
	// package transport). fd is the connection's descriptor.
	OnHTTP           func(fd int, sent bool, head []byte)
	OnWebSocketFrame func(fd int, sent bool, f websocket.Frame)
	// OnHTTPRefused is called for every HTTP request answered with an
	// error instead of a WebSocket (a wrong path, transport=polling, a
	// request head too slow or too large): such a connection never
	// becomes a Socket, so OnOpen and OnClose do not see it.
	OnHTTPRefused func(fd int, peer string, status int, reason string)
}

// DefaultMaxConns and DefaultMaxOutput are the limits ServerOptions falls
// back to.
const (
	DefaultMaxConns  = 20000
	DefaultMaxOutput = 1 << 20
)

// closeLinger is how long a connection the server closed may take to
// accept the last bytes queued for it (its CLOSE frame, usually). A peer
// that does not read them in that time is cut off, so a stuck peer cannot
// keep its memory, or a shutdown, waiting.
const closeLinger = 3 * time.Second

func (o ServerOptions) withDefaults() ServerOptions {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.FrameTimeout <= 0 {
		o.FrameTimeout = DefaultFrameTimeout
	}
	if o.InputBudget <= 0 {
		o.InputBudget = DefaultInputBudget
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = wire.DefaultMaxAttachments
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	return o
}

// eventLoop is what the server needs from the event loop, and stopper a
// timer it can cancel: package transport's names for them.
type (
	eventLoop = transport.Loop
	stopper   = transport.Stopper
)

// Server is a miniio server: sockets, rooms, and the emits between them.
// Create it with NewServer, register OnConnection handlers, then Serve.
type Server struct {
	opts ServerOptions
	loop eventLoop
	tr   *transport.Transport // the connections, and the bytes around packets

	// The main namespace "/", and every namespace by name ("/" too),
	// made by Of (guarded by mu). server_namespace.go.
	main       *Namespace
	namespaces map[string]*Namespace

	// Owned by the loop goroutine.
	conns    map[*Socket]struct{} // every open connection (its socket of "/"), any state
	pkt      wire.Packet          // parsed packet, reused for every packet
	gen      uint64               // broadcast number, to send once per socket across rooms
	pingQ    hbQueue              // sockets waiting for their next PING (server_heartbeat.go)
	pongQ    hbQueue              // sockets waiting for their PONG
	stopping bool                 // Shutdown was called
	stopped  bool                 // the loop was told to stop
	// Bytes of binary attachments held by half-assembled packets, all
	// connections together (server_binary.go).
	binaryHeld int
	// binaryOf asks a connection whether its envelope carries binary
	// attachments (server_binary.go); tests stand in for an envelope
	// that does.
	binaryOf func(c *transport.Conn) binaryEnvelope
	// A packet that never changes, made once per server and shared by
	// every connection (the loop only reads it).
	pingPacket *transport.Packet

	// The emit queue, shared with other goroutines (server_emit.go).
	mu          sync.Mutex
	queue       []serverOp
	spare       []serverOp // the other half of a double buffer, loop only
	dispatching bool       // the loop is running handlers: it will look at the queue
	wakePosted  bool       // a Post to drain the queue is on its way

	adapter *adapterState // the link to other servers, and their events' handlers (server_adapter.go)

	earlyStop *time.Duration // Shutdown came before Serve had a loop: its timeout

	open      atomic.Int64 // open connections
	connected atomic.Int64 // connected sockets
}

// NewServer returns a server with the given options (zero fields take the
// defaults). It does nothing until Serve.
func NewServer(opts ServerOptions) *Server {
	srv := &Server{
		opts:     opts.withDefaults(),
		conns:    make(map[*Socket]struct{}),
		binaryOf: envelopeBinary,
	}
	srv.main = newNamespace(srv, "/")
	srv.namespaces = map[string]*Namespace{"/": srv.main}
	srv.tr = transport.New(upcalls{srv}, transport.Options{
		MaxPayload:   srv.opts.MaxPayload,
		FrameTimeout: srv.opts.FrameTimeout,
		InputBudget:  srv.opts.InputBudget,
		MaxOutput:    srv.opts.MaxOutput,
		CloseTimeout: closeLinger,
		HeadTimeout:  srv.opts.HeadTimeout,
		TurnTime:     srv.opts.TurnTime,
	})
	if h := srv.opts.OnHTTP; h != nil {
		srv.tr.SetOnHTTP(func(c *transport.Conn, sent bool, head []byte) { h(c.FD(), sent, head) })
	}
	if h := srv.opts.OnHTTPRefused; h != nil {
		srv.tr.SetOnRefuse(func(c *transport.Conn, status int, reason string) { h(c.FD(), c.Peer(), status, reason) })
	}
	if h := srv.opts.OnWebSocketFrame; h != nil {
		srv.tr.SetOnFrame(func(c *transport.Conn, sent bool, f websocket.Frame) { h(c.FD(), sent, f) })
	}
	srv.pingPacket = transport.NewPacket(wire.AppendPing(nil))
	srv.initHeartbeat()
	return srv
}

// Options returns the settings in use, defaults filled in.
func (srv *Server) Options() ServerOptions { return srv.opts }

// OnConnection registers f to run for every socket that completes CONNECT
// to the main namespace "/": socket.io's io.on("connection", socket => …).
// It is where a program registers the socket's event handlers. Call it
// before Serve. Other namespaces have their own: Of("/admin").OnConnection.
func (srv *Server) OnConnection(f func(s *Socket)) { srv.main.OnConnection(f) }

// On is OnConnection spelled the socket.io way: On("connection", f).
// "connect" is accepted too, as in socket.io. Any other name is a mistake
// in the program, reported by a panic at start-up.
func (srv *Server) On(event string, f func(s *Socket)) {
	if event != "connection" && event != "connect" {
		panic(fmt.Sprintf("server: Server.On(%q): a server only has the \"connection\" event; events come from sockets (Socket.On)", event))
	}
	srv.OnConnection(f)
}

// Use adds a check that runs on every CONNECT to "/" before the socket is
// let in, with the CONNECT's auth object (nil when the client sent just
// `40`): socket.io's io.use((socket, next) => …). An error refuses the
// client: it gets CONNECT_ERROR with the error's text as the message,
// then CLOSE.
func (srv *Server) Use(check func(s *Socket, auth json.RawMessage) error) { srv.main.Use(check) }

// Stats is a snapshot of the server's counters; safe from any goroutine.
type Stats struct {
	Conns     int // open TCP connections, whatever their state
	Connected int // sockets that completed CONNECT, in every namespace (one connection may hold several)
}

// Stats returns the current counters.
func (srv *Server) Stats() Stats {
	return Stats{Conns: int(srv.open.Load()), Connected: int(srv.connected.Load())}
}

// newID returns a socket id: 12 random characters of URL-safe base64, like
// socket.io's (which are 20). Random, not a counter, so that one client
// cannot guess another's id.
//
// The numbers come from math/rand/v2, whose generator (ChaCha8, seeded by
// the kernel at start-up) is unpredictable enough here. crypto/rand would
// do too, but on its first call it starts a Go timer (to warn if the
// kernel's entropy is slow), and the first timer makes the Go runtime open
// its own epoll and eventfd: two descriptors in /proc/PID/fd and calls in
// strace that our trace does not explain.
func newID() string {
	var b [9]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	b[8] = byte(rand.Uint32())
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Shutdown ends the server gracefully, from any goroutine (a signal
// handler): no new connections are let in, every connection gets CLOSE
// with "server shutting down" and is closed once its output is written,
// and Serve returns when all are gone, or after timeout at the latest.
func (srv *Server) Shutdown(timeout time.Duration) {
	srv.mu.Lock()
	loop := srv.loop
	if loop == nil {
		srv.earlyStop = &timeout // Serve shuts down as soon as its loop exists
	}
	srv.mu.Unlock()
	if loop == nil {
		return
	}
	loop.Post(func() {
		srv.enter()
		if !srv.stopping {
			srv.stopping = true
			for s := range srv.conns {
				s.closeWith(wire.ReasonShuttingDown)
			}
			if srv.open.Load() == 0 {
				srv.stopLoop()
			} else {
				srv.after(timeout, srv.stopLoop)
			}
		}
		srv.drain()
	})
}

func (srv *Server) stopLoop() {
	if !srv.stopped {
		srv.stopped = true
		srv.loop.Stop()
	}
}
