package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Namespaces: several "sockets" on one connection.
//
// A socket.io client that calls io("http://host/admin") sends its packets
// with the namespace written between the type and the rest, always followed
// by a comma:
//
//	40/admin,{"token":"abc"}     CONNECT to /admin, with auth
//	40/admin,{"sid":"x"}         the server's yes
//	44/random,{"message":"Invalid namespace"}
//	42/admin,["chat","hi"]       EVENT in /admin
//	42/admin,17["chat","hi"]     the same, wanting ACK 17 (the id comes after the comma)
//	43/admin,17["ok"]            ACK
//	41/admin,                    DISCONNECT from /admin (the comma is still there)
//
// The main namespace "/" is written by leaving it out (`42["chat","hi"]`),
// so a program that never uses another one never sees the difference.

// MaxNamespaceLen is the longest namespace, in bytes with its leading '/',
// that this package reads or writes. socket.io sets no limit; a name is an
// address a developer chose ("/admin", "/chat/room-1"), and 256 bytes keeps
// a peer from sending a megabyte of name.
const MaxNamespaceLen = 256

// parseAttachmentsAndNamespace reads what may come between the socket.io
// type and the ack id: the attachment count of a binary packet (`1-`),
// then the namespace (`/admin,`). It returns the rest of b.
func (p *Packet) parseAttachmentsAndNamespace(b []byte) ([]byte, error) {
	if p.Socket == BinaryEvent || p.Socket == BinaryAck {
		n, digits, err := parseCount(b, "attachment count")
		if err != nil {
			return nil, err
		}
		if digits == 0 || digits >= len(b) || b[digits] != '-' {
			return nil, perr(p.Socket.String() + " needs its attachment count and a '-'")
		}
		if n < 1 {
			return nil, perr(p.Socket.String() + " needs at least one attachment")
		}
		p.Attachments = n
		b = b[digits+1:]
	}
	if len(b) == 0 || b[0] != '/' {
		return b, nil
	}
	comma := -1
	for i := 0; i < len(b) && i <= MaxNamespaceLen; i++ {
		if b[i] == ',' {
			comma = i
			break
		}
	}
	rest := []byte(nil)
	switch {
	case comma >= 0:
		rest = b[comma+1:]
	case len(b) > MaxNamespaceLen:
		return nil, perr("namespace longer than " + strconv.Itoa(MaxNamespaceLen) + " bytes")
	default:
		// No comma: the namespace runs to the end of the packet, which
		// then has nothing after it (`40/custom`, `41/custom`). This
		// package always writes the comma, but socket.io's parser takes
		// the packet without it, and its conformance suite sends it so.
		comma = len(b)
	}
	nsp := string(b[:comma])
	if nsp == "/" {
		return nil, perr(`namespace "/" is written by leaving it out`)
	}
	if err := checkNamespace(nsp); err != nil {
		return nil, err
	}
	p.Namespace = nsp
	return rest, nil
}

// parseCount reads a decimal count at the start of b, as parseAckID does
// for ack ids: no leading zero, at most MaxAckID.
func parseCount(b []byte, what string) (n, digits int, err error) {
	n, digits, err = parseAckID(b)
	if err != nil {
		return 0, 0, perr(strings.Replace(err.Error(), "ack id", what, 1))
	}
	return n, digits, nil
}

// checkNamespace makes sure nsp is a namespace this package writes: a '/',
// then at least one printable character that is not a space or a comma
// (the comma ends the namespace on the wire), MaxNamespaceLen bytes at most.
func checkNamespace(nsp string) error {
	switch {
	case len(nsp) > MaxNamespaceLen:
		return perr("namespace longer than " + strconv.Itoa(MaxNamespaceLen) + " bytes")
	case len(nsp) < 2 || nsp[0] != '/':
		return perr("namespace must start with '/': " + strconv.Quote(nsp))
	}
	for _, r := range nsp {
		if r == utf8.RuneError || r == ',' || r == ' ' || !unicode.IsPrint(r) {
			return perr("namespace may hold only printable characters, no space or comma: " + strconv.Quote(nsp))
		}
	}
	return nil
}

// isMainNamespace reports whether nsp names the main namespace.
func isMainNamespace(nsp string) bool { return nsp == "" || nsp == "/" }

