package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// EngineType is the first character of a packet: the connection layer
// (Engine.IO's layer in socket.io). The values are the characters
// themselves, so a type can be written straight into the text.
type EngineType byte

const (
	Open    EngineType = '0' // server's first packet: session id and timers
	Close   EngineType = '1' // last packet before the sender hangs up
	Ping    EngineType = '2' // server: are you still there?
	Pong    EngineType = '3' // client: yes
	Message EngineType = '4' // carries one socket.io packet
	Upgrade EngineType = '5' // client: from now on only the WebSocket carries this session
	Noop    EngineType = '6' // server: nothing; releases a long-polling GET during the upgrade
)

func (t EngineType) String() string {
	switch t {
	case Open:
		return "OPEN"
	case Close:
		return "CLOSE"
	case Ping:
		return "PING"
	case Pong:
		return "PONG"
	case Message:
		return "MESSAGE"
	case Upgrade:
		return "UPGRADE"
	case Noop:
		return "NOOP"
	}
	return fmt.Sprintf("EngineType(%q)", rune(t))
}

// SocketType is the second character of a MESSAGE packet: the event layer
// (socket.io's own packet types).
type SocketType byte

const (
	Connect      SocketType = '0' // client: let me in; server: you are in
	Disconnect   SocketType = '1' // this side leaves
	Event        SocketType = '2' // emit(name, args…)
	Ack          SocketType = '3' // the answer to an event that asked for one
	ConnectError SocketType = '4' // server: you may not join
	BinaryEvent  SocketType = '5' // an EVENT whose arguments hold binary attachments
	BinaryAck    SocketType = '6' // an ACK whose arguments hold binary attachments
)

func (t SocketType) String() string {
	switch t {
	case Connect:
		return "CONNECT"
	case Disconnect:
		return "DISCONNECT"
	case Event:
		return "EVENT"
	case Ack:
		return "ACK"
	case ConnectError:
		return "CONNECT_ERROR"
	case BinaryEvent:
		return "BINARY_EVENT"
	case BinaryAck:
		return "BINARY_ACK"
	}
	return fmt.Sprintf("SocketType(%q)", rune(t))
}

// NoAck, passed as an ack id, means the event wants no answer.
const NoAck = -1

// MaxAckID is the largest acknowledgement id miniio reads or writes:
// 2^31−1. An ack id is a counter that goes up by one per event that wants
// an answer (socket.io counts the same way), so two billion is more than a
// connection will ever use; the limit keeps an id exact in a JavaScript
// number and in a 32-bit integer in any other language, and keeps a peer
// from sending a 400-digit "number".
const MaxAckID = 1<<31 - 1

// maxMillis bounds the OPEN packet's timers: 2^31−1 ms (about 24.8 days) is
// the longest delay a JavaScript setTimeout accepts.
const maxMillis = 1<<31 - 1

// maxPayloadLimit bounds the maxPayload an OPEN packet may announce. The
// frame's length field could say up to 4 GiB, but 2 GiB − 1 still fits an
// int on every platform and is far beyond any sane packet.
const maxPayloadLimit = 1<<31 - 1

// Handshake is the content of the OPEN packet:
//
//	0{"sid":"…","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}
type Handshake struct {
	SID          string        // the session id the server gave this connection
	PingInterval time.Duration // how often the server sends PING (whole milliseconds on the wire)
	PingTimeout  time.Duration // how long it waits for PONG before it gives up
	MaxPayload   int           // the largest packet text the server accepts
	Upgrades     []string      // transports to upgrade to (["websocket"] on long-polling); nil: not written
}

