package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const rs = "\x1e"

func TestSplitPayload(t *testing.T) {
	cases := []struct {
		payload string
		want    []PollPacket
	}{
		{`2`, []PollPacket{{Data: []byte(`2`)}}},
		{`2` + rs + `42["chat","hi"]` + rs + `42["chat","ho"]`,
			[]PollPacket{{Data: []byte(`2`)}, {Data: []byte(`42["chat","hi"]`)}, {Data: []byte(`42["chat","ho"]`)}}},
		{`451-["file",{"_placeholder":true,"num":0}]` + rs + `bAQID`,
			[]PollPacket{{Data: []byte(`451-["file",{"_placeholder":true,"num":0}]`)}, {Binary: true, Data: []byte{1, 2, 3}}}},
		{`b`, []PollPacket{{Binary: true, Data: []byte{}}}},
		{`bAA==` + rs + `b/w==` + rs + `6`, []PollPacket{{Binary: true, Data: []byte{0}}, {Binary: true, Data: []byte{0xff}}, {Data: []byte(`6`)}}},
		{`4hello`, []PollPacket{{Data: []byte(`4hello`)}}}, // a plain Engine.IO message: its meaning is the caller's
	}
	for _, c := range cases {
		got, err := SplitPayload(nil, []byte(c.payload), 0, 0)
		if err != nil {
			t.Errorf("SplitPayload(%q): %v", c.payload, err)
			continue
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("SplitPayload(%q)\n got %q\nwant %q", c.payload, got, c.want)
		}
		again, err := AppendPayload(nil, got...)
		if err != nil || string(again) != c.payload {
			t.Errorf("AppendPayload(SplitPayload(%q)) = %q, %v", c.payload, again, err)
		}
	}
}

func TestSplitPayloadErrors(t *testing.T) {
	cases := []struct {
		payload    string
		max, count int
		err        string
	}{
		{``, 0, 0, `payload packet 1 is empty`},
		{rs, 0, 0, `payload packet 1 is empty`},
		{`2` + rs, 0, 0, `payload packet 2 is empty`},
		{`2` + rs + rs + `2`, 0, 0, `payload packet 2 is empty`},
		{`x`, 0, 0, `payload packet 1: unknown packet type 'x'`},
		{`2` + rs + `7`, 0, 0, `payload packet 2: unknown packet type '7'`},
		{`bAQ`, 0, 0, `payload packet 1 is not valid base64`},
		{`bAQ=`, 0, 0, `payload packet 1 is not valid base64`},
		{`bAR==`, 0, 0, `payload packet 1 is not valid base64`},
		{`bAQ=D`, 0, 0, `payload packet 1 is not valid base64`},
		{"bAQ\nID", 0, 0, `payload packet 1 is not valid base64`},
		{"bAQ\r\nID==", 0, 0, `payload packet 1 is not valid base64`},
		{`b!!!!`, 0, 0, `payload packet 1 is not valid base64`},
		{`2` + rs + `bAQID` + rs + `b====`, 0, 0, `payload packet 3 is not valid base64`},
		{`42["chat","hi"]`, 10, 0, `payload of 15 bytes exceeds maxPayload 10`},
		{`2` + rs + `3` + rs + `6`, 0, 2, `payload holds more than 2 packets`},
		{strings.Repeat(`6`+rs, DefaultMaxPayloadPackets) + `6`, 0, 0, `payload holds more than 10000 packets`},
	}
	for _, c := range cases {
		dst := []PollPacket{{Data: []byte("kept")}}
		got, err := SplitPayload(dst, []byte(c.payload), c.max, c.count)
		if err == nil || err.Error() != c.err {
			t.Errorf("SplitPayload(%q): error %v, want %q", c.payload, err, c.err)
		}
		if len(got) != 1 || string(got[0].Data) != "kept" {
			t.Errorf("SplitPayload(%q) failed but changed dst to %q", c.payload, got)
		}
	}
	// The limits are inclusive.
	if got, err := SplitPayload(nil, []byte(`2`+rs+`3`), 3, 2); err != nil || len(got) != 2 {
		t.Errorf("exactly at both limits: %q, %v", got, err)
	}
}

