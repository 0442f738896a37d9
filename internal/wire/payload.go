package wire

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// Long-polling payloads: several packets in one HTTP body.
//
// On HTTP long-polling there is no frame per packet: the answer to one GET
// (and the body of one POST) carries every packet that was waiting, joined
// by the ASCII record separator, byte 0x1e, which JSON text never contains
// unescaped. In the devtools the separator shows as a small box or nothing:
//
//	GET /socket.io/?EIO=4&transport=polling&sid=…   →   2␞42["chat","hi"]␞42["chat","ho"]
//
// A binary packet (an attachment, see binary.go) cannot travel inside text,
// so it goes as `b` and its bytes in base64:
//
//	451-["file",{"_placeholder":true,"num":0}]␞bAQID      (the bytes 01 02 03)
//
// SplitPayload cuts a payload into its packets and AppendPayload joins
// them. Engine.IO over WebSocket needs neither: there each packet is one
// WebSocket message, text or binary.

// RecordSeparator joins the packets of a long-polling payload.
const RecordSeparator = 0x1e

// DefaultMaxPayloadPackets bounds how many packets one payload may hold
// unless the caller says otherwise. A payload of maxPayload bytes could
// hold half a million one-byte packets; ten thousand is far more than a
// client batches (socket.io-client sends what it buffered while the last
// POST was out) and keeps the packet list small.
const DefaultMaxPayloadPackets = 10000

// PollPacket is one Engine.IO packet of a long-polling payload.
type PollPacket struct {
	// Binary is true for a `b` packet: Data is then the decoded bytes, an
	// Engine.IO MESSAGE with binary data (a socket.io attachment).
	Binary bool

	// Data is the packet text (`42["chat","hi"]`, for ParseSocketIO) when
	// Binary is false, the decoded bytes when it is true.
	Data []byte
}

// SplitPayload cuts a long-polling payload into its packets and appends
// them to dst. A text packet's Data is a slice of payload, not a copy; the
// binary packets' bytes share one new block of memory.
//
// It checks what it can without reading the packets: the payload is at
// most maxPayload bytes (0: DefaultMaxPayload) and holds at most
// maxPackets packets (0: DefaultMaxPayloadPackets); no packet is empty;
// each starts with a known Engine.IO type ('0' … '6') or is `b` and valid
// base64 (padded, as Node and the browsers write it). Anything else is an
// error and dst comes back as it was given: one bad packet spoils the
// payload, as it does in engine.io, which stops at the first.
func SplitPayload(dst []PollPacket, payload []byte, maxPayload, maxPackets int) ([]PollPacket, error) {
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	if maxPackets <= 0 {
		maxPackets = DefaultMaxPayloadPackets
	}
	if len(payload) > maxPayload {
		return dst, perr(fmt.Sprintf("payload of %d bytes exceeds maxPayload %d", len(payload), maxPayload))
	}
	// First pass: check every packet and add up the binary ones' size, so
	// that their bytes can go into one block.
	count, binarySize := 0, 0
	for rest, more := payload, true; more; {
		var packet []byte
		packet, rest, more = cutRecord(rest)
		count++
		if count > maxPackets {
			return dst, perr(fmt.Sprintf("payload holds more than %d packets", maxPackets))
		}
		if err := checkPollPacket(packet, count); err != nil {
			return dst, err
		}
		if packet[0] == 'b' {
			binarySize += base64.StdEncoding.DecodedLen(len(packet) - 1)
		}
	}
	var mem []byte
	if binarySize > 0 {
		mem = make([]byte, 0, binarySize)
	}
	out := dst
	for rest, more := payload, true; more; {
		var packet []byte
		packet, rest, more = cutRecord(rest)
		if packet[0] != 'b' {
			out = append(out, PollPacket{Data: packet[:len(packet):len(packet)]})
			continue
		}
		start := len(mem)
		n, err := pollBase64.Decode(mem[start:cap(mem)], packet[1:])
		if err != nil {
			return dst, perr(fmt.Sprintf("payload packet %d is not valid base64", len(out)-len(dst)+1))
		}
		mem = mem[:start+n]
		out = append(out, PollPacket{Binary: true, Data: mem[start : start+n : start+n]})
	}
	return out, nil
}

// pollBase64 is the base64 of `b` packets: the standard alphabet with '='
// padding, and strict: no line breaks, no stray bits in the last character.
var pollBase64 = base64.StdEncoding.Strict()

// cutRecord cuts the first packet off a payload.
func cutRecord(payload []byte) (packet, rest []byte, more bool) {
	i := bytes.IndexByte(payload, RecordSeparator)
	if i < 0 {
		return payload, nil, false
	}
	return payload[:i], payload[i+1:], true
}