// Packet is one decoded packet. Which fields mean something depends on the
// two types:
//
//	Engine   Socket         fields
//	Open     -              Handshake
//	Close    -              Reason ("" when the packet is just `1`)
//	Ping     -              Probe (`2probe`, only from ParseSocketIO)
//	Pong     -              Probe (`3probe`, only from ParseSocketIO)
//	Upgrade  -              -  (only from ParseSocketIO)
//	Noop     -              -  (only from ParseSocketIO)
//	Message  Connect        Data (nil when the packet is just `40`)
//	Message  Disconnect     -
//	Message  Event          Event, Args, HasAck and AckID
//	Message  Ack            AckID, Args
//	Message  ConnectError   Reason (the "message" of `44{"message":"…"}`)
//	Message  BinaryEvent    as Event, plus Attachments (only from ParseSocketIO)
//	Message  BinaryAck      as Ack, plus Attachments (only from ParseSocketIO)
//
// Every MESSAGE also has a Namespace: "" (or "/", when writing) is the main
// one, which is all ParsePacket reads; see namespace.go.
//
// Data and Args point into the text the packet was parsed from, they are not
// copies: if that buffer will be reused (the event loop's input buffer is),
// use Clone to keep them longer.
type Packet struct {
	Engine EngineType
	Socket SocketType // only when Engine is Message

	Handshake Handshake       // OPEN
	Reason    string          // CLOSE: why; CONNECT_ERROR: the message
	Data      json.RawMessage // CONNECT: a JSON object (auth from a client, {"sid":…} from the server)

	Event  string            // EVENT: the name, never a reserved one
	Args   []json.RawMessage // EVENT: the values after the name; ACK: all the values
	HasAck bool              // EVENT: the sender wants an ACK; always true for ACK
	AckID  int               // with HasAck: 0 … MaxAckID

	Namespace   string // MESSAGE: "/admin" in `42/admin,[…]`; "" for the main namespace
	Attachments int    // BINARY_EVENT, BINARY_ACK: how many binary attachments follow (see binary.go)
	Probe       bool   // PING, PONG: `2probe` / `3probe`, the WebSocket upgrade's test
}

// ProtocolError is a packet that breaks the miniio protocol, found while
// reading it (ParsePacket) or before writing it (the Append functions).
// Reason is short and plain, since the server sends it to the peer as
// `1{"reason":"parse error: <Reason>"}`.
type ProtocolError struct {
	Reason string
}

func (e *ProtocolError) Error() string { return e.Reason }

func perr(reason string) error { return &ProtocolError{Reason: reason} }

// ParsePacket reads one packet's text (the bytes inside a frame). Anything
// that is not exactly one well-formed miniio packet is an error, never a
// half-read packet. It reads miniio's TCP core: the main namespace only, no
// binary packets, no upgrade; ParseSocketIO reads all of socket.io.
func ParsePacket(text []byte) (Packet, error) {
	var p Packet
	err := p.Parse(text)
	return p, err
}

// ParseSocketIO reads one packet's text as socket.io's own transports carry
// it: everything ParsePacket reads, plus namespaces (`42/admin,[…]`), the
// headers of binary packets (`451-[…]`) and the Engine.IO upgrade packets
// (`2probe`, `3probe`, UPGRADE `5`, NOOP `6`). A program that uses it must
// look at Namespace and at the binary types; ParsePacket is for those that
// do not.
func ParseSocketIO(text []byte) (Packet, error) {
	var p Packet
	err := p.ParseSocketIO(text)
	return p, err
}

// Parse is ParsePacket into an existing Packet. It reuses p.Args' memory, so
// a connection that parses every incoming packet into the same Packet does
// not allocate a new argument list each time. On error p is left empty.
func (p *Packet) Parse(text []byte) error { return p.parseAs(text, false) }

// ParseSocketIO is the function ParseSocketIO into an existing Packet,
// reusing its memory as Parse does.
func (p *Packet) ParseSocketIO(text []byte) error { return p.parseAs(text, true) }

// parseAs parses into p; full says whether socket.io's namespaces, binary
// packets and upgrade packets are accepted.
func (p *Packet) parseAs(text []byte, full bool) error {
	args := p.Args[:0]
	*p = Packet{}
	if err := p.parse(text, args, full); err != nil {
		*p = Packet{Args: args[:0]}
		return err
	}
	return nil
}