func TestAppendPayloadErrors(t *testing.T) {
	prefix := []byte("already here")
	for _, c := range []struct {
		packets []PollPacket
		err     string
	}{
		{nil, `a payload holds at least one packet`},
		{[]PollPacket{{Data: []byte(`2`)}, {}}, `payload packet 2 is empty`},
		{[]PollPacket{{Data: []byte(`x`)}}, `payload packet 1: unknown packet type 'x'`},
		{[]PollPacket{{Data: []byte(`bAQID`)}}, `payload packet 1: a text packet cannot start with 'b'`},
		{[]PollPacket{{Data: []byte("4a\x1eb")}}, `payload packet 1 holds the record separator 0x1e`},
	} {
		b, err := AppendPayload(prefix, c.packets...)
		if err == nil || err.Error() != c.err || string(b) != string(prefix) {
			t.Errorf("AppendPayload(%q) = %q, %v; want error %q and dst unchanged", c.packets, b, err, c.err)
		}
	}
}

// A server reads every POST with SplitPayload: with text packets only and
// a reused packet list, that costs no allocation.
func TestSplitPayloadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	payload := []byte(`3` + rs + string(chatText) + rs + string(chatText))
	dst := make([]PollPacket, 0, 8)
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = SplitPayload(dst[:0], payload, 0, 0)
	}); n != 0 {
		t.Errorf("splitting a text payload: %v allocations, want 0", n)
	}
	withBinary := []byte(`451-["x",{"_placeholder":true,"num":0}]` + rs + `bAQID` + rs + `bBAUG`)
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = SplitPayload(dst[:0], withBinary, 0, 0)
	}); n != 1 {
		t.Errorf("splitting a payload with two binary packets: %v allocations, want 1 (one block for both)", n)
	}
}

// enginePacket is one packet as engine.io-parser's payload functions see it.
type enginePacket struct {
	Type string `json:"type"`
	Data any    `json:"data,omitempty"` // a string, or sioBytes
}

var engineNames = map[byte]string{'0': "open", '1': "close", '2': "ping", '3': "pong", '4': "message", '5': "upgrade", '6': "noop"}

// toEngine is our PollPacket in engine.io-parser's terms.
func toEngine(p PollPacket) enginePacket {
	if p.Binary {
		return enginePacket{Type: "message", Data: b64(p.Data)}
	}
	e := enginePacket{Type: engineNames[p.Data[0]]}
	if len(p.Data) > 1 {
		e.Data = string(p.Data[1:])
	}
	return e
}

