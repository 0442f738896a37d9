package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// ClientState is where a Client is in its life.
type ClientState int

const (
	StateConnecting    ClientState = iota // socket, connect, handshake
	StateConnected                        // events flow both ways
	StateDisconnected                     // the connection ended; Reason says why
	StateConnectFailed                    // an attempt did not get through; Err says why
	StateReconnecting                     // waiting Delay before attempt number Attempt
	StateClosed                           // finished for good; Reason says why
)

// ClientStatus is one change of state, as given to ClientOptions.OnStatus.
type ClientStatus struct {
	State   ClientState
	Addr    string        // the server's address
	Attempt int           // reconnection attempt, from 1; 0 for the first connection
	Delay   time.Duration // StateReconnecting: how long until the attempt
	SID     string        // StateConnected: the socket id the server gave us
	Reason  string        // StateDisconnected, StateClosed
	Err     error         // StateConnectFailed
}

// String is the status in a few words, for a terminal:
//
//	connecting to 127.0.0.1:7070
//	connected (id 3fa2c1)
//	disconnected: transport close
//	reconnecting in 1.3s (attempt 1)
//	could not connect: connect to 127.0.0.1:7070: ECONNREFUSED (Connection refused)
//	closed: io client disconnect
func (s ClientStatus) String() string {
	switch s.State {
	case StateConnecting:
		if s.Attempt > 0 {
			return fmt.Sprintf("connecting to %s (attempt %d)", s.Addr, s.Attempt)
		}
		return "connecting to " + s.Addr
	case StateConnected:
		return fmt.Sprintf("connected (id %s)", s.SID)
	case StateDisconnected:
		return "disconnected: " + s.Reason
	case StateConnectFailed:
		return "could not connect: " + strings.TrimPrefix(s.Err.Error(), "miniio: ")
	case StateReconnecting:
		return fmt.Sprintf("reconnecting in %s (attempt %d)", s.Delay.Round(100*time.Millisecond), s.Attempt)
	case StateClosed:
		return "closed: " + s.Reason
	}
	return fmt.Sprintf("ClientState(%d)", int(s.State))
}

// The client's own disconnect reasons, in socket.io's words (the server
// side says "client namespace disconnect" for the first and "server
// namespace disconnect" for the second: each side names who left).
const (
	ReasonIOClientDisconnect = "io client disconnect" // this client called Close
	ReasonIOServerDisconnect = "io server disconnect" // the server sent DISCONNECT (41)
)

// ErrClientClosed is returned by Emit and friends once the client has
// finished (Close, or a connection that ended for good).
var ErrClientClosed = errors.New("miniio: the client is closed")

// ErrBufferFull is returned by Emit while the client is not connected and
// ClientOptions.BufferSize emits are already waiting. The emit is not
// sent.
var ErrBufferFull = errors.New("miniio: not connected, and the buffer of waiting emits is full")

// DisconnectedError says that the connection ended after an EmitWithAck's
// event was sent and before its answer came.
type DisconnectedError struct {
	Event  string
	Reason string
}

func (e *DisconnectedError) Error() string {
	return fmt.Sprintf("miniio: disconnected (%s) before the ack for %q came", e.Reason, e.Event)
}

// Is makes errors.Is(err, wire.ErrDisconnected) true.
func (e *DisconnectedError) Is(target error) bool { return target == wire.ErrDisconnected }

// DialError is a connection attempt that failed at socket(2) or
// connect(2). errors.As finds the errno in it (ECONNREFUSED: nothing
// listens there), for sys.Hint.
type DialError struct {
	Op   string // "socket" or "connect"
	Addr string
	Err  error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("miniio: %s to %s: %s", e.Op, e.Addr, sys.Describe(e.Err))
}

func (e *DialError) Unwrap() error { return e.Err }

// ConnectError is the server's refusal, CONNECT_ERROR:
// 44{"message":"not authorized"}.
type ConnectError struct {
	Message string
}

func (e *ConnectError) Error() string {
	return "miniio: the server refused the connection: " + e.Message
}