// appendHeader writes the start of a socket.io packet inside a MESSAGE:
// `4`, the type, the attachment count of a binary packet and its '-', the
// namespace and its comma (not for "/"), and the ack id (not for NoAck).
func appendHeader(dst []byte, t SocketType, attachments int, nsp string, ackID int) ([]byte, error) {
	if !isMainNamespace(nsp) {
		if err := checkNamespace(nsp); err != nil {
			return dst, err
		}
	}
	if ackID != NoAck && (ackID < 0 || ackID > MaxAckID) {
		return dst, perr("ack id out of range")
	}
	dst = append(dst, byte(Message), byte(t))
	if t == BinaryEvent || t == BinaryAck {
		if attachments < 1 || attachments > MaxAckID {
			return dst[:len(dst)-2], perr(t.String() + " needs at least one attachment")
		}
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if !isMainNamespace(nsp) {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if ackID != NoAck {
		dst = strconv.AppendInt(dst, int64(ackID), 10)
	}
	return dst, nil
}

// AppendConnectTo is AppendConnect for the namespace nsp:
//
//	AppendConnectTo(dst, "/admin", nil)                          →  40/admin,
//	AppendConnectTo(dst, "/admin", json.RawMessage(`{"sid":"x"}`))  →  40/admin,{"sid":"x"}
//
// nsp "" or "/" is the main namespace, written as nothing.
func AppendConnectTo(dst []byte, nsp string, data json.RawMessage) ([]byte, error) {
	start := len(dst)
	dst, err := appendHeader(dst, Connect, 0, nsp, NoAck)
	if err != nil || len(data) == 0 {
		return dst, err
	}
	data = trimSpace(data)
	if err := checkJSON(data, '{', "CONNECT payload"); err != nil {
		return dst[:start], err
	}
	return append(dst, data...), nil
}

// AppendDisconnectFrom is AppendDisconnect for the namespace nsp:
// `41/admin,`, or `41` for the main namespace.
func AppendDisconnectFrom(dst []byte, nsp string) ([]byte, error) {
	return appendHeader(dst, Disconnect, 0, nsp, NoAck)
}

// AppendConnectErrorTo is AppendConnectError for the namespace nsp, the
// server's answer to a CONNECT it refuses:
//
//	AppendConnectErrorTo(dst, "/random", "Invalid namespace")  →  44/random,{"message":"Invalid namespace"}
//
// Bytes in message that are not UTF-8 become U+FFFD; only a bad namespace
// is an error.
func AppendConnectErrorTo(dst []byte, nsp, message string) ([]byte, error) {
	dst, err := appendHeader(dst, ConnectError, 0, nsp, NoAck)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"message":`...)
	dst, _ = appendString(dst, strings.ToValidUTF8(message, "\uFFFD"))
	return append(dst, '}'), nil
}

// AppendEventTo is AppendEvent for the namespace nsp:
//
//	AppendEventTo(dst, "/admin", 17, "chat", json.RawMessage(`"hi"`))  →  42/admin,17["chat","hi"]
func AppendEventTo(dst []byte, nsp string, ackID int, name string, args ...json.RawMessage) ([]byte, error) {
	return appendEvent(dst, Event, 0, nsp, ackID, name, args)
}

// AppendAckTo is AppendAck for the namespace nsp:
//
//	AppendAckTo(dst, "/admin", 17, json.RawMessage(`"ok"`))  →  43/admin,17["ok"]
func AppendAckTo(dst []byte, nsp string, ackID int, args ...json.RawMessage) ([]byte, error) {
	return appendAck(dst, Ack, 0, nsp, ackID, args)
}

// appendEvent writes an EVENT or a BINARY_EVENT whose arguments are raw
// JSON (a binary packet's placeholders among them).
func appendEvent(dst []byte, t SocketType, attachments int, nsp string, ackID int, name string, args []json.RawMessage) ([]byte, error) {
	if IsReserved(name) {
		return dst, perr(`reserved event name "` + name + `"`)
	}
	start := len(dst)
	dst, err := appendHeader(dst, t, attachments, nsp, ackID)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	dst, ok := appendString(dst, name)
	if !ok {
		return dst[:start], perr("event name is not valid UTF-8")
	}
	dst, err = appendArgs(dst, args, ',', "event")
	if err != nil {
		return dst[:start], err
	}
	return append(dst, ']'), nil
}

// appendAck writes an ACK or a BINARY_ACK whose arguments are raw JSON.
func appendAck(dst []byte, t SocketType, attachments int, nsp string, ackID int, args []json.RawMessage) ([]byte, error) {
	if ackID < 0 {
		return dst, perr("ack id out of range")
	}
	start := len(dst)
	dst, err := appendHeader(dst, t, attachments, nsp, ackID)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	dst, err = appendArgs(dst, args, 0, "ack")
	if err != nil {
		return dst[:start], err
	}
	return append(dst, ']'), nil
}
