package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// The packets of the DESIGN.md tables, each with the exact text socket.io
// (and miniio) puts on the wire. Parsing the text must give the packet,
// and encoding the packet must give back the very same bytes.
var vectors = []struct {
	text   string
	packet Packet
}{
	{`0{"sid":"lv_VI97HAXpY6yYWAAAC","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}`,
		Packet{Engine: Open, Handshake: Handshake{SID: "lv_VI97HAXpY6yYWAAAC",
			PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1 << 20}}},
	{`1`, Packet{Engine: Close}},
	{`1{"reason":"ping timeout"}`, Packet{Engine: Close, Reason: "ping timeout"}},
	{`1{"reason":"parse error: reserved event name \"connect\""}`,
		Packet{Engine: Close, Reason: `parse error: reserved event name "connect"`}},
	{`2`, Packet{Engine: Ping}},
	{`3`, Packet{Engine: Pong}},
	{`40`, Packet{Engine: Message, Socket: Connect}},
	{`40{"token":"abc"}`, Packet{Engine: Message, Socket: Connect, Data: raw(`{"token":"abc"}`)}},
	{`40{"sid":"x"}`, Packet{Engine: Message, Socket: Connect, Data: raw(`{"sid":"x"}`)}},
	{`44{"message":"not authorized"}`, Packet{Engine: Message, Socket: ConnectError, Reason: "not authorized"}},
	{`41`, Packet{Engine: Message, Socket: Disconnect}},
	{`42["chat","hi"]`, Packet{Engine: Message, Socket: Event, Event: "chat", Args: []json.RawMessage{raw(`"hi"`)}}},
	{`42["ping"]`, Packet{Engine: Message, Socket: Event, Event: "ping"}},
	{`4217["event",1]`, Packet{Engine: Message, Socket: Event, Event: "event", HasAck: true, AckID: 17,
		Args: []json.RawMessage{raw(`1`)}}},
	{`420["first"]`, Packet{Engine: Message, Socket: Event, Event: "first", HasAck: true, AckID: 0}},
	{`422147483647["last"]`, Packet{Engine: Message, Socket: Event, Event: "last", HasAck: true, AckID: MaxAckID}},
	{`4317["ok"]`, Packet{Engine: Message, Socket: Ack, HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"ok"`)}}},
	{`4317[]`, Packet{Engine: Message, Socket: Ack, HasAck: true, AckID: 17}},
	{`42["message","hello"]`, Packet{Engine: Message, Socket: Event, Event: "message", Args: []json.RawMessage{raw(`"hello"`)}}},
	{`42["",null]`, Packet{Engine: Message, Socket: Event, Event: "", Args: []json.RawMessage{raw(`null`)}}},
	{`42["mixed",{"a":[1,2,{"b":"]}\",["}]},[],{},null,true,false,-1.5,"\\","é😀"]`,
		Packet{Engine: Message, Socket: Event, Event: "mixed", Args: []json.RawMessage{
			raw(`{"a":[1,2,{"b":"]}\",["}]}`), raw(`[]`), raw(`{}`), raw(`null`), raw(`true`),
			raw(`false`), raw(`-1.5`), raw(`"\\"`), raw(`"é😀"`)}}},
	{`42["say \"hi\"\n","x"]`, Packet{Engine: Message, Socket: Event, Event: "say \"hi\"\n", Args: []json.RawMessage{raw(`"x"`)}}},
	{`42["café 😀"]`, Packet{Engine: Message, Socket: Event, Event: "café 😀"}},
}

// samePacket compares two packets, treating a nil and an empty Args alike.
func samePacket(a, b Packet) bool {
	if len(a.Args) == 0 && len(b.Args) == 0 {
		a.Args, b.Args = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func TestParseVectors(t *testing.T) {
	for _, v := range vectors {
		got, err := ParsePacket([]byte(v.text))
		if err != nil {
			t.Errorf("ParsePacket(%s): %v", v.text, err)
			continue
		}
		if !samePacket(got, v.packet) {
			t.Errorf("ParsePacket(%s)\n got %#v\nwant %#v", v.text, got, v.packet)
		}
	}
}

func TestEncodeVectorsByteExact(t *testing.T) {
	for _, v := range vectors {
		got, err := AppendPacket(nil, v.packet)
		if err != nil {
			t.Errorf("AppendPacket(%s): %v", v.text, err)
			continue
		}
		if string(got) != v.text {
			t.Errorf("AppendPacket:\n got %s\nwant %s", got, v.text)
		}
	}
}

// The named Append functions give the same bytes as the table.
func TestAppendFunctions(t *testing.T) {
	must := func(b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	h := Handshake{SID: "abc", PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: DefaultMaxPayload}
	got := []string{
		must(AppendOpen(nil, h)),
		string(AppendClose(nil, "")),
		string(AppendClose(nil, "bye")),
		string(AppendPing(nil)),
		string(AppendPong(nil)),
		must(AppendConnect(nil, nil)),
		must(AppendConnect(nil, raw(` {"token":"abc"} `))),
		string(AppendConnectError(nil, "not authorized")),
		string(AppendDisconnect(nil)),
		must(AppendEvent(nil, NoAck, "chat", raw(`"hi"`))),
		must(AppendEvent(nil, 17, "event", raw(`1`))),
		must(AppendEvent(nil, NoAck, "tick")),
		must(AppendEvent(nil, NoAck, "pos", raw(" {\"x\": 1}\n"), raw(`[1, 2]`))),
		must(AppendAck(nil, 17, raw(`"ok"`))),
		must(AppendAck(nil, 17)),
		must(AppendAck(nil, 0, raw(`1`), raw(`2`))),
	}
	want := []string{
		`0{"sid":"abc","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}`,
		`1`,
		`1{"reason":"bye"}`,
		`2`,
		`3`,
		`40`,
		`40{"token":"abc"}`,
		`44{"message":"not authorized"}`,
		`41`,
		`42["chat","hi"]`,
		`4217["event",1]`,
		`42["tick"]`,
		`42["pos",{"x": 1},[1, 2]]`,
		`4317["ok"]`,
		`4317[]`,
		`430[1,2]`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("case %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// Text that is valid but spelled differently from ours parses, and comes
// back in our spelling.
func TestParseThenCanonicalText(t *testing.T) {
	cases := []struct{ in, out string }{
		{`42 [ "chat" , "hi" ] `, `42["chat","hi"]`},
		{"42[\n\t\"chat\",\r\n{ \"a\" : 1 }\n]\n", `42["chat",{ "a" : 1 }]`},
		{`42["caf\u00e9","\u00e9"]`, `42["café","\u00e9"]`},
		{`42["a\/b"]`, `42["a/b"]`},
		{`42["\ud83d\ude00"]`, `42["😀"]`},
		{`42["\u0001"]`, `42["\u0001"]`},
		{`4317[ ]`, `4317[]`},
		{`40 {"a":1}`, `40{"a":1}`},
		{`1{}`, `1`},
		{`1{"reason":"x","code":4}`, `1{"reason":"x"}`},
		{`44{"message":"no","data":{"why":1}}`, `44{"message":"no"}`},
		{`44{}`, `44{"message":""}`},
		{`0{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}`,
			`0{"sid":"s","pingInterval":1,"pingTimeout":2,"maxPayload":3}`},
		// JSON keys are case-sensitive: "SID" is not "sid", the last "sid" wins.
		{`0{"SID":"no","sid":"a","sid":"b","pingInterval":1,"pingTimeout":2,"maxPayload":3}`,
			`0{"sid":"b","pingInterval":1,"pingTimeout":2,"maxPayload":3}`},
	}
	for _, c := range cases {
		p, err := ParsePacket([]byte(c.in))
		if err != nil {
			t.Errorf("ParsePacket(%q): %v", c.in, err)
			continue
		}
		out, err := AppendPacket(nil, p)
		if err != nil || string(out) != c.out {
			t.Errorf("%q → %q (%v), want %q", c.in, out, err, c.out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ text, err string }{
		{``, `empty packet`},
		{"42[\"\xff\"]", `packet is not valid UTF-8`},
		{`9`, `unknown packet type '9'`},
		{`5`, `unknown packet type '5'`},
		{`x`, `unknown packet type 'x'`},
		{`é`, `unknown packet type 'é'`},
		{"\x00", `unknown packet type '\x00'`},
		{`4`, `MESSAGE carries no socket.io packet`},
		{`49`, `unknown packet type '9'`},
		{`4x["a"]`, `unknown packet type 'x'`},
		{`40/admin,`, `namespaces other than / are not supported`},
		{`42/admin,["x"]`, `namespaces other than / are not supported`},
		{`451-["x",{"_placeholder":true,"num":0}]`, `binary packets are not supported`},
		{`461-17[{"_placeholder":true,"num":0}]`, `binary packets are not supported`},
		{`2probe`, `PING takes no payload`},
		{`3probe`, `PONG takes no payload`},
		{`41x`, `DISCONNECT takes no payload`},
		{`42`, `EVENT payload must be a JSON array`},
		{`42{"a":1}`, `EVENT payload must be a JSON array`},
		{`42"chat"`, `EVENT payload must be a JSON array`},
		{`42[]`, `EVENT needs an event name`},
		{`42[ ]`, `EVENT needs an event name`},
		{`42[1,"a"]`, `event name is not a string`},
		{`42[null]`, `event name is not a string`},
		{`42[["chat"]]`, `event name is not a string`},
		{`42["connect"]`, `reserved event name "connect"`},
		{`42["connect_error",1]`, `reserved event name "connect_error"`},
		{`42["disconnect"]`, `reserved event name "disconnect"`},
		{`42["disconnecting"]`, `reserved event name "disconnecting"`},
		{`42["newListener"]`, `reserved event name "newListener"`},
		{`42["removeListener"]`, `reserved event name "removeListener"`},
		{`42["conn\u0065ct"]`, `reserved event name "connect"`},
		{`42["chat",`, `malformed JSON: unexpected end of JSON input`},
		{`42["chat"]x`, `malformed JSON: invalid character 'x' after top-level value`},
		{`42["chat",hi]`, `malformed JSON: invalid character 'h' looking for beginning of value`},
		{`42["chat",'hi']`, `malformed JSON: invalid character '\'' looking for beginning of value`},
		{"42[\"a\x01\"]", `malformed JSON: invalid character '\x01' in string literal`},
		{`42["a",01]`, `malformed JSON: invalid character '1' after array element`},
		{`42["a"][]`, `malformed JSON: invalid character '[' after top-level value`},
		{`4207["x"]`, `ack id has a leading zero`},
		{`422147483648["x"]`, `ack id out of range`},
		{`4299999999999999999999999999["x"]`, `ack id out of range`},
		{`4317`, `ACK payload must be a JSON array`},
		{`43["x"]`, `ACK needs an ack id`},
		{`43`, `ACK needs an ack id`},
		{`4317{}`, `ACK payload must be a JSON array`},
		{`4317[`, `malformed JSON: unexpected end of JSON input`},
		{`40"x"`, `CONNECT payload must be a JSON object`},
		{`40[]`, `CONNECT payload must be a JSON object`},
		{`40 `, `CONNECT payload must be a JSON object`},
		{`401{}`, `CONNECT payload must be a JSON object`},
		{`40{`, `malformed JSON: unexpected end of JSON input`},
		{`44`, `CONNECT_ERROR payload must be a JSON object`},
		{`44"no"`, `CONNECT_ERROR payload must be a JSON object`},
		{`44{"message":5}`, `CONNECT_ERROR message must be a string`},
		{`0`, `OPEN payload must be a JSON object`},
		{`0{}`, `OPEN needs a sid`},
		{`0{"sid":""}`, `OPEN needs a sid`},
		{`0{"sid":1}`, `OPEN sid must be a string`},
		{`0{"sid":"x"}`, `OPEN needs a pingInterval`},
		{`0{"sid":"x","pingInterval":1}`, `OPEN needs a pingTimeout`},
		{`0{"sid":"x","pingInterval":1,"pingTimeout":1}`, `OPEN needs a maxPayload`},
		{`0{"sid":"x","pingInterval":1.5}`, `OPEN pingInterval must be a whole number from 1 to 2147483647`},
		{`0{"sid":"x","pingInterval":0}`, `OPEN pingInterval must be a whole number from 1 to 2147483647`},
		{`0{"sid":"x","pingTimeout":-5}`, `OPEN pingTimeout must be a whole number from 1 to 2147483647`},
		{`0{"sid":"x","pingTimeout":"5"}`, `OPEN pingTimeout must be a whole number from 1 to 2147483647`},
		{`0{"sid":"x","maxPayload":1e6}`, `OPEN maxPayload must be a whole number from 1 to 2147483647`},
		{`0{"sid":"x","maxPayload":99999999999}`, `OPEN maxPayload must be a whole number from 1 to 2147483647`},
		{`1x`, `CLOSE payload must be a JSON object`},
		{`1{"reason":5}`, `CLOSE reason must be a string`},
		{`1{"reason":null}`, `CLOSE reason must be a string`},
		{`1{"reason":"x"`, `malformed JSON: unexpected end of JSON input`},
	}
	for _, c := range cases {
		p, err := ParsePacket([]byte(c.text))
		if err == nil {
			t.Errorf("ParsePacket(%q) = %v, want error %q", c.text, p, c.err)
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("ParsePacket(%q): error %T is not a *ProtocolError", c.text, err)
		}
		if err.Error() != c.err {
			t.Errorf("ParsePacket(%q):\n got error %q\nwant error %q", c.text, err, c.err)
		}
		if !samePacket(p, Packet{}) {
			t.Errorf("ParsePacket(%q) failed but returned a half-read packet %#v", c.text, p)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	prefix := []byte("already here")
	check := func(name string, got []byte, err error, want string) {
		t.Helper()
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
		if string(got) != string(prefix) {
			t.Errorf("%s: dst changed to %q on error", name, got)
		}
	}
	var b []byte
	var err error
	b, err = AppendEvent(prefix, NoAck, "connect")
	check("reserved", b, err, `reserved event name "connect"`)
	b, err = AppendEvent(prefix, NoAck, "disconnecting", raw(`1`))
	check("reserved", b, err, `reserved event name "disconnecting"`)
	b, err = AppendEvent(prefix, -2, "chat")
	check("negative id", b, err, "ack id out of range")
	b, err = AppendEvent(prefix, MaxAckID+1, "chat")
	check("big id", b, err, "ack id out of range")
	b, err = AppendEvent(prefix, NoAck, "bad\xffname")
	check("bad utf8", b, err, "event name is not valid UTF-8")
	b, err = AppendEvent(prefix, NoAck, "chat", raw(`"ok"`), raw(`{`))
	check("bad arg", b, err, "event argument 2 is not valid JSON")
	b, err = AppendEvent(prefix, NoAck, "chat", nil)
	check("empty arg", b, err, "event argument 1 is not valid JSON")
	b, err = AppendEvent(prefix, NoAck, "chat", raw(`1 2`))
	check("two values", b, err, "event argument 1 is not valid JSON")
	b, err = AppendAck(prefix, NoAck)
	check("ack without id", b, err, "ack id out of range")
	b, err = AppendAck(prefix, 1, raw(`nope`))
	check("bad ack arg", b, err, "ack argument 1 is not valid JSON")
	b, err = AppendConnect(prefix, raw(`[1]`))
	check("connect array", b, err, "CONNECT payload must be a JSON object")
	b, err = AppendConnect(prefix, raw(`{"a":}`))
	check("connect malformed", b, err, "malformed JSON: invalid character '}' looking for beginning of value")
	b, err = AppendOpen(prefix, Handshake{PingInterval: time.Second, PingTimeout: time.Second, MaxPayload: 1})
	check("open no sid", b, err, "OPEN needs a sid")
	b, err = AppendOpen(prefix, Handshake{SID: "x", PingInterval: time.Microsecond, PingTimeout: time.Second, MaxPayload: 1})
	check("open sub-ms", b, err, "OPEN pingInterval out of range")
	b, err = AppendOpen(prefix, Handshake{SID: "x", PingInterval: time.Second, PingTimeout: 30 * 24 * time.Hour, MaxPayload: 1})
	check("open long timeout", b, err, "OPEN pingTimeout out of range")
	b, err = AppendOpen(prefix, Handshake{SID: "\xff", PingInterval: time.Second, PingTimeout: time.Second, MaxPayload: 1})
	check("open bad sid", b, err, "OPEN sid is not valid UTF-8")
	b, err = AppendPacket(prefix, Packet{Engine: Message, Socket: Ack})
	check("ack packet without id", b, err, "ACK needs an ack id")
	b, err = AppendPacket(prefix, Packet{})
	check("zero packet", b, err, `unknown packet type '\x00'`)
	b, err = AppendPacket(prefix, Packet{Engine: Message, Socket: BinaryEvent})
	check("binary packet", b, err, `BINARY_EVENT needs at least one attachment`)
	b, err = AppendPacket(prefix, Packet{Engine: Message, Socket: '7'})
	check("unknown socket.io type", b, err, `unknown packet type '7'`)
}

// CLOSE and CONNECT_ERROR are sent when something already went wrong, so
// they always produce a packet, even from a reason with broken UTF-8.
func TestCloseNeverFails(t *testing.T) {
	got := string(AppendClose(nil, "bad \xff byte"))
	if got != `1{"reason":"bad `+"\uFFFD"+` byte"}` {
		t.Errorf("AppendClose = %q", got)
	}
	if _, err := ParsePacket([]byte(got)); err != nil {
		t.Errorf("our own CLOSE does not parse: %v", err)
	}
	got = string(AppendConnectError(nil, "tab\there \xfe"))
	if got != `44{"message":"tab\there `+"\uFFFD"+`"}` {
		t.Errorf("AppendConnectError = %q", got)
	}
}

// Event names are written the way JavaScript's JSON.stringify writes them,
// so the bytes are the ones socket.io would send for the same emit.
func TestNameEscapingMatchesJSONStringify(t *testing.T) {
	cases := []struct{ name, json string }{
		{`plain`, `"plain"`},
		{`q"uote`, `"q\"uote"`},
		{`back\slash`, `"back\\slash"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{`<a & b>`, `"<a & b>"`},
		{"é😀\u2028", "\"é😀\u2028\""},
		{`/`, `"/"`},
	}
	for _, c := range cases {
		got, err := AppendEvent(nil, NoAck, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if want := `42[` + c.json + `]`; string(got) != want {
			t.Errorf("name %q: got %s, want %s", c.name, got, want)
		}
		p, err := ParsePacket(got)
		if err != nil || p.Event != c.name {
			t.Errorf("name %q does not come back: %q, %v", c.name, p.Event, err)
		}
	}
}

// Args are slices of the packet text, each capped at its own length, so
// appending to one cannot overwrite the text of the next.
func TestArgsAliasTextAndAreCapped(t *testing.T) {
	text := []byte(`42["e","a","b"]`)
	p, err := ParsePacket(text)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.Args[0], 'X')
	if string(p.Args[1]) != `"b"` {
		t.Fatalf("append to Args[0] overwrote Args[1]: %s", p.Args[1])
	}
	keep := p.Clone()
	copy(text, `42["e","z","z"]`)
	if string(p.Args[0]) != `"z"` {
		t.Errorf("Args should point into the text, got %s", p.Args[0])
	}
	if string(keep.Args[0]) != `"a"` || string(keep.Args[1]) != `"b"` {
		t.Errorf("Clone still points into the text: %s %s", keep.Args[0], keep.Args[1])
	}
}

func TestParseReusesArgs(t *testing.T) {
	var p Packet
	if err := p.Parse([]byte(`42["e",1,2,3]`)); err != nil {
		t.Fatal(err)
	}
	first := &p.Args[:1][0]
	if err := p.Parse([]byte(`4317["x"]`)); err != nil {
		t.Fatal(err)
	}
	if &p.Args[:1][0] != first {
		t.Error("Parse allocated a new Args array instead of reusing the old one")
	}
	if !samePacket(p, Packet{Engine: Message, Socket: Ack, HasAck: true, AckID: 17, Args: []json.RawMessage{raw(`"x"`)}}) {
		t.Errorf("second Parse left old fields behind: %#v", p)
	}
	if err := p.Parse([]byte(`42[`)); err == nil || len(p.Args) != 0 || p.Engine != 0 {
		t.Errorf("after a failed Parse the packet should be empty: %#v (%v)", p, err)
	}
}

func TestPacketString(t *testing.T) {
	p := Packet{Engine: Message, Socket: Event, Event: "chat", Args: []json.RawMessage{raw(`"hi"`)}}
	if s := p.String(); s != `42["chat","hi"]` {
		t.Errorf("String() = %s", s)
	}
	p.Event = "connect"
	if s := p.String(); !strings.HasPrefix(s, "invalid packet: reserved") {
		t.Errorf("String() of an invalid packet = %s", s)
	}
	if Message.String() != "MESSAGE" || ConnectError.String() != "CONNECT_ERROR" || EngineType('9').String() != "EngineType('9')" {
		t.Error("type names are wrong")
	}
}
