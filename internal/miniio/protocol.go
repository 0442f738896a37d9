// Package miniio is a small socket.io-like event protocol on plain TCP: the
// server (server.go and friends) and the client (client.go and friends).
// The bytes on the wire are socket.io's own packet text with a 4-byte
// length in front (package wire has the codec and the long explanation).
//
// This file holds what both ends share: the defaults, the disconnect
// reasons, and the helpers that turn Go values into event and ack frames.
package miniio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"socklab/internal/wire"
)

// Defaults, the same as socket.io's except where a comment says otherwise.
const (
	// DefaultAddr is where `miniio serve` listens and where the clients
	// connect unless told otherwise: loopback, so a demo server is not
	// reachable from the network by accident.
	DefaultAddr = "127.0.0.1:7070"

	DefaultPingInterval = 25 * time.Second // the server sends PING this often
	DefaultPingTimeout  = 20 * time.Second // and waits this long for PONG

	// DefaultConnectTimeout is how long the server waits for CONNECT after
	// its OPEN (socket.io waits 45 s; a TCP client that says nothing for
	// 10 s is not going to).
	DefaultConnectTimeout = 10 * time.Second

	// DefaultMaxPayload is the largest packet text accepted: 1 MiB
	// (socket.io: 1,000,000 bytes).
	DefaultMaxPayload = wire.DefaultMaxPayload

	// DefaultFrameTimeout is how long a frame may take to arrive once its
	// length prefix has: a client that announces a large frame and then
	// stops holds the server's memory only this long.
	DefaultFrameTimeout = 10 * time.Second

	// DefaultInputBudget bounds the bytes of unfinished frames the server
	// holds for all its connections together: 64 full-size frames.
	DefaultInputBudget = 64 << 20
)

// Disconnect reasons: the text a socket's OnDisconnect handler gets, and the
// reason a CLOSE frame carries (`1{"reason":"ping timeout"}`). The first
// ones are socket.io's own words, so a socket.io user recognises them. Some
// reasons get details after a colon, e.g.
// "parse error: reserved event name \"connect\"": compare with
// strings.HasPrefix, not ==.
const (
	// The peer sent DISCONNECT (`41`): it left on purpose.
	ReasonClientDisconnect = "client namespace disconnect"
	// This side called Disconnect: it sent `41` and CLOSE.
	ReasonServerDisconnect = "server namespace disconnect"
	// The TCP connection ended without a goodbye (EOF), or the peer sent a
	// CLOSE frame.
	ReasonTransportClose = "transport close"
	// A read or write failed (ECONNRESET, EPIPE, …); the errno follows.
	ReasonTransportError = "transport error"
	// No PONG came back within pingTimeout of a PING.
	ReasonPingTimeout = "ping timeout"
	// The server is stopping (SIGINT/SIGTERM).
	ReasonShuttingDown = "server shutting down"
	// The peer sent something that is not a miniio packet; what was wrong
	// follows: "parse error: malformed JSON".
	ReasonParseError = "parse error"
	// The peer sent a well-formed packet at the wrong moment (an EVENT
	// before CONNECT, a second CONNECT, a PING from a client, …).
	ReasonProtocolError = "protocol error"

	// miniio's own limits, each with the number that was crossed.
	ReasonTooLarge       = "payload too large" // a frame's length prefix is above maxPayload
	ReasonConnectTimeout = "connect timeout"   // no CONNECT soon enough after OPEN
	ReasonSlowConsumer   = "slow consumer"     // the peer stopped reading; its output queue hit the cap
	ReasonServerFull     = "server full"       // max connections reached
	ReasonNotAuthorized  = "not authorized"    // CONNECT without the right token
	ReasonFrameTimeout   = "frame timeout"     // a frame's length came, the rest of it not soon enough
	ReasonInputBudget    = "input budget"      // the server holds too many unfinished frames; this one was the largest
	ReasonTooManyTries   = "too many attempts" // CONNECT refused too often from one address in a short time
)

// ErrAckTimeout is matched (errors.Is) by the error an ack callback gets
// when no answer came within its timeout. A late answer is then ignored.
var ErrAckTimeout = errors.New("ack timeout")

// ErrDisconnected is matched by the error an ack callback gets when the
// connection ended before the answer came.
var ErrDisconnected = errors.New("disconnected")

// AckTimeoutError says which event went unanswered for how long.
type AckTimeoutError struct {
	Event   string
	Timeout time.Duration
}

func (e *AckTimeoutError) Error() string {
	return fmt.Sprintf("no ack for %q within %v", e.Event, e.Timeout)
}

// Is makes errors.Is(err, ErrAckTimeout) true.
func (e *AckTimeoutError) Is(target error) bool { return target == ErrAckTimeout }

// AppendEventFrame appends one whole frame (length prefix and text) for
// emit(name, args…) to dst: `42["chat","hi"]`, or `4217["chat","hi"]`
// when ackID is not wire.NoAck. args are Go values, written as appendArg says. On
// error dst comes back unchanged.
func AppendEventFrame(dst []byte, ackID int, name string, args ...any) ([]byte, error) {
	if wire.IsReserved(name) {
		return dst, fmt.Errorf("reserved event name %q", name)
	}
	if !utf8.ValidString(name) {
		return dst, errors.New("event name is not valid UTF-8")
	}
	if ackID != wire.NoAck && (ackID < 0 || ackID > wire.MaxAckID) {
		return dst, errors.New("ack id out of range")
	}
	start := len(dst)
	buf, mark := wire.BeginFrame(dst)
	buf = append(buf, '4', '2')
	if ackID != wire.NoAck {
		buf = strconv.AppendInt(buf, int64(ackID), 10)
	}
	buf = append(buf, '[')
	buf = wire.AppendString(buf, name)
	for i, a := range args {
		buf = append(buf, ',')
		var err error
		if buf, err = appendArg(buf, a); err != nil {
			return dst[:start], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	buf = append(buf, ']')
	return wire.EndFrame(buf, mark), nil
}

// AppendAckFrame appends one whole frame for ack(args…), the answer to the
// event with that id: `4317["ok"]`, or `4317[]` with no args.
func AppendAckFrame(dst []byte, ackID int, args ...any) ([]byte, error) {
	if ackID < 0 || ackID > wire.MaxAckID {
		return dst, errors.New("ack id out of range")
	}
	start := len(dst)
	buf, mark := wire.BeginFrame(dst)
	buf = append(buf, '4', '3')
	buf = strconv.AppendInt(buf, int64(ackID), 10)
	buf = append(buf, '[')
	for i, a := range args {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendArg(buf, a); err != nil {
			return dst[:start], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	buf = append(buf, ']')
	return wire.EndFrame(buf, mark), nil
}

// appendArg writes one argument as JSON: a json.RawMessage as it is (it
// must be valid JSON), a string, bool or int directly, anything else
// through encoding/json. The common kinds are written by
// hand because this is the hot path of every emit; the rest take the slow
// road through encoding/json.
func appendArg(dst []byte, a any) ([]byte, error) {
	switch v := a.(type) {
	case json.RawMessage:
		if len(v) == 0 || !json.Valid(v) {
			return dst, errors.New("not valid JSON")
		}
		return append(dst, v...), nil
	case string:
		return wire.AppendString(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case nil:
		return append(dst, "null"...), nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}
