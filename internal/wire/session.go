package wire

import (
	"errors"
	"fmt"
	"time"
)

// What both ends of a miniio session agree on besides the packets: where
// a server listens unless told otherwise, the reasons a session ends
// with, and the errors an ack callback gets. The server (package server)
// and the client (package client) both use them, so they live here, next
// to the packet text they travel in.

// DefaultAddr is where `miniio serve` listens for TCP frames and where
// the clients connect unless told otherwise: loopback, so a demo server
// is not reachable from the network by accident.
const DefaultAddr = "127.0.0.1:7070"

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
