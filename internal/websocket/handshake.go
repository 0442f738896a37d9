package websocket

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"

	"socklab/internal/httpwire"
)

// acceptGUID is the fixed string RFC 6455 glues to every key. It was picked
// as something no other protocol would ever hash, so only a server that
// really speaks WebSocket can produce the answer.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key:
// base64(SHA-1(key + GUID)). The SHA-1 here is not for security (SHA-1 is
// broken for that); it only shows that the server read this request.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// CheckRequest decides whether req asks for a WebSocket, and returns its
// key. A refusal is an *httpwire.Error to answer with (httpwire's
// Error.Append), then close:
//
//   - not GET: 405, with Allow: GET;
//   - older than HTTP/1.1: 400;
//   - no "Upgrade: websocket": 426 Upgrade Required, naming websocket, so
//     a plain browser tab opened on the URL learns what the server wants;
//   - Connection without the "upgrade" token: 400;
//   - Sec-WebSocket-Version not 13: 426 with "Sec-WebSocket-Version: 13",
//     the version we speak, as RFC 6455 4.2.2 asks;
//   - Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64: 400.
func CheckRequest(req *httpwire.Request) (key string, err *httpwire.Error) {
	if req.Method != "GET" {
		return "", &httpwire.Error{Status: 405, Reason: "a WebSocket handshake is a GET",
			Headers: []httpwire.Header{{Name: "Allow", Value: "GET"}}}
	}
	if req.Major == 1 && req.Minor < 1 {
		return "", &httpwire.Error{Status: 400, Reason: "a WebSocket handshake needs HTTP/1.1"}
	}
	if !req.HasToken("Upgrade", "websocket") {
		return "", &httpwire.Error{Status: 426, Reason: "this URL speaks WebSocket only: send Upgrade: websocket",
			Headers: []httpwire.Header{{Name: "Upgrade", Value: "websocket"}, {Name: "Connection", Value: "Upgrade"}}}
	}
	if !req.HasToken("Connection", "upgrade") {
		return "", &httpwire.Error{Status: 400, Reason: "Connection header does not list \"Upgrade\""}
	}
	if v, _ := req.Header("Sec-WebSocket-Version"); v != "13" || req.HeaderCount("Sec-WebSocket-Version") != 1 {
		return "", &httpwire.Error{Status: 426, Reason: "Sec-WebSocket-Version must be 13",
			Headers: []httpwire.Header{{Name: "Sec-WebSocket-Version", Value: "13"}}}
	}
	key, _ = req.Header("Sec-WebSocket-Key")
	if req.HeaderCount("Sec-WebSocket-Key") != 1 || !validKey(key) {
		return "", &httpwire.Error{Status: 400, Reason: "Sec-WebSocket-Key must be 16 bytes in base64"}
	}
	return key, nil
}

// validKey reports whether key is base64 for exactly 16 bytes: 24
// characters ending in "==".
func validKey(key string) bool {
	if len(key) != 24 || !strings.HasSuffix(key, "==") {
		return false
	}
	var raw [18]byte
	n, err := base64.StdEncoding.Decode(raw[:], []byte(key))
	return err == nil && n == 16
}

// AppendAccept writes the 101 answer to a checked request. extra headers
// (none are needed) go after the three that make the switch. There is no
// Sec-WebSocket-Extensions: compression is declined (see the package doc),
// and no Sec-WebSocket-Protocol: socket.io asks for no subprotocol.
func AppendAccept(dst []byte, key string, extra []httpwire.Header) []byte {
	var headers [8]httpwire.Header
	h := append(headers[:0],
		httpwire.Header{Name: "Upgrade", Value: "websocket"},
		httpwire.Header{Name: "Connection", Value: "Upgrade"},
		httpwire.Header{Name: "Sec-WebSocket-Accept", Value: AcceptKey(key)})
	h = append(h, extra...)
	return httpwire.AppendResponse(dst, 101, h, nil)
}

// NewKey makes a client's Sec-WebSocket-Key: 16 bytes from the system's
// random source, in base64. It must be new for every connection.
func NewKey() string {
	var nonce [16]byte
	rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24 and later)
	return base64.StdEncoding.EncodeToString(nonce[:])
}

// NewMaskKey makes a client's mask key for one frame.
func NewMaskKey() [4]byte {
	var key [4]byte
	rand.Read(key[:])
	return key
}

// AppendClientRequest writes a client's handshake: GET target on host, with
// the key from NewKey.
func AppendClientRequest(dst []byte, host, target, key string, extra []httpwire.Header) []byte {
	h := []httpwire.Header{
		{Name: "Upgrade", Value: "websocket"},
		{Name: "Connection", Value: "Upgrade"},
		{Name: "Sec-WebSocket-Key", Value: key},
		{Name: "Sec-WebSocket-Version", Value: "13"},
	}
	return httpwire.AppendRequest(dst, "GET", target, host, append(h, extra...), nil)
}

// CheckResponse decides whether resp (from httpwire.ParseResponse) accepts
// the handshake made with key. Anything else is an error that says what
// came back: a server that answers 400 with a reason is telling the client
// why, and the client should show it. RFC 6455 4.1 also makes the client
// fail when the server names an extension or subprotocol it never offered.
func CheckResponse(resp *httpwire.Response, key string) error {
	if resp.Status != 101 {
		return &HandshakeError{Status: resp.Status, Reason: "server answered " + strconv.Itoa(resp.Status) + " " + resp.Reason + ", not 101 Switching Protocols"}
	}
	if !resp.HasToken("Upgrade", "websocket") {
		return &HandshakeError{Status: 101, Reason: "101 without Upgrade: websocket"}
	}
	if !resp.HasToken("Connection", "upgrade") {
		return &HandshakeError{Status: 101, Reason: "101 without Connection: Upgrade"}
	}
	if got, _ := resp.Header("Sec-WebSocket-Accept"); got != AcceptKey(key) {
		return &HandshakeError{Status: 101, Reason: "Sec-WebSocket-Accept " + strconv.Quote(got) + " does not match the key (want " + AcceptKey(key) + ")"}
	}
	if v, ok := resp.Header("Sec-WebSocket-Extensions"); ok {
		return &HandshakeError{Status: 101, Reason: "server chose extension " + strconv.Quote(v) + " that was not offered"}
	}
	if v, ok := resp.Header("Sec-WebSocket-Protocol"); ok {
		return &HandshakeError{Status: 101, Reason: "server chose subprotocol " + strconv.Quote(v) + " that was not offered"}
	}
	return nil
}

// HandshakeError is a client's failed opening handshake. Status is the
// server's answer (101 when the 101 itself was wrong).
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string { return "websocket handshake: " + e.Reason }
