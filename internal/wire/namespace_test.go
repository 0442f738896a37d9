package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// What ParseSocketIO reads beyond ParsePacket: namespaces, binary headers
// and the upgrade packets, each with socket.io's exact text.
var socketIOVectors = []struct {
	text   string
	packet Packet
}{
	{`40/custom,`, Packet{Engine: Message, Socket: Connect, Namespace: "/custom"}},
	{`40/custom,{"token":"x"}`, Packet{Engine: Message, Socket: Connect, Namespace: "/custom", Data: raw(`{"token":"x"}`)}},
	{`40/custom,{"sid":"wZX3oN0bSVIhsaknAAAI"}`, Packet{Engine: Message, Socket: Connect, Namespace: "/custom", Data: raw(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}},
	{`41/custom,`, Packet{Engine: Message, Socket: Disconnect, Namespace: "/custom"}},
	{`42/custom,["ev",1]`, Packet{Engine: Message, Socket: Event, Namespace: "/custom", Event: "ev", Args: []json.RawMessage{raw(`1`)}}},
	{`42/custom,17["ev",1]`, Packet{Engine: Message, Socket: Event, Namespace: "/custom", Event: "ev", HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`1`)}}},
	{`43/custom,17["ok"]`, Packet{Engine: Message, Socket: Ack, Namespace: "/custom", HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"ok"`)}}},
	{`44/random,{"message":"Invalid namespace"}`, Packet{Engine: Message, Socket: ConnectError, Namespace: "/random", Reason: "Invalid namespace"}},
	{`42/chat/room-1,["x"]`, Packet{Engine: Message, Socket: Event, Namespace: "/chat/room-1", Event: "x"}},
	{`42/café,["x"]`, Packet{Engine: Message, Socket: Event, Namespace: "/café", Event: "x"}},
	{`451-["ev",{"_placeholder":true,"num":0}]`, Packet{Engine: Message, Socket: BinaryEvent, Attachments: 1, Event: "ev",
		Args: []json.RawMessage{raw(`{"_placeholder":true,"num":0}`)}}},
	{`452-/custom,9["ev",{"_placeholder":true,"num":0},{"f":{"_placeholder":true,"num":1}}]`, Packet{Engine: Message,
		Socket: BinaryEvent, Attachments: 2, Namespace: "/custom", HasAck: true, AckID: 9, Event: "ev",
		Args: []json.RawMessage{raw(`{"_placeholder":true,"num":0}`), raw(`{"f":{"_placeholder":true,"num":1}}`)}}},
	{`461-17[{"_placeholder":true,"num":0}]`, Packet{Engine: Message, Socket: BinaryAck, Attachments: 1, HasAck: true, AckID: 17,
		Args: []json.RawMessage{raw(`{"_placeholder":true,"num":0}`)}}},
	{`461-/custom,17[{"_placeholder":true,"num":0}]`, Packet{Engine: Message, Socket: BinaryAck, Attachments: 1, Namespace: "/custom",
		HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`{"_placeholder":true,"num":0}`)}}},
	{`2probe`, Packet{Engine: Ping, Probe: true}},
	{`3probe`, Packet{Engine: Pong, Probe: true}},
	{`5`, Packet{Engine: Upgrade}},
	{`6`, Packet{Engine: Noop}},
}

func TestParseSocketIOVectors(t *testing.T) {
	for _, v := range socketIOVectors {
		got, err := ParseSocketIO([]byte(v.text))
		if err != nil {
			t.Errorf("ParseSocketIO(%s): %v", v.text, err)
			continue
		}
		if !samePacket(got, v.packet) {
			t.Errorf("ParseSocketIO(%s)\n got %#v\nwant %#v", v.text, got, v.packet)
		}
		out, err := AppendPacket(nil, v.packet)
		if err != nil || string(out) != v.text {
			t.Errorf("AppendPacket(%#v) = %s (%v), want %s", v.packet, out, err, v.text)
		}
		// miniio's TCP core keeps refusing them, as it did before.
		if _, err := ParsePacket([]byte(v.text)); err == nil {
			t.Errorf("ParsePacket(%s) accepts it; only ParseSocketIO should", v.text)
		}
	}
	// Everything ParsePacket reads, ParseSocketIO reads the same way.
	for _, v := range vectors {
		got, err := ParseSocketIO([]byte(v.text))
		if err != nil || !samePacket(got, v.packet) {
			t.Errorf("ParseSocketIO(%s) = %#v, %v; want what ParsePacket gives", v.text, got, err)
		}
	}
}

// socket.io's parser also takes a namespace that ends the packet without
// its comma, and its conformance suite sends `40/custom` and `41/custom`
// so; this package reads them and writes the comma back.
func TestParseSocketIONamespaceWithoutComma(t *testing.T) {
	for text, want := range map[string]Packet{
		`40/custom`: {Engine: Message, Socket: Connect, Namespace: "/custom"},
		`41/custom`: {Engine: Message, Socket: Disconnect, Namespace: "/custom"},
		`40/random`: {Engine: Message, Socket: Connect, Namespace: "/random"},
	} {
		got, err := ParseSocketIO([]byte(text))
		if err != nil || !samePacket(got, want) {
			t.Errorf("ParseSocketIO(%s) = %#v, %v; want %#v", text, got, err, want)
		}
		if out, _ := AppendPacket(nil, got); string(out) != text+"," {
			t.Errorf("AppendPacket(ParseSocketIO(%s)) = %s, want %s,", text, out, text)
		}
	}
}

// "" and "/" both name the main namespace when writing.
func TestMainNamespaceWrittenAsNothing(t *testing.T) {
	for _, nsp := range []string{"", "/"} {
		got := []string{
			mustText(AppendConnectTo(nil, nsp, nil)),
			mustText(AppendDisconnectFrom(nil, nsp)),
			mustText(AppendConnectErrorTo(nil, nsp, "no")),
			mustText(AppendEventTo(nil, nsp, 3, "ev")),
			mustText(AppendAckTo(nil, nsp, 3)),
			mustText(AppendPacket(nil, Packet{Engine: Message, Socket: Event, Namespace: nsp, Event: "ev"})),
		}
		want := []string{`40`, `41`, `44{"message":"no"}`, `423["ev"]`, `433[]`, `42["ev"]`}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("namespace %q, case %d: %s, want %s", nsp, i, got[i], want[i])
			}
		}
	}
}

func mustText(b []byte, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

func TestParseSocketIOErrors(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxNamespaceLen)
	cases := []struct{ text, err string }{
		{`42/custom`, `EVENT payload must be a JSON array`},
		{`42/custom["x"]`, `EVENT payload must be a JSON array`},
		{`40/,`, `namespace "/" is written by leaving it out`},
		{`42/a b,["x"]`, `namespace may hold only printable characters, no space or comma: "/a b"`},
		{"42/a\u0085b,[\"x\"]", `namespace may hold only printable characters, no space or comma: "/a\u0085b"`},
		{`40` + long + `,`, `namespace longer than 256 bytes`},
		{`40` + long, `namespace longer than 256 bytes`},
		{`41/custom,x`, `DISCONNECT takes no payload`},
		{`42/custom,`, `EVENT payload must be a JSON array`},
		{`43/custom,["x"]`, `ACK needs an ack id`},
		{`45["x"]`, `BINARY_EVENT needs its attachment count and a '-'`},
		{`45-["x"]`, `BINARY_EVENT needs its attachment count and a '-'`},
		{`451["x"]`, `BINARY_EVENT needs its attachment count and a '-'`},
		{`451`, `BINARY_EVENT needs its attachment count and a '-'`},
		{`450-["x"]`, `BINARY_EVENT needs at least one attachment`},
		{`4501-["x"]`, `attachment count has a leading zero`},
		{`4599999999999-["x"]`, `attachment count out of range`},
		{`451-`, `BINARY_EVENT payload must be a JSON array`},
		{`451-["connect",{"_placeholder":true,"num":0}]`, `reserved event name "connect"`},
		{`461-[{"_placeholder":true,"num":0}]`, `BINARY_ACK needs an ack id`},
		{`461-17{}`, `BINARY_ACK payload must be a JSON array`},
		{`47`, `unknown packet type '7'`},
		{`4/custom,["x"]`, `unknown packet type '/'`},
		{`2probe2`, `PING takes no payload`},
		{`3PROBE`, `PONG takes no payload`},
		{`5x`, `UPGRADE takes no payload`},
		{`6 `, `NOOP takes no payload`},
		{`7`, `unknown packet type '7'`},
	}
	for _, c := range cases {
		p, err := ParseSocketIO([]byte(c.text))
		if err == nil {
			t.Errorf("ParseSocketIO(%q) = %v, want error %q", c.text, p, c.err)
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("ParseSocketIO(%q): error %T is not a *ProtocolError", c.text, err)
		}
		if err.Error() != c.err {
			t.Errorf("ParseSocketIO(%q):\n got error %q\nwant error %q", c.text, err, c.err)
		}
		if !samePacket(p, Packet{}) {
			t.Errorf("ParseSocketIO(%q) failed but returned a half-read packet %#v", c.text, p)
		}
	}
}

func TestNamespaceEncodeErrors(t *testing.T) {
	prefix := []byte("already here")
	for _, nsp := range []string{"custom", "/a,b", "/a b", "/\xff", "/\x01", "/" + strings.Repeat("a", MaxNamespaceLen)} {
		for name, f := range map[string]func() ([]byte, error){
			"connect":       func() ([]byte, error) { return AppendConnectTo(prefix, nsp, nil) },
			"disconnect":    func() ([]byte, error) { return AppendDisconnectFrom(prefix, nsp) },
			"connect error": func() ([]byte, error) { return AppendConnectErrorTo(prefix, nsp, "no") },
			"event":         func() ([]byte, error) { return AppendEventTo(prefix, nsp, NoAck, "x") },
			"ack":           func() ([]byte, error) { return AppendAckTo(prefix, nsp, 1) },
		} {
			b, err := f()
			if err == nil || !strings.Contains(err.Error(), "namespace") {
				t.Errorf("%s in %q: error %v, want one about the namespace", name, nsp, err)
			}
			if string(b) != string(prefix) {
				t.Errorf("%s in %q: dst changed to %q on error", name, nsp, b)
			}
		}
	}
	if b, err := AppendConnectTo(prefix, "/ok", raw(`[1]`)); err == nil || string(b) != string(prefix) {
		t.Errorf("CONNECT with an array: %q, %v", b, err)
	}
}

// socket.io's encoder writes the same bytes for every vector, and its
// decoder reads ours back to the same text.
func TestSocketIONamespacesSameBytes(t *testing.T) {
	cases := []struct {
		ours Packet
		js   nodeCase
	}{
		{Packet{Engine: Message, Socket: Connect, Namespace: "/custom"}, nodeCase{Engine: "message", Sio: raw(`{"type":0,"nsp":"/custom"}`)}},
		{Packet{Engine: Message, Socket: Connect, Namespace: "/custom", Data: raw(`{"token":"x"}`)},
			nodeCase{Engine: "message", Sio: raw(`{"type":0,"nsp":"/custom","data":{"token":"x"}}`)}},
		{Packet{Engine: Message, Socket: Disconnect, Namespace: "/custom"}, nodeCase{Engine: "message", Sio: raw(`{"type":1,"nsp":"/custom"}`)}},
		{Packet{Engine: Message, Socket: Event, Namespace: "/custom", Event: "ev", Args: []json.RawMessage{raw(`1`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/custom","data":["ev",1]}`)}},
		{Packet{Engine: Message, Socket: Event, Namespace: "/custom", Event: "ev", HasAck: true, AckID: 0},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/custom","data":["ev"],"id":0}`)}},
		{Packet{Engine: Message, Socket: Ack, Namespace: "/custom", HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"ok"`)}},
			nodeCase{Engine: "message", Sio: raw(`{"type":3,"nsp":"/custom","data":["ok"],"id":17}`)}},
		{Packet{Engine: Message, Socket: ConnectError, Namespace: "/random", Reason: "Invalid namespace"},
			nodeCase{Engine: "message", Sio: raw(`{"type":4,"nsp":"/random","data":{"message":"Invalid namespace"}}`)}},
		{Packet{Engine: Message, Socket: Event, Namespace: "/café", Event: "x"},
			nodeCase{Engine: "message", Sio: raw(`{"type":2,"nsp":"/café","data":["x"]}`)}},
		{Packet{Engine: Ping, Probe: true}, nodeCase{Engine: "ping", JSON: nil}},
		{Packet{Engine: Upgrade}, nodeCase{Engine: "upgrade"}},
		{Packet{Engine: Noop}, nodeCase{Engine: "noop"}},
	}
	var js []nodeCase
	for _, c := range cases {
		js = append(js, c.js)
	}
	var texts []string
	for _, v := range socketIOVectors {
		if v.packet.Socket != BinaryEvent && v.packet.Socket != BinaryAck {
			texts = append(texts, v.text)
		}
	}
	theirs, decoded := socketIOParser(t, map[string]any{"encode": js, "decode": texts})
	for i, c := range cases {
		ours, err := AppendPacket(nil, c.ours)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		want := theirs[i]
		if c.ours.Probe {
			want = "2probe" // the script cannot pass "probe" as data; engine.io writes type + data
		}
		if string(ours) != want {
			t.Errorf("case %d:\nsocket.io writes %q\n   miniio writes %q", i, want, ours)
		}
	}
	for i, d := range decoded {
		if d.Error != "" || d.Again != texts[i] {
			t.Errorf("socket.io reads %s as %s (error %q) and writes it back as %q", texts[i], d.Sio, d.Error, d.Again)
		}
	}
}

// Where ParseSocketIO refuses what socket.io takes, it is on purpose.
func TestSocketIORefusalsComparedWithSocketIO(t *testing.T) {
	bothRefuse := []string{
		`45-["x"]`, `450-["x"]`, `45x-["x"]`, `451["x"]`, `47`, `41/custom,x`, `7`, `40/custom,[]`,
	}
	onPurpose := []string{
		`40/,`,         // "/" is written by leaving it out: one spelling per packet
		`42/a b,["x"]`, // namespaces are printable and have no spaces
		`42/custom,`,   // an EVENT with no array at all (ParsePacket refuses `42` too)
		`4501-["x"]`,   // a leading zero in the attachment count
		`461-[1]`,      // a BINARY_ACK needs an ack id, as an ACK does
		"40/" + strings.Repeat("a", MaxNamespaceLen) + ",", // MaxNamespaceLen
	}
	_, decoded := socketIOParser(t, map[string]any{"encode": []nodeCase{}, "decode": append(bothRefuse, onPurpose...)})
	// A binary header that socket.io accepts leaves its decoder waiting for
	// the attachments; the script reports that as "pending".
	accepted := func(d nodeDecoded) bool { return d.Error == "" || strings.Contains(d.Error, "attachments pending") }
	for i, text := range bothRefuse {
		if _, err := ParseSocketIO([]byte(text)); err == nil {
			t.Errorf("ParseSocketIO accepts %q", text)
		}
		if accepted(decoded[i]) {
			t.Errorf("socket.io accepts %q as %s; is ParseSocketIO too strict?", text, decoded[i].Sio)
		}
	}
	for i, text := range onPurpose {
		if _, err := ParseSocketIO([]byte(text)); err == nil {
			t.Errorf("ParseSocketIO accepts %q", text)
		}
		if d := decoded[len(bothRefuse)+i]; !accepted(d) {
			t.Errorf("socket.io now refuses %q too (%s): update this list", text, d.Error)
		}
	}
}

// A namespaced event costs one allocation more than a plain one: the
// namespace's string, next to the event name's.
func TestNamespacedParseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	text := []byte(`42/admin,["chat",{"user":"ada","text":"hello, world","ts":1700000000}]`)
	var p Packet
	if n := testing.AllocsPerRun(100, func() { _ = p.ParseSocketIO(text) }); n > 2 {
		t.Errorf("parsing a namespaced event into a reused Packet: %v allocations, want at most 2", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.ParseSocketIO(chatText) }); n > 1 {
		t.Errorf("parsing a plain event with ParseSocketIO: %v allocations, want at most 1 (the name)", n)
	}
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst, _ = AppendEventTo(dst[:0], "/admin", 17, "chat", chatArg) }); n != 0 {
		t.Errorf("writing a namespaced event: %v allocations, want 0", n)
	}
}
