package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func mustSocketIO(t *testing.T, text string) Packet {
	t.Helper()
	p, err := ParseSocketIO([]byte(text))
	if err != nil {
		t.Fatalf("ParseSocketIO(%s): %v", text, err)
	}
	return p
}

func TestAssemblerPutsAttachmentsInPlace(t *testing.T) {
	header := mustSocketIO(t, `452-/custom,9["upload","a.png",{"_placeholder":true,"num":0},{"thumb":{"_placeholder":true,"num":1},"n":[{"_placeholder":false}]}]`)
	var a Assembler
	if err := a.Start(header); err != nil {
		t.Fatal(err)
	}
	if a.Waiting() != 2 {
		t.Fatalf("Waiting() = %d, want 2", a.Waiting())
	}
	png, thumb := []byte{0x89, 'P', 'N', 'G'}, []byte{1, 2, 3}
	if _, done, err := a.Add(png); done || err != nil {
		t.Fatalf("first Add: done %v, %v", done, err)
	}
	png[0] = 'X' // the caller reuses its buffer: the Assembler kept a copy
	b, done, err := a.Add(thumb)
	if !done || err != nil {
		t.Fatalf("second Add: done %v, %v", done, err)
	}
	if a.Waiting() != 0 {
		t.Errorf("Waiting() = %d after the last attachment", a.Waiting())
	}
	if b.Packet.Namespace != "/custom" || b.Packet.Event != "upload" || b.Packet.AckID != 9 || len(b.Packet.Args) != 3 {
		t.Fatalf("packet %#v", b.Packet)
	}
	if string(b.Attachments[0]) != "\x89PNG" || !bytes.Equal(b.Attachments[1], thumb) {
		t.Errorf("attachments %q", b.Attachments)
	}
	if b.ArgBytes[0] != nil || string(b.ArgBytes[1]) != "\x89PNG" || b.ArgBytes[2] != nil {
		t.Errorf("ArgBytes %q: want only the second argument to be bytes", b.ArgBytes)
	}
	var obj struct{ Thumb json.RawMessage }
	if err := json.Unmarshal(b.Packet.Args[2], &obj); err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Attachment(obj.Thumb); !ok || !bytes.Equal(got, thumb) {
		t.Errorf("Attachment(%s) = %q, %v", obj.Thumb, got, ok)
	}
	for _, notOne := range []string{`{"_placeholder":false}`, `"x"`, `{"_placeholder":true,"num":2}`, `{`, ``} {
		if got, ok := b.Attachment(raw(notOne)); ok {
			t.Errorf("Attachment(%s) = %q, want not a placeholder", notOne, got)
		}
	}
	// The header survives its buffer being reused.
	text := []byte(`451-["ev",{"_placeholder":true,"num":0}]`)
	if err := a.Start(mustSocketIO(t, string(text))); err != nil {
		t.Fatal(err)
	}
	copy(text, strings.Repeat("z", len(text)))
	b, done, err = a.Add(nil)
	if !done || err != nil || b.Packet.Event != "ev" || string(b.Packet.Args[0]) != `{"_placeholder":true,"num":0}` || b.ArgBytes[0] == nil {
		t.Errorf("after reuse: %#v, %v, %v", b, done, err)
	}
}

