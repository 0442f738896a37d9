package wire

import (
	"encoding/json"
	"testing"
	"time"
)

// The promise of this package is "the same bytes socket.io puts on the
// wire". These tests hold it to that by asking socket.io's own parsers
// (engine.io-parser and socket.io-parser, run by node from npm's
// node_modules) to write the same packets and to read ours. Without node or
// those modules they fail, unless the runner opted out (nodeparsers_test.go).

// socketIOParser runs testdata/socketio_parser.js over req.
func socketIOParser(t *testing.T, req any) (encoded []string, decoded []nodeDecoded) {
	t.Helper()
	var res struct {
		Encoded []string      `json:"encoded"`
		Decoded []nodeDecoded `json:"decoded"`
	}
	runNodeScript(t, "socketio_parser.js", req, &res)
	return res.Encoded, res.Decoded
}

// nodeCase is one packet for socket.io's encoders to write.
type nodeCase struct {
	Engine string          `json:"engine"`         // open, close, ping, pong, message
	JSON   json.RawMessage `json:"json,omitempty"` // the engine packet's data, through JSON.stringify
	Sio    json.RawMessage `json:"sio,omitempty"`  // a socket.io packet object, for message
}

// nodeDecoded is socket.io's reading of one of our texts.
type nodeDecoded struct {
	Error  string          `json:"error"`
	Engine string          `json:"engine"`
	Sio    json.RawMessage `json:"sio"`
	Again  string          `json:"again"`
}

