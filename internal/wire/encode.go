package wire

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The Append functions write one packet's text at the end of dst and return
// the extended slice, like strconv.AppendInt. They add no frame; wrap them
// in BeginFrame/EndFrame, or pass the result to AppendFrame. When one
// returns an error, dst comes back as it was given.

// AppendOpen writes the server's first packet:
//
//	0{"sid":"…","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}
//
// The timers go out in whole milliseconds, from 1 ms to 2^31−1 ms.
func AppendOpen(dst []byte, h Handshake) ([]byte, error) {
	if err := h.check(); err != nil {
		return dst, err
	}
	interval, timeout := h.PingInterval.Milliseconds(), h.PingTimeout.Milliseconds()
	switch {
	case interval < 1 || interval > maxMillis:
		return dst, perr("OPEN pingInterval out of range")
	case timeout < 1 || timeout > maxMillis:
		return dst, perr("OPEN pingTimeout out of range")
	case h.MaxPayload > maxPayloadLimit:
		return dst, perr("OPEN maxPayload out of range")
	}
	start := len(dst)
	dst = append(dst, `0{"sid":`...)
	dst, ok := appendString(dst, h.SID)
	if !ok {
		return dst[:start], perr("OPEN sid is not valid UTF-8")
	}
	if dst, ok = appendUpgrades(dst, h.Upgrades); !ok {
		return dst[:start], perr("OPEN upgrades are not valid UTF-8")
	}
	dst = append(dst, `,"pingInterval":`...)
	dst = strconv.AppendInt(dst, interval, 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, timeout, 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, int64(h.MaxPayload), 10)
	return append(dst, '}'), nil
}

// AppendClose writes CLOSE: `1` when reason is empty, else
// `1{"reason":"…"}`. It cannot fail, because it is what a program sends
// when something else already did: bytes in reason that are not UTF-8
// are replaced with U+FFFD.
func AppendClose(dst []byte, reason string) []byte {
	if reason == "" {
		return append(dst, '1')
	}
	dst = append(dst, `1{"reason":`...)
	dst, _ = appendString(dst, strings.ToValidUTF8(reason, "\uFFFD"))
	return append(dst, '}')
}

// AppendString writes s as a JSON string the way JavaScript's
// JSON.stringify does (`"` and `\` escaped, control characters as \n or
// \u001f, everything else as it is). Bytes that are not UTF-8 become
// U+FFFD, as they would in a JavaScript string.
func AppendString(dst []byte, s string) []byte {
	if out, ok := appendString(dst, s); ok {
		return out
	}
	out, _ := appendString(dst, strings.ToValidUTF8(s, "\uFFFD"))
	return out
}

// AppendPing writes PING: `2`.
func AppendPing(dst []byte) []byte { return append(dst, byte(Ping)) }

// AppendPong writes PONG: `3`.
func AppendPong(dst []byte) []byte { return append(dst, byte(Pong)) }

// AppendConnect writes CONNECT: `40` when data is empty, else `40` and the
// JSON object, as the client's auth (`40{"token":"abc"}`) or the server's
// welcome (`40{"sid":"x"}`).
func AppendConnect(dst []byte, data json.RawMessage) ([]byte, error) {
	return AppendConnectTo(dst, "", data)
}

// AppendDisconnect writes DISCONNECT: `41`.
func AppendDisconnect(dst []byte) []byte { return append(dst, '4', '1') }

// AppendConnectError writes CONNECT_ERROR: `44{"message":"…"}`. Like
// AppendClose it cannot fail; bytes that are not UTF-8 become U+FFFD.
func AppendConnectError(dst []byte, message string) []byte {
	dst = append(dst, `44{"message":`...)
	dst, _ = appendString(dst, strings.ToValidUTF8(message, "\uFFFD"))
	return append(dst, '}')
}

// AppendEvent writes EVENT, what emit(name, args…) sends:
//
//	AppendEvent(dst, NoAck, "chat", json.RawMessage(`"hi"`))  →  42["chat","hi"]
//	AppendEvent(dst, 17, "chat", json.RawMessage(`"hi"`))     →  4217["chat","hi"]
//
// ackID is NoAck, or 0 … MaxAckID when the sender wants an answer. The
// name may be any UTF-8 string except the reserved ones (IsReserved). Each
// argument must be one valid JSON value; whitespace around it is dropped.
func AppendEvent(dst []byte, ackID int, name string, args ...json.RawMessage) ([]byte, error) {
	return appendEvent(dst, Event, 0, "", ackID, name, args)
}

// AppendAck writes ACK, the answer to the event with that ack id:
//
//	AppendAck(dst, 17, json.RawMessage(`"ok"`))  →  4317["ok"]
//	AppendAck(dst, 17)                           →  4317[]
func AppendAck(dst []byte, ackID int, args ...json.RawMessage) ([]byte, error) {
	return appendAck(dst, Ack, 0, "", ackID, args)
}

// appendArgs writes the arguments separated by commas. sep is the byte to
// put before the first one: ',' after an event name, 0 for none.
func appendArgs(dst []byte, args []json.RawMessage, sep byte, what string) ([]byte, error) {
	for i, a := range args {
		a = trimSpace(a)
		if len(a) == 0 || !json.Valid(a) {
			return dst, perr(what + " argument " + strconv.Itoa(i+1) + " is not valid JSON")
		}
		if i > 0 || sep != 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, a...)
	}
	return dst, nil
}

// AppendPacket writes any packet, choosing the Append function by its
// types. ParsePacket and AppendPacket undo each other: text that parses
// comes back from AppendPacket in this package's one spelling of it.
func AppendPacket(dst []byte, p Packet) ([]byte, error) {
	switch p.Engine {
	case Open:
		return AppendOpen(dst, p.Handshake)
	case Close:
		return AppendClose(dst, p.Reason), nil
	case Ping:
		if p.Probe {
			return AppendPingProbe(dst), nil
		}
		return AppendPing(dst), nil
	case Pong:
		if p.Probe {
			return AppendPongProbe(dst), nil
		}
		return AppendPong(dst), nil
	case Message:
		return appendMessage(dst, p)
	case Upgrade:
		return AppendUpgrade(dst), nil
	case Noop:
		return AppendNoop(dst), nil
	}
	return dst, perr("unknown packet type " + strconv.QuoteRune(rune(p.Engine)))
}

func appendMessage(dst []byte, p Packet) ([]byte, error) {
	nsp := p.Namespace
	switch p.Socket {
	case Connect:
		return AppendConnectTo(dst, nsp, p.Data)
	case Disconnect:
		return AppendDisconnectFrom(dst, nsp)
	case Event, BinaryEvent:
		id := NoAck
		if p.HasAck {
			id = p.AckID
		}
		return appendEvent(dst, p.Socket, p.Attachments, nsp, id, p.Event, p.Args)
	case Ack, BinaryAck:
		if !p.HasAck {
			return dst, perr(p.Socket.String() + " needs an ack id")
		}
		return appendAck(dst, p.Socket, p.Attachments, nsp, p.AckID, p.Args)
	case ConnectError:
		return AppendConnectErrorTo(dst, nsp, p.Reason)
	}
	return dst, perr("unknown packet type " + strconv.QuoteRune(rune(p.Socket)))
}