func (p *Packet) parse(text []byte, args []json.RawMessage, full bool) error {
	if len(text) == 0 {
		return perr("empty packet")
	}
	// The frame promises UTF-8 text. encoding/json lets broken UTF-8 through
	// inside strings, so it is checked here, once, for the whole packet.
	if !utf8.Valid(text) {
		return perr("packet is not valid UTF-8")
	}
	p.Engine = EngineType(text[0])
	rest := text[1:]
	switch p.Engine {
	case Open:
		return p.parseOpen(rest)
	case Close:
		return p.parseClose(rest)
	case Ping, Pong:
		if full && string(rest) == "probe" {
			p.Probe = true
			return nil
		}
		if len(rest) > 0 {
			return perr(p.Engine.String() + " takes no payload")
		}
		return nil
	case Message:
		return p.parseMessage(rest, args, full)
	case Upgrade, Noop:
		if !full {
			break
		}
		if len(rest) > 0 {
			return perr(p.Engine.String() + " takes no payload")
		}
		return nil
	}
	return unknownType(text)
}

func unknownType(text []byte) error {
	r, _ := utf8.DecodeRune(text)
	return perr(fmt.Sprintf("unknown packet type %q", r))
}

func (p *Packet) parseOpen(b []byte) error {
	b = trimSpace(b)
	if err := checkJSON(b, '{', "OPEN payload"); err != nil {
		return err
	}
	h := &p.Handshake
	err := forEachField(b, func(key string, value []byte) error {
		var err error
		switch key {
		case "sid":
			h.SID, err = stringValue(value, "OPEN sid")
		case "pingInterval":
			h.PingInterval, err = millisValue(value, "OPEN pingInterval")
		case "pingTimeout":
			h.PingTimeout, err = millisValue(value, "OPEN pingTimeout")
		case "maxPayload":
			var n int64
			n, err = intValue(value, "OPEN maxPayload", maxPayloadLimit)
			h.MaxPayload = int(n)
		case "upgrades":
			h.Upgrades, err = upgradesValue(value)
		}
		// Other keys are ignored.
		return err
	})
	if err != nil {
		return err
	}
	return h.check()
}

// check makes sure every field of the handshake was given.
func (h *Handshake) check() error {
	switch {
	case h.SID == "":
		return perr("OPEN needs a sid")
	case h.PingInterval <= 0:
		return perr("OPEN needs a pingInterval")
	case h.PingTimeout <= 0:
		return perr("OPEN needs a pingTimeout")
	case h.MaxPayload <= 0:
		return perr("OPEN needs a maxPayload")
	}
	return nil
}

func (p *Packet) parseClose(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	b = trimSpace(b)
	if err := checkJSON(b, '{', "CLOSE payload"); err != nil {
		return err
	}
	return forEachField(b, func(key string, value []byte) error {
		var err error
		if key == "reason" {
			p.Reason, err = stringValue(value, "CLOSE reason")
		}
		return err
	})
}

// parseMessage reads the socket.io packet inside a MESSAGE:
// <type>[<attachments>-][<namespace>,][<ack id>][<JSON>].
func (p *Packet) parseMessage(b []byte, args []json.RawMessage, full bool) error {
	if len(b) == 0 {
		return perr("MESSAGE carries no socket.io packet")
	}
	if b[0] < '0' || b[0] > '6' {
		return unknownType(b)
	}
	p.Socket = SocketType(b[0])
	rest := b[1:]
	if full {
		var err error
		if rest, err = p.parseAttachmentsAndNamespace(rest); err != nil {
			return err
		}
	} else if len(rest) > 0 && rest[0] == '/' {
		return perr("namespaces other than / are not supported")
	}
	switch p.Socket {
	case Connect:
		if len(rest) == 0 {
			return nil
		}
		rest = trimSpace(rest)
		if err := checkJSON(rest, '{', "CONNECT payload"); err != nil {
			return err
		}
		p.Data = json.RawMessage(rest[:len(rest):len(rest)])
		return nil
	case Disconnect:
		if len(rest) > 0 {
			return perr("DISCONNECT takes no payload")
		}
		return nil
	case Event, Ack:
		return p.parseEventOrAck(rest, args)
	case BinaryEvent, BinaryAck:
		if full {
			return p.parseEventOrAck(rest, args)
		}
	case ConnectError:
		rest = trimSpace(rest)
		if err := checkJSON(rest, '{', "CONNECT_ERROR payload"); err != nil {
			return err
		}
		return forEachField(rest, func(key string, value []byte) error {
			var err error
			if key == "message" {
				p.Reason, err = stringValue(value, "CONNECT_ERROR message")
			}
			return err
		})
	}
	// socket.io's 5 and 6 carry binary attachments in extra frames.
	return perr("binary packets are not supported")
}