func TestSocketIOWritesTheSameBytes(t *testing.T) {
	tricky := "say \"hi\"\n\t\x01\x1f\x7f é😀 \u2028 <&>/\\"
	trickyJS, _ := json.Marshal(tricky) // only used as input to node, which re-encodes it
	cases := []struct {
		ours Packet
		js   nodeCase
	}{
		{Packet{Engine: Open, Handshake: Handshake{SID: "lv_VI97HAXpY6yYWAAAC", PingInterval: 25 * time.Second,
			PingTimeout: 20 * time.Second, MaxPayload: DefaultMaxPayload}},
			nodeCase{Engine: "open", JSON: raw(`{"sid":"lv_VI97HAXpY6yYWAAAC","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}`)}},
		{Packet{Engine: Close}, nodeCase{Engine: "close"}},
		{Packet{Engine: Close, Reason: tricky}, nodeCase{Engine: "close", JSON: raw(`{"reason":` + string(trickyJS) + `}`)}},
		{Packet{Engine: Ping}, nodeCase{Engine: "ping"}},
		{Packet{Engine: Pong}, nodeCase{Engine: "pong"}},
		{Packet{Engine: Message, Socket: Connect}, nodeCase{Engine: "message", Sio: raw(`{"type":0,"nsp":"/"}`)}},
		{Packet{Engine: Message, Socket: Connect, Data: raw(`{"token":"abc"}`)},
			nodeCase{Engine: "message", Sio: raw(`{"type":0,"nsp":"/","data":{"token":"abc"}}`)}},
		{Packet{Engine: Message, Socket: Connect, Data: raw(`{"sid":"x"}`)},
			nodeCase{Engine: "message", Sio: raw(`{"type":0,"nsp":"/","data":{"sid":"x"}}`)}},
		{Packet{Engine: Message, Socket: ConnectError, Reason: "not authorized"},
			nodeCase{Engine: "message", Sio: raw(`{"type":4,"nsp":"/","data":{"message":"not authorized"}}`)}},
		{Packet{Engine: Message, Socket: Disconnect}, nodeCase{Engine: "message", Sio: raw(`{"type":1,"nsp":"/"}`)}},
		{Packet{Engine: Message, Socket: Event, Event: "chat", Args: []json.RawMessage{raw(`"hi"`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/","data":["chat","hi"]}`)}},
		{Packet{Engine: Message, Socket: Event, Event: "chat", HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"hi"`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/","data":["chat","hi"],"id":17}`)}},
		{Packet{Engine: Message, Socket: Event, Event: "first", HasAck: true, AckID: 0},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/","data":["first"],"id":0}`)}},
		{Packet{Engine: Message, Socket: Event, Event: "last", HasAck: true, AckID: MaxAckID},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/","data":["last"],"id":2147483647}`)}},
		{Packet{Engine: Message, Socket: Event, Event: tricky, Args: []json.RawMessage{raw(`{"a":[1,2.5,null,true,{}]}`), raw(`"\\"`), raw(`[]`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/","data":[` + string(trickyJS) + `,{"a":[1,2.5,null,true,{}]},"\\",[]]}`)}},
		{Packet{Engine: Message, Socket: Ack, HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"ok"`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":3,"nsp":"/","data":["ok"],"id":17}`)}},
		{Packet{Engine: Message, Socket: Ack, HasAck: true, AckID: 17},
			nodeCase{Engine: "message", Sio: raw(`{"type":3,"nsp":"/","data":[],"id":17}`)}},
	}
	var js []nodeCase
	for _, c := range cases {
		js = append(js, c.js)
	}
	theirs, _ := socketIOParser(t, map[string]any{"encode": js, "decode": []string{}})
	if len(theirs) != len(cases) {
		t.Fatalf("node answered %d cases, want %d", len(theirs), len(cases))
	}
	for i, c := range cases {
		ours, err := AppendPacket(nil, c.ours)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if string(ours) != theirs[i] {
			t.Errorf("case %d:\nsocket.io writes %q\n   miniio writes %q", i, theirs[i], ours)
		}
	}
}

func TestSocketIOReadsOurBytes(t *testing.T) {
	var texts []string
	for _, v := range vectors {
		texts = append(texts, v.text)
	}
	_, decoded := socketIOParser(t, map[string]any{"encode": []nodeCase{}, "decode": texts})
	for i, d := range decoded {
		// Read by socket.io and written again by socket.io, the packet must
		// come out as the very text miniio wrote.
		if d.Error != "" || d.Again != texts[i] {
			t.Errorf("socket.io reads %s as %s (error %q) and writes it back as %q", texts[i], d.Sio, d.Error, d.Again)
		}
	}
}

// Where miniio refuses what socket.io would take, it is on purpose; this
// keeps the list honest. Where both refuse, miniio is no looser.
func TestRefusalsComparedWithSocketIO(t *testing.T) {
	bothRefuse := []string{
		`42["connect"]`, `42["disconnecting",1]`, `42["newListener"]`,
		`42["chat",`, `42["chat"]x`, `42{"a":1}`, `42[]`, `42[null]`,
		`4317{}`, `40"x"`, `40[]`, `41x`, `44[1]`, `49`, `4`,
	}
	onPurpose := []string{
		`40/admin,`,             // namespaces: miniio has only "/"
		`42/admin,["x"]`,        //
		`42[1]`,                 // socket.io lets a number name an event; DESIGN.md wants a string
		`4207["x"]`,             // an ack id with a leading zero: we have one spelling per packet
		`4299999999999["x"]`,    // ack ids stop at 2^31−1 (see MaxAckID)
		`43["x"]`,               // an ACK must say which event it answers
		`4317`,                  // and carry an array, even an empty one
		`44"not authorized"`,    // CONNECT_ERROR is an object since socket.io v5
		"42[\"chat\",\"\xff\"]", // broken UTF-8: node quietly turns it into U+FFFD
	}
	_, decoded := socketIOParser(t, map[string]any{"encode": []nodeCase{}, "decode": append(bothRefuse, onPurpose...)})
	for i, text := range bothRefuse {
		if _, err := ParsePacket([]byte(text)); err == nil {
			t.Errorf("miniio accepts %q", text)
		}
		if decoded[i].Error == "" {
			t.Errorf("socket.io accepts %q as %s; is miniio too strict?", text, decoded[i].Sio)
		}
	}
	for i, text := range onPurpose {
		if _, err := ParsePacket([]byte(text)); err == nil {
			t.Errorf("miniio accepts %q", text)
		}
		if d := decoded[len(bothRefuse)+i]; d.Error != "" {
			t.Errorf("socket.io now refuses %q too (%s): update this list", text, d.Error)
		}
	}
}