// engine.io-parser's encodePayload writes the same bytes as AppendPayload,
// and its decodePayload reads our payloads as SplitPayload does.
func TestEngineIOPayloadSameBytes(t *testing.T) {
	payloads := [][]PollPacket{
		{{Data: []byte(`2`)}},
		{{Data: []byte(`42["chat","hi"]`)}, {Data: []byte(`42["chat","ho"]`)}, {Data: []byte(`3`)}},
		{{Data: []byte(`451-["file",{"_placeholder":true,"num":0}]`)}, {Binary: true, Data: []byte{1, 2, 3}}},
		{{Binary: true, Data: []byte{}}, {Binary: true, Data: []byte{0xff, 0xfe, 0, 1}}, {Data: []byte(`6`)}},
		{{Data: []byte(`1`)}},
		{{Data: []byte(`0{"sid":"x","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)}, {Data: []byte(`40{"sid":"y"}`)}},
		{{Data: []byte(`5`)}, {Data: []byte(`4é😀 ` + "\u2028")}},
	}
	var js [][]enginePacket
	var ours []string
	for _, p := range payloads {
		var e []enginePacket
		for _, pk := range p {
			e = append(e, toEngine(pk))
		}
		js = append(js, e)
		text, err := AppendPayload(nil, p...)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, string(text))
	}
	var res struct {
		EncodedPayload []string            `json:"encodedPayload"`
		DecodedPayload [][]json.RawMessage `json:"decodedPayload"`
	}
	runNodeScript(t, "socketio_binary.js", map[string]any{"encodePayload": js, "decodePayload": ours}, &res)
	for i := range payloads {
		if res.EncodedPayload[i] != ours[i] {
			t.Errorf("payload %d:\nengine.io writes %q\n   miniio writes %q", i, res.EncodedPayload[i], ours[i])
		}
		want, _ := json.Marshal(js[i])
		got, _ := json.Marshal(res.DecodedPayload[i])
		if string(got) != string(want) {
			t.Errorf("payload %d: engine.io reads %q as %s, want %s", i, ours[i], got, want)
		}
		split, err := SplitPayload(nil, []byte(res.EncodedPayload[i]), 0, 0)
		if err != nil || fmt.Sprintf("%q", split) != fmt.Sprintf("%q", payloads[i]) {
			t.Errorf("payload %d: SplitPayload(engine.io's %q) = %q, %v", i, res.EncodedPayload[i], split, err)
		}
	}
}

// What SplitPayload refuses, compared with engine.io's decodePayload: it
// reports an "error" packet for the ones both refuse.
func TestPayloadRefusalsComparedWithEngineIO(t *testing.T) {
	bothRefuse := []string{"x", "2" + rs + "7", "2" + rs + "9", "", "2" + rs, rs + "2"}
	onPurpose := []string{
		"bAQ",     // unpadded base64: Node's Buffer.from accepts it; nobody writes it
		"bAR==",   // stray bits in the last character, ignored by Node
		"bAQ\nID", // a line break inside base64, skipped by Node
		"b!!!!",   // not base64 at all: Node decodes what it can and drops the rest
	}
	var res struct {
		DecodedPayload [][]struct {
			Type string `json:"type"`
		} `json:"decodedPayload"`
	}
	runNodeScript(t, "socketio_binary.js", map[string]any{"decodePayload": append(bothRefuse, onPurpose...)}, &res)
	refused := func(i int) bool {
		for _, p := range res.DecodedPayload[i] {
			if p.Type == "error" {
				return true
			}
		}
		return false
	}
	for i, p := range bothRefuse {
		if _, err := SplitPayload(nil, []byte(p), 0, 0); err == nil {
			t.Errorf("SplitPayload accepts %q", p)
		}
		if !refused(i) {
			t.Errorf("engine.io accepts %q; is SplitPayload too strict?", p)
		}
	}
	for i, p := range onPurpose {
		if _, err := SplitPayload(nil, []byte(p), 0, 0); err == nil {
			t.Errorf("SplitPayload accepts %q", p)
		}
		if refused(len(bothRefuse) + i) {
			t.Errorf("engine.io now refuses %q too: update this list", p)
		}
	}
}

// Cutting one POST body of 64 chat events, the way a polling server reads
// what a client batched.
func BenchmarkSplitPayload(b *testing.B) {
	var packets []PollPacket
	for range 64 {
		packets = append(packets, PollPacket{Data: chatText})
	}
	payload, err := AppendPayload(nil, packets...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	dst := make([]PollPacket, 0, 64)
	for b.Loop() {
		if dst, err = SplitPayload(dst[:0], payload, 0, 0); err != nil || len(dst) != 64 {
			b.Fatal(len(dst), err)
		}
	}
}

// The same with a binary attachment of 4 KiB after each event header.
func BenchmarkSplitPayloadBinary(b *testing.B) {
	att := bytes.Repeat([]byte{0xa5}, 4096)
	var packets []PollPacket
	for range 16 {
		packets = append(packets, PollPacket{Data: []byte(`451-["up",{"_placeholder":true,"num":0}]`)}, PollPacket{Binary: true, Data: att})
	}
	payload, err := AppendPayload(nil, packets...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	dst := make([]PollPacket, 0, 32)
	for b.Loop() {
		if dst, err = SplitPayload(dst[:0], payload, 0, 0); err != nil || len(dst) != 32 {
			b.Fatal(len(dst), err)
		}
	}
}

// The OPEN of a long-polling session lists "upgrades" right after the sid,
// as engine.io's server writes it (JSON.stringify of {sid, upgrades,
// pingInterval, pingTimeout, maxPayload}).
func TestOpenWithUpgrades(t *testing.T) {
	h := Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"},
		PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 1000000}
	text := `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	if got := mustText(AppendOpen(nil, h)); got != text {
		t.Errorf("AppendOpen = %s\nwant %s", got, text)
	}
	for _, parse := range []func([]byte) (Packet, error){ParsePacket, ParseSocketIO} {
		p, err := parse([]byte(text))
		if err != nil || !reflect.DeepEqual(p.Handshake, h) {
			t.Errorf("parsing %s: %#v, %v", text, p.Handshake, err)
		}
	}
	h.Upgrades = []string{}
	if got := mustText(AppendOpen(nil, h)); got != `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}` {
		t.Errorf("AppendOpen with no upgrades = %s", got)
	}
	h.Upgrades = []string{"web\xffsocket"}
	if b, err := AppendOpen([]byte("x"), h); err == nil || string(b) != "x" {
		t.Errorf("bad UTF-8 in upgrades: %q, %v", b, err)
	}
	for _, bad := range []string{`"websocket"`, `[1]`, `null`, `["a",{}]`} {
		text := `0{"sid":"s","upgrades":` + bad + `,"pingInterval":1,"pingTimeout":2,"maxPayload":3}`
		if _, err := ParsePacket([]byte(text)); err == nil || err.Error() != "OPEN upgrades must be an array of strings" {
			t.Errorf("ParsePacket(%s): %v", text, err)
		}
	}
}