// checkPollPacket looks at the n-th packet of a payload (counting from 1)
// without decoding it.
func checkPollPacket(packet []byte, n int) error {
	switch {
	case len(packet) == 0:
		return perr(fmt.Sprintf("payload packet %d is empty", n))
	case packet[0] == 'b':
		// Go's decoder skips \r and \n; Node's skips any whitespace. Neither
		// writes any, so here they are an error rather than a second spelling.
		if bytes.ContainsAny(packet[1:], "\r\n") || len(packet[1:])%4 != 0 {
			return perr(fmt.Sprintf("payload packet %d is not valid base64", n))
		}
		return nil
	case packet[0] < '0' || packet[0] > '6':
		return perr(fmt.Sprintf("payload packet %d: %s", n, unknownType(packet).Error()))
	}
	return nil
}

// AppendPayload joins packets into a long-polling payload at the end of
// dst: text packets as they are, binary ones as `b` and base64, with the
// record separator between them. A text packet must not be empty, must
// start with an Engine.IO type, and must not hold the separator itself;
// otherwise it is an error and dst comes back as it was given.
func AppendPayload(dst []byte, packets ...PollPacket) ([]byte, error) {
	if len(packets) == 0 {
		return dst, perr("a payload holds at least one packet")
	}
	start := len(dst)
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		if p.Binary {
			dst = append(dst, 'b')
			dst = pollBase64.AppendEncode(dst, p.Data)
			continue
		}
		if err := checkPollPacket(p.Data, i+1); err != nil || p.Data[0] == 'b' {
			if err == nil {
				err = perr(fmt.Sprintf("payload packet %d: a text packet cannot start with 'b'", i+1))
			}
			return dst[:start], err
		}
		if bytes.IndexByte(p.Data, RecordSeparator) >= 0 {
			return dst[:start], perr(fmt.Sprintf("payload packet %d holds the record separator 0x1e", i+1))
		}
		dst = append(dst, p.Data...)
	}
	return dst, nil
}

// The upgrade from long-polling to WebSocket, as the devtools show it: the
// client opens a WebSocket with the session's sid while it keeps polling,
// and tests it before it trusts it.
//
//	client → WebSocket   2probe    PING with "probe": does this WebSocket reach my session?
//	server → WebSocket   3probe    PONG with "probe": yes
//	server → polling     6         NOOP: ends the GET that was waiting, so no packet is stuck in it
//	client → WebSocket   5         UPGRADE: from now on, only this WebSocket
//
// ParseSocketIO reads these four; ParsePacket, for miniio's TCP, where
// nothing is upgraded, refuses them.

// The OPEN packet of a long-polling session names the transport it may
// upgrade to, right after the sid, where socket.io puts it:
//
//	0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//
// Handshake.Upgrades holds the list; nil leaves the key out (miniio's TCP
// OPEN), an empty non-nil list writes "upgrades":[] (socket.io's OPEN on a
// WebSocket). Reading, an empty list comes back as nil.

// upgradesValue reads the OPEN packet's "upgrades": an array of strings.
func upgradesValue(value []byte) ([]string, error) {
	bad := perr("OPEN upgrades must be an array of strings")
	if value[0] != '[' {
		return nil, bad
	}
	elems, err := appendElements(nil, value, 1, true)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range elems {
		if e[0] != '"' {
			return nil, bad
		}
		name, err := decodeString(e)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// appendUpgrades writes `,"upgrades":[…]` unless upgrades is nil.
func appendUpgrades(dst []byte, upgrades []string) ([]byte, bool) {
	if upgrades == nil {
		return dst, true
	}
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = appendString(dst, u); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}

// AppendPingProbe writes `2probe`, the client's test of a new WebSocket.
func AppendPingProbe(dst []byte) []byte { return append(dst, "2probe"...) }

// AppendPongProbe writes `3probe`, the server's answer to `2probe`.
func AppendPongProbe(dst []byte) []byte { return append(dst, "3probe"...) }

// AppendUpgrade writes UPGRADE: `5`.
func AppendUpgrade(dst []byte) []byte { return append(dst, byte(Upgrade)) }

// AppendNoop writes NOOP: `6`.
func AppendNoop(dst []byte) []byte { return append(dst, byte(Noop)) }

// String is the packet as a payload spells it, for logs and test failures:
// the text, or `b` and base64.
func (p PollPacket) String() string {
	if p.Binary {
		return "b" + pollBase64.EncodeToString(p.Data)
	}
	return string(p.Data)
}