func (p *Packet) parseEventOrAck(b []byte, args []json.RawMessage) error {
	id, digits, err := parseAckID(b)
	if err != nil {
		return err
	}
	if digits > 0 {
		p.HasAck, p.AckID = true, id
	} else if p.Socket == Ack || p.Socket == BinaryAck {
		return perr(p.Socket.String() + " needs an ack id")
	}
	body := trimSpace(b[digits:])
	if err := checkJSON(body, '[', p.Socket.String()+" payload"); err != nil {
		return err
	}
	if p.Socket == Ack || p.Socket == BinaryAck {
		p.Args, err = appendElements(args, body, 1, true)
		return err
	}

	// The event name is the array's first element and must be a string.
	i := skipSpace(body, 1)
	if body[i] == ']' {
		return perr("EVENT needs an event name")
	}
	if body[i] != '"' {
		return perr("event name is not a string")
	}
	end := stringEnd(body, i)
	if end < 0 {
		return errScan
	}
	if p.Event, err = decodeString(body[i:end]); err != nil {
		return err
	}
	if IsReserved(p.Event) {
		return perr(fmt.Sprintf("reserved event name %q", p.Event))
	}
	p.Args, err = appendElements(args, body, end, false)
	return err
}

// parseAckID reads the decimal ack id at the start of b, if there is one,
// and says how many digits it took.
func parseAckID(b []byte) (id, digits int, err error) {
	for digits < len(b) && b[digits] >= '0' && b[digits] <= '9' {
		digits++
	}
	switch {
	case digits == 0:
		return 0, 0, nil
	case digits > 1 && b[0] == '0':
		return 0, 0, perr("ack id has a leading zero")
	case digits > 10: // MaxAckID has 10 digits; stop before the sum overflows
		return 0, 0, perr("ack id out of range")
	}
	var n int64
	for _, c := range b[:digits] {
		n = n*10 + int64(c-'0')
	}
	if n > MaxAckID {
		return 0, 0, perr("ack id out of range")
	}
	return int(n), digits, nil
}

// IsReserved reports whether name is one of the event names socket.io
// keeps for itself. They name things that happen to a socket (connect,
// disconnect, …) or to an event emitter (newListener, removeListener), so
// a peer must not be able to fake them by sending them as events.
func IsReserved(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting",
		"newListener", "removeListener":
		return true
	}
	return false
}

// stringValue reads a JSON value that must be a string.
func stringValue(value []byte, what string) (string, error) {
	if value[0] != '"' {
		return "", perr(what + " must be a string")
	}
	return decodeString(value)
}

// intValue reads a JSON value that must be a whole number from 1 to max.
func intValue(value []byte, what string, max int64) (int64, error) {
	n, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, perr(fmt.Sprintf("%s must be a whole number from 1 to %d", what, max))
	}
	return n, nil
}

// millisValue reads a timer given in milliseconds.
func millisValue(value []byte, what string) (time.Duration, error) {
	n, err := intValue(value, what, maxMillis)
	return time.Duration(n) * time.Millisecond, err
}

// Clone returns a copy of p whose Data and Args no longer point into the
// text p was parsed from, for keeping a packet after its buffer is reused.
func (p Packet) Clone() Packet {
	size := len(p.Data)
	for _, a := range p.Args {
		size += len(a)
	}
	mem := make([]byte, 0, size) // one block for all of them
	if p.Data != nil {
		mem = append(mem, p.Data...)
		p.Data = json.RawMessage(mem[:len(mem):len(mem)])
	}
	if p.Args != nil {
		args := make([]json.RawMessage, len(p.Args))
		for i, a := range p.Args {
			start := len(mem)
			mem = append(mem, a...)
			args[i] = json.RawMessage(mem[start:len(mem):len(mem)])
		}
		p.Args = args
	}
	return p
}

// String is the packet's text, for logs and test failures.
func (p Packet) String() string {
	text, err := AppendPacket(nil, p)
	if err != nil {
		return "invalid packet: " + err.Error()
	}
	return string(text)
}