func TestAssemblerRefusals(t *testing.T) {
	cases := []struct {
		header string
		err    string
	}{
		{`451-["ev",{"_placeholder":true,"num":1}]`, `placeholder number 1 out of range: the packet has 1 attachments`},
		{`451-["ev",{"_placeholder":true,"num":-1}]`, `placeholder number -1 out of range: the packet has 1 attachments`},
		{`451-["ev",{"_placeholder":true,"num":0.0}]`, `placeholder number 0.0 out of range: the packet has 1 attachments`},
		{`451-["ev",{"_placeholder":true,"num":"0"}]`, `placeholder number "0" out of range: the packet has 1 attachments`},
		{`451-["ev",{"_placeholder":true,"num":00}]`, `malformed JSON: invalid character '0' after object key:value pair`},
		{`452-["ev",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":0}]]`, `placeholder number 0 appears twice`},
		{`452-["ev",{"_placeholder":true,"num":1}]`, `no placeholder for attachment 0 of 2`},
		{`451-["ev"]`, `no placeholder for attachment 0 of 1`},
		{`451-["ev",{"_placeholder":true}]`, `a placeholder is {"_placeholder":true,"num":N} and nothing else`},
		{`451-["ev",{"_placeholder":true,"num":0,"x":1}]`, `a placeholder is {"_placeholder":true,"num":N} and nothing else`},
		{`451-["ev",{"_placeholder":true,"num":0,"num":0}]`, `a placeholder is {"_placeholder":true,"num":N} and nothing else`},
		{`451-["ev",{"_plac\u0065holder":true,"num":0,"x":1}]`, `a placeholder is {"_placeholder":true,"num":N} and nothing else`},
		{`4511-["ev"]`, `11 attachments, the limit is 10`},
	}
	for _, c := range cases {
		var a Assembler
		p, err := ParseSocketIO([]byte(c.header))
		if err == nil {
			err = a.Start(p)
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("%s: error %v, want %q", c.header, err, c.err)
		}
		if a.Waiting() != 0 {
			t.Errorf("%s: refused, yet the Assembler waits for %d attachments", c.header, a.Waiting())
		}
	}

	var a Assembler
	if _, _, err := a.Add([]byte("x")); err == nil || err.Error() != "a binary attachment came with no binary packet waiting for it" {
		t.Errorf("Add with nothing started: %v", err)
	}
	if err := a.Start(mustSocketIO(t, `42["ev"]`)); err == nil || err.Error() != "not a binary packet: EVENT" {
		t.Errorf("Start with an EVENT: %v", err)
	}
	two := mustSocketIO(t, `452-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	if err := a.Start(two); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(two); err == nil || err.Error() != "a binary packet came while the last one still waited for 2 attachments" {
		t.Errorf("Start while waiting: %v", err)
	}
	if a.Waiting() != 0 {
		t.Errorf("after that error the half-assembled packet should be dropped; Waiting() = %d", a.Waiting())
	}

	// The attachments' total is bounded by MaxPayload, counted as they come.
	small := Assembler{MaxPayload: 10}
	if err := small.Start(two); err != nil {
		t.Fatal(err)
	}
	if _, _, err := small.Add(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := small.Add(make([]byte, 5)); err == nil || err.Error() != "binary attachments exceed maxPayload 10" {
		t.Errorf("11 bytes with MaxPayload 10: %v", err)
	}
	if small.Waiting() != 0 {
		t.Errorf("the packet past the limit should be dropped; Waiting() = %d", small.Waiting())
	}
	if err := small.Start(two); err != nil {
		t.Fatal(err)
	}
	small.Add(make([]byte, 5))
	if _, done, err := small.Add(make([]byte, 5)); !done || err != nil {
		t.Errorf("exactly MaxPayload: done %v, %v", done, err)
	}

	// More attachments with a higher limit; Reset drops a packet half-way.
	many := Assembler{MaxAttachments: 12}
	if err := many.Start(mustSocketIO(t, placeholders(12))); err != nil {
		t.Fatal(err)
	}
	many.Add([]byte("a"))
	many.Reset()
	if many.Waiting() != 0 {
		t.Errorf("Waiting() = %d after Reset", many.Waiting())
	}
	if _, err := Assemble(two, [][]byte{{1}}, 0); err == nil || err.Error() != "BINARY_EVENT announces 2 attachments, 1 given" {
		t.Errorf("Assemble with one attachment short: %v", err)
	}
}

// placeholders is a BINARY_EVENT with n top-level placeholders.
func placeholders(n int) string {
	var s strings.Builder
	fmt.Fprintf(&s, `45%d-["ev"`, n)
	for i := range n {
		fmt.Fprintf(&s, `,{"_placeholder":true,"num":%d}`, i)
	}
	return s.String() + "]"
}

func TestAppendEventValues(t *testing.T) {
	cases := []struct {
		text string
		atts [][]byte
		err  error
		want string
	}{}
	add := func(b []byte, atts [][]byte, err error) func(want string, wantAtts ...[]byte) {
		return func(want string, wantAtts ...[]byte) {
			cases = append(cases, struct {
				text string
				atts [][]byte
				err  error
				want string
			}{string(b), atts, err, want})
			if fmt.Sprint(atts) != fmt.Sprint(wantAtts) {
				t.Errorf("%s: attachments %v, want %v", want, atts, wantAtts)
			}
		}
	}
	add(AppendEventValues(nil, "", NoAck, "ev", []byte{1, 2, 3}))(`451-["ev",{"_placeholder":true,"num":0}]`, []byte{1, 2, 3})
	add(AppendEventValues(nil, "", NoAck, "ev", "x", 1, true, nil, raw(` {"a": 1} `)))(`42["ev","x",1,true,null,{"a": 1}]`)
	add(AppendEventValues(nil, "/custom", 5, "ev", map[string]any{"z": []byte("Z"), "a": []any{[]byte("A"), "s"}}))(
		`452-/custom,5["ev",{"a":[{"_placeholder":true,"num":0},"s"],"z":{"_placeholder":true,"num":1}}]`, []byte("A"), []byte("Z"))
	add(AppendEventValues(nil, "", NoAck, "ev", []byte{}))(`451-["ev",{"_placeholder":true,"num":0}]`, []byte{})
	add(AppendAckValues(nil, "", 17, []byte("ok")))(`461-17[{"_placeholder":true,"num":0}]`, []byte("ok"))
	add(AppendAckValues(nil, "/custom", 17, "ok"))(`43/custom,17["ok"]`)
	add(AppendAckValues(nil, "", 0))(`430[]`)
	for _, c := range cases {
		if c.err != nil || c.text != c.want {
			t.Errorf("got %s (%v), want %s", c.text, c.err, c.want)
		}
	}

	prefix := []byte("already here")
	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, bad := range []struct {
		args []any
		err  string
	}{
		{[]any{1.5}, "argument 1: a float64 cannot be sent: use json.RawMessage, []byte, string, bool, int, nil, []any or map[string]any"},
		{[]any{"x", raw(`{`)}, "argument 2: not valid JSON"},
		{[]any{"\xff"}, "argument 1: string is not valid UTF-8"},
		{[]any{map[string]any{"\xff": 1}}, "argument 1: map key is not valid UTF-8"},
		{[]any{cyclic}, "argument 1: nested deeper than 1000"},
	} {
		b, atts, err := AppendEventValues(prefix, "", NoAck, "ev", bad.args...)
		if err == nil || err.Error() != bad.err || string(b) != string(prefix) || atts != nil {
			t.Errorf("%v: %q, %v, error %v; want %q", bad.args, b, atts, err, bad.err)
		}
	}
	if b, _, err := AppendEventValues(prefix, "", NoAck, "connect", []byte{1}); err == nil || string(b) != string(prefix) {
		t.Errorf("reserved name: %q, %v", b, err)
	}
	if b, _, err := AppendAckValues(prefix, "", NoAck, []byte{1}); err == nil || string(b) != string(prefix) {
		t.Errorf("ack without id: %q, %v", b, err)
	}
}

// What AppendEventValues writes, Assemble reads back.
func TestBinaryRoundTrip(t *testing.T) {
	text, atts, err := AppendEventValues(nil, "/custom", 3, "ev", "a", []byte("one"), map[string]any{"b": []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Assemble(mustSocketIO(t, string(text)), atts, 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(b.ArgBytes[1]) != "one" || b.ArgBytes[0] != nil || b.ArgBytes[2] != nil || string(b.Attachments[1]) != "two" {
		t.Errorf("%#v", b)
	}
}

// sioBytes is how bytes travel to and from testdata/socketio_binary.js.
type sioBytes struct {
	Bytes string `json:"$bytes"`
}

func b64(b []byte) sioBytes { return sioBytes{base64.StdEncoding.EncodeToString(b)} }

// socket.io's Encoder writes the same header and attachments for the same
// emit, and its Decoder rebuilds our binary packets with the bytes in the
// places we put them.
func TestSocketIOBinarySameBytes(t *testing.T) {
	png, thumb := []byte{0x89, 'P', 'N', 'G', 0, 0xff}, []byte{}
	type goCase struct {
		event bool
		nsp   string
		id    int
		name  string
		args  []any
	}
	cases := []struct {
		ours goCase
		js   map[string]any // the packet object socket.io's Encoder gets
	}{
		{goCase{true, "", NoAck, "ev", []any{png}},
			map[string]any{"type": 2, "nsp": "/", "data": []any{"ev", b64(png)}}},
		{goCase{true, "/custom", 9, "upload", []any{"a.png", png, map[string]any{"n": 1, "thumb": thumb}}},
			map[string]any{"type": 2, "nsp": "/custom", "id": 9, "data": []any{"upload", "a.png", b64(png), map[string]any{"n": 1, "thumb": b64(thumb)}}}},
		{goCase{false, "", 17, "", []any{png, []any{thumb, "x"}}},
			map[string]any{"type": 3, "nsp": "/", "id": 17, "data": []any{b64(png), []any{b64(thumb), "x"}}}},
		{goCase{false, "/custom", 0, "", []any{"no bytes"}},
			map[string]any{"type": 3, "nsp": "/custom", "id": 0, "data": []any{"no bytes"}}},
	}
	var js []map[string]any
	var ours [][]any // header text, then the attachments as sioBytes
	for _, c := range cases {
		js = append(js, c.js)
		var text []byte
		var atts [][]byte
		var err error
		if c.ours.event {
			text, atts, err = AppendEventValues(nil, c.ours.nsp, c.ours.id, c.ours.name, c.ours.args...)
		} else {
			text, atts, err = AppendAckValues(nil, c.ours.nsp, c.ours.id, c.ours.args...)
		}
		if err != nil {
			t.Fatal(err)
		}
		parts := []any{string(text[1:])} // socket.io-parser works inside the Engine.IO MESSAGE: no leading '4'
		for _, a := range atts {
			parts = append(parts, b64(a))
		}
		ours = append(ours, parts)
	}
	var res struct {
		EncodedSio [][]json.RawMessage `json:"encodedSio"`
		DecodedSio []struct {
			Packet json.RawMessage `json:"packet"`
			Error  string          `json:"error"`
		} `json:"decodedSio"`
	}
	runNodeScript(t, "socketio_binary.js", map[string]any{"encodeSio": js, "decodeSio": ours}, &res)
	for i := range cases {
		want, _ := json.Marshal(ours[i])
		got, _ := json.Marshal(res.EncodedSio[i])
		if string(got) != string(want) {
			t.Errorf("case %d:\nsocket.io writes %s\n   miniio writes %s", i, got, want)
		}
		// socket.io's Decoder, given our parts, rebuilds the very packet
		// its Encoder was given (with EVENT/ACK as the type, as it reports).
		d := res.DecodedSio[i]
		var gotPacket, wantPacket map[string]any
		json.Unmarshal(d.Packet, &gotPacket)
		wantJSON, _ := json.Marshal(cases[i].js)
		json.Unmarshal(wantJSON, &wantPacket)
		if d.Error != "" || fmt.Sprint(gotPacket) != fmt.Sprint(wantPacket) {
			t.Errorf("case %d: socket.io decodes our parts as %s (error %q), want %s", i, d.Packet, d.Error, wantJSON)
		}
	}
}
