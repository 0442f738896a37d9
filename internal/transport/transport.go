package transport

import (
	"encoding/binary"
	"time"

	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// Defaults of the input defences (Options).
const (
	// DefaultFrameTimeout is how long a frame may take to arrive once its
	// length prefix has: a client that announces a large frame and then
	// stops holds the server's memory only this long.
	DefaultFrameTimeout = 10 * time.Second

	// DefaultInputBudget bounds the bytes of unfinished frames the server
	// holds for all its connections together: 64 full-size frames.
	DefaultInputBudget = 64 << 20
)

// Options are the transport's limits. Zero fields take the defaults.
type Options struct {
	// MaxPayload is the largest packet text accepted, checked from the
	// frame's length prefix before any of it is stored.
	MaxPayload int
	// FrameTimeout: see DefaultFrameTimeout.
	FrameTimeout time.Duration
	// InputBudget: see DefaultInputBudget and input.go.
	InputBudget int
	// MaxOutput is the layer above's own cap on one connection's queued
	// output (it ends a slow consumer itself, with a reason); ≤ 0 means
	// none. The loop's hard cap is set above it by one largest frame.
	MaxOutput int
	// CloseTimeout bounds how long a closed connection may take to take
	// its last queued bytes.
	CloseTimeout time.Duration
	// HeadTimeout bounds how long a WebSocket client may take to send
	// its HTTP request head (DefaultHeadTimeout).
	HeadTimeout time.Duration
	// TurnTime is one connection's handler time per turn of the loop
	// (default TurnTime, input.go).
	TurnTime time.Duration

	// Hooks for a program that shows the bytes (miniio serve -wire); each
	// is optional and runs on the loop goroutine. OnHTTP gets each HTTP
	// request head read and each answer written; OnFrame each WebSocket
	// frame (its payload unmasked).
	OnHTTP  func(c *Conn, sent bool, head []byte)
	OnFrame func(c *Conn, sent bool, f websocket.Frame)
	// OnRefuse is told of every HTTP request answered with an error
	// (404, 400, 408, …) instead of a WebSocket: the layer above never
	// hears of those connections otherwise.
	OnRefuse func(c *Conn, status int, reason string)
}

func (o Options) withDefaults() Options {
	if o.MaxPayload <= 0 {
		o.MaxPayload = wire.DefaultMaxPayload
	}
	if o.FrameTimeout <= 0 {
		o.FrameTimeout = DefaultFrameTimeout
	}
	if o.InputBudget <= 0 {
		o.InputBudget = DefaultInputBudget
	}
	if o.HeadTimeout <= 0 {
		o.HeadTimeout = DefaultHeadTimeout
	}
	if o.TurnTime <= 0 {
		o.TurnTime = TurnTime
	}
	return o
}

// Handler is the layer above: the socket.io server. Every method runs on
// the loop goroutine.
type Handler interface {
	// Opened: a connection was accepted. The layer keeps its own state in
	// c.Context and sends its first packet (OPEN).
	Opened(c *Conn)
	// Packet: one packet's text arrived. text is valid only during the
	// call.
	Packet(c *Conn, text []byte)
	// Refused: the envelope gives up on c (a frame too large, a frame
	// that did not finish in time, the input budget): the layer ends the
	// session with this reason, which ends in c.Close or c.Abort.
	Refused(c *Conn, reason string)
	// Closed: the connection is gone, for this reason (in socket.io's
	// words: "transport close", "transport error: …"), unless the layer
	// closed it itself.
	Closed(c *Conn, reason string)
}

// Loop is what the transport and the server need from the event loop
// (package reactor's *Loop, through reactor.go; tests use a fake).
type Loop interface {
	// Post runs f on the loop goroutine soon; safe from any goroutine.
	Post(f func())
	// AfterFunc runs f on the loop goroutine after d; loop goroutine only.
	AfterFunc(d time.Duration, f func()) Stopper
	// Stop makes the loop return.
	Stop()
	// Now is the loop's clock: the time since it started, the same clock
	// AfterFunc counts in.
	Now() time.Duration
}

// Stopper is a timer that can be cancelled.
type Stopper interface{ Stop() }

// Link is one connection of the loop, as the transport uses it: package
// reactor's *Conn, or a test's fake.
type Link interface {
	Write(p []byte) error // queue p (kept, not copied) for the next write
	Close()               // close once what is queued is written
	Abort()               // close now, dropping what is queued
	OutputLen() int       // bytes queued and not yet written
	PauseReading()        // read nothing more from it until ResumeReading
	ResumeReading()
}

// Transport is the set of connections of one server.
type Transport struct {
	h      Handler
	opts   Options
	loop   Loop
	input  inputBudget
	httpFD int // the listening socket of HTTP and WebSocket clients; -1: none

	http     HTTPOptions             // long-polling, CORS, pages (polling.go)
	sessions map[string]*pollSession // long-polling sessions by sid (polling.go)
	echo     *echoConfig             // the Engine.IO echo endpoint, when served (echo.go)
}

// New returns a transport that reports to h. It does nothing until
// Serve (or, in a test, Attach and Open).
func New(h Handler, opts Options) *Transport {
	t := &Transport{opts: opts.withDefaults(), httpFD: -1}
	t.h = openedOnly{h, t} // polling.go
	t.input.holders = make(map[*Conn]struct{})
	return t
}

// Options returns the limits in use, defaults filled in.
func (t *Transport) Options() Options { return t.opts }

// Attach sets the loop the transport's timers run on. Serve does it; a
// test with a fake loop calls it itself.
func (t *Transport) Attach(l Loop) { t.loop = l }

// Conn is one connection: its link to the loop, its envelope, and the
// input it holds.
type Conn struct {
	// Context is the layer above's own state for this connection (the
	// server's socket); the transport never looks at it.
	Context any

	t       *Transport
	link    Link
	peer    string
	in      *connInput    // unfinished input (input.go); nil while none
	ws      *wsState      // the WebSocket envelope (websocket.go); nil for TCP frames
	poll    *pollSession  // the long-polling session this Conn stands for (polling.go)
	hx      *httpExchange // the HTTP request c is answering itself (polling.go)
	probe   *pollSession  // the session this WebSocket takes over (polling.go)
	echo    bool          // its request came to the Engine.IO echo endpoint (echo.go)
	fd      int32
	opened  bool // the layer above knows of it (after the 101, for WebSocket)
	closing bool // Close or Abort was called, or the loop closed it
}

// Open starts a connection on link: the loop accepted descriptor fd from
// peer ("127.0.0.1:51234"). It tells the handler (Opened).
func (t *Transport) Open(link Link, fd int, peer string) *Conn {
	c := &Conn{t: t, link: link, fd: int32(fd), peer: peer, opened: true}
	t.h.Opened(c)
	return c
}

// OpenWebSocket starts a connection on link that speaks HTTP first: the
// handler hears of it (Opened) once the WebSocket handshake is done.
func (t *Transport) OpenWebSocket(link Link, fd int, peer string) *Conn {
	c := &Conn{t: t, link: link, fd: int32(fd), peer: peer}
	t.openWebSocket(c)
	return c
}

// Data hands the transport the bytes a read brought. It uses all of
// them: what cannot be handled now is kept (an unfinished frame, or
// input waiting for the next turn).
func (t *Transport) Data(c *Conn, in []byte) int {
	t.feed(c, in)
	return len(in)
}

// Hangup tells the transport the loop closed c, and why in socket.io's
// words; the handler hears it (Closed).
func (t *Transport) Hangup(c *Conn, reason string) {
	c.closing = true
	t.release(c)
	t.pollHangup(c)
	if c.ws != nil {
		stop(&c.ws.headTimer)
		stop(&c.ws.timer)
		c.ws.pending, c.ws.head = nil, nil
		if c.ws.endReason != "" {
			reason = c.ws.endReason
		}
	}
	if c.opened {
		c.opened = false // once
		t.h.Closed(c, reason)
	}
}

// FD is the connection's descriptor number in the server process (what
// the trace and /proc/PID/fd show).
func (c *Conn) FD() int { return int(c.fd) }

// Peer is the client's address and port, "127.0.0.1:51234".
func (c *Conn) Peer() string { return c.peer }

// OutputLen is how many bytes are queued and not yet written.
func (c *Conn) OutputLen() int {
	if c.poll != nil && c.link == nil {
		return c.poll.queued
	}
	return c.link.OutputLen()
}

// Closing says whether the connection is on its way out.
func (c *Conn) Closing() bool { return c.closing }

// WebSocket says whether the connection came over WebSocket (else it
// speaks miniio's TCP frames).
func (c *Conn) WebSocket() bool { return c.ws != nil }

// Send queues one packet, in this connection's envelope. The loop keeps
// the bytes until they are written: p must not change afterwards. Over
// WebSocket the CLOSE packet (ClosePacket) becomes a close frame with its
// reason.
func (c *Conn) Send(p *Packet) error {
	if c.poll != nil && c.link == nil {
		return c.pollSend(p, false)
	}
	if c.ws == nil {
		return c.link.Write(p.tcpFrame())
	}
	if p.close {
		if c.ws.closeSent {
			return nil
		}
		code := c.ws.closeCode
		if code == 0 {
			code = closeCodeFor(p.reason)
		}
		c.ws.closeSent = true
		frame := websocket.AppendCloseFrame(nil, code, p.reason)
		c.t.wireFrame(c, frame)
		return c.link.Write(frame)
	}
	frame := p.wsFrame()
	if c.t.opts.OnFrame != nil {
		c.t.opts.OnFrame(c, true, websocket.Frame{Fin: true, Opcode: websocket.OpText, Payload: p.Text()})
	}
	return c.link.Write(frame)
}

// Close closes the connection once its queued output is written. No
// more input is handled. A WebSocket gets a close frame first, if it has
// not had one.
func (c *Conn) Close() {
	if c.poll != nil && c.pollClose(false) {
		return
	}
	if c.ws != nil && c.ws.upgraded {
		c.wsClose(websocket.CloseNormal, "")
		return
	}
	c.closing = true
	c.t.release(c)
	c.link.Close()
}

// Abort closes the connection now, dropping its queued output.
func (c *Conn) Abort() {
	if c.poll != nil && c.pollClose(true) {
		return
	}
	c.closing = true
	c.t.release(c)
	c.link.Abort()
}

// Packet is one outgoing packet: its text, with room in front for a TCP
// frame's length prefix, so that framing it writes 4 bytes and copies
// nothing. Make one with NewPacket or EncodePacket; it is read-only once
// it is handed to Send.
type Packet struct {
	buf    []byte // headroom, then the text
	tcp    []byte // the text in a TCP frame, made on first use
	ws     []byte // the text in a WebSocket text frame, made on first use
	wsHere bool   // ws is buf's own bytes: its header is in the headroom
	wsBin  []byte // the bytes in a WebSocket binary frame (SendBinary), made on first use
	close  bool   // an Engine.IO CLOSE: over WebSocket, a close frame
	reason string // its reason
}

// headroom is the room kept in front of a packet's text for its
// envelope's header, written in place: a TCP frame's length
// (wire.HeaderLen, 4 bytes) or a WebSocket frame's header (2 bytes for
// up to 125 bytes of text, 4 up to 64 KiB, 10 above).
const headroom = 10

// NewPacket copies text into a new Packet.
func NewPacket(text []byte) *Packet {
	buf := make([]byte, headroom, headroom+len(text))
	return &Packet{buf: append(buf, text...)}
}

// EncodePacket makes a Packet whose text encode appends (for example
// wire.AppendEventArgs), written once, in place.
func EncodePacket(encode func(dst []byte) ([]byte, error)) (*Packet, error) {
	// Room for a short event up front: growing from nothing would take
	// three or four allocations on every emit.
	buf, err := encode(make([]byte, headroom, 96))
	if err != nil {
		return nil, err
	}
	return &Packet{buf: buf}, nil
}

// ClosePacket is the Engine.IO CLOSE packet with a reason,
// `1{"reason":"ping timeout"}`: on TCP frames as it is, over WebSocket as
// a close frame carrying the reason (socket.io's clients show a close
// frame's reason; they would ignore the packet), on long-polling as plain
// `1`, as engine.io sends it (pollSend).
func ClosePacket(reason string) *Packet {
	p := NewPacket(wire.AppendClose(nil, reason))
	p.close, p.reason = true, reason
	return p
}

// Text is the packet's text, `42["chat","hi"]`.
func (p *Packet) Text() []byte { return p.buf[headroom:] }

// Len is the length of the text.
func (p *Packet) Len() int { return len(p.buf) - headroom }

// wsFrame is the packet in one unmasked text frame, made once and shared
// by every WebSocket receiver. The first envelope a packet goes out in
// writes its header into the headroom; the other (a broadcast to both
// kinds of connection) gets a copy, because bytes handed to the loop
// must not change.
func (p *Packet) wsFrame() []byte {
	if p.ws == nil {
		p.makeWSFrame() // once; the check above stays small enough to inline
	}
	return p.ws
}

func (p *Packet) makeWSFrame() {
	text := p.Text()
	if p.tcp != nil {
		p.ws = websocket.AppendFrame(make([]byte, 0, len(text)+10), true, websocket.OpText, text)
		return
	}
	var h [10]byte
	hdr := websocket.AppendHeader(h[:0], true, websocket.OpText, len(text))
	start := headroom - len(hdr)
	copy(p.buf[start:], hdr)
	p.ws, p.wsHere = p.buf[start:], true
}

// tcpFrame is the packet in a TCP frame, made once (in the headroom,
// unless a WebSocket header is there already) and shared by every TCP
// receiver.
func (p *Packet) tcpFrame() []byte {
	if p.tcp == nil {
		p.makeTCPFrame()
	}
	return p.tcp
}

func (p *Packet) makeTCPFrame() {
	text := p.Text()
	if p.wsHere {
		p.tcp = append(binary.BigEndian.AppendUint32(make([]byte, 0, wire.HeaderLen+len(text)), uint32(len(text))), text...)
		return
	}
	start := headroom - wire.HeaderLen
	binary.BigEndian.PutUint32(p.buf[start:], uint32(len(text)))
	p.tcp = p.buf[start:]
}

// InputHeld is how many bytes of unfinished input the transport holds
// for all its connections together (the input budget's count).
func (t *Transport) InputHeld() int { return t.input.held }

// InputHeld is how many bytes of unfinished input c holds.
func (c *Conn) InputHeld() int {
	if c.in == nil {
		return 0
	}
	return c.in.held
}

// SetOnHTTP and SetOnFrame set the hooks of Options after New: the layer
// above makes them from its own (they need the connection's descriptor).
func (t *Transport) SetOnHTTP(f func(c *Conn, sent bool, head []byte)) { t.opts.OnHTTP = f }

func (t *Transport) SetOnFrame(f func(c *Conn, sent bool, f websocket.Frame)) { t.opts.OnFrame = f }

func (t *Transport) SetOnRefuse(f func(c *Conn, status int, reason string)) { t.opts.OnRefuse = f }
