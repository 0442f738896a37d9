package redisadapter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
	"socklab/internal/wire"
)

// notepackJS encodes and decodes with the Node adapter's own MessagePack
// library. It reads a JSON array of jobs on stdin, {"encode": value} or
// {"decode": "hex"}, where {"$binary": "base64"} stands for a Buffer, and
// prints a JSON array of answers: hex for an encode, the value for a
// decode.
const notepackJS = `
const notepack = require('notepack.io');
const fromJSON = (v) => {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v !== null && typeof v === 'object') {
    if (typeof v.$binary === 'string') return Buffer.from(v.$binary, 'base64');
    const o = {};
    for (const k of Object.keys(v)) o[k] = fromJSON(v[k]);
    return o;
  }
  return v;
};
const toJSON = (v) => {
  if (Buffer.isBuffer(v)) return { $binary: v.toString('base64') };
  if (Array.isArray(v)) return v.map(toJSON);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toJSON(v[k]);
    return o;
  }
  return v;
};
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((job) =>
    'encode' in job
      ? notepack.encode(fromJSON(job.encode)).toString('hex')
      : toJSON(notepack.decode(Buffer.from(job.decode, 'hex'))));
  process.stdout.write(JSON.stringify(out));
});
`

// runNotepack runs the jobs through notepack.io in node.
func runNotepack(t *testing.T, jobs []any) []json.RawMessage {
	t.Helper()
	dir := nodepeer.Dir(t)
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "-e", notepackJS)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	stdout, stderr, status := proctest.Run(t, cmd)
	if status != 0 {
		t.Fatalf("node (notepack.io) exited %d\n%s", status, stderr)
	}
	var out []json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out) != len(jobs) {
		t.Fatalf("node (notepack.io) printed %q: %v", stdout, err)
	}
	return out
}

func raw(s ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(s))
	for i, v := range s {
		out[i] = json.RawMessage(v)
	}
	return out
}

// broadcastCases are broadcasts and the JavaScript value the Node
// adapter would encode for each ({"$binary": …} for a Buffer).
var broadcastCases = []struct {
	name string
	b    Broadcast
	js   string
}{
	{
		name: "socket.broadcast.emit",
		b: Broadcast{UID: "Ab12Cd", Packet: EventPacket("/", "chat", raw(`"ann"`, `"hi"`), nil),
			Opts: BroadcastOptions{Except: []string{"sid-1"}}},
		js: `["Ab12Cd",{"type":2,"data":["chat","ann","hi"],"nsp":"/"},{"rooms":[],"except":["sid-1"],"flags":{}}]`,
	},
	{
		name: "to one room, volatile, numbers",
		b: Broadcast{UID: "x", Packet: EventPacket("/chat", "n", raw(`0`, `127`, `128`, `255`, `256`, `70000`, `4294967301`, `-1`, `-32`, `-33`, `-200`, `-40000`, `-2147483649`, `1.5`, `-0.25`, `2.0`, `1e3`, `1e15`), nil),
			Opts: BroadcastOptions{Rooms: []string{"r1"}, Flags: Flags{Volatile: true}}},
		js: `["x",{"type":2,"data":["n",0,127,128,255,256,70000,4294967301,-1,-32,-33,-200,-40000,-2147483649,1.5,-0.25,2,1000,1e15],"nsp":"/chat"},{"rooms":["r1"],"except":[],"flags":{"volatile":true}}]`,
	},
	{
		name: "strings and nesting",
		b: Broadcast{UID: "u", Packet: EventPacket("/", "s", raw(`"`+strings.Repeat("a", 31)+`"`, `"`+strings.Repeat("b", 32)+`"`, `"`+strings.Repeat("c", 300)+`"`, `"é€😀\n\"q\""`, `{"z":1,"a":[true,false,null,{"k":"v"}],"m":{}}`, `[]`), nil),
			Opts: BroadcastOptions{Rooms: []string{"r1", "r2"}, Except: []string{"s1", "s2"}}},
		js: `["u",{"type":2,"data":["s","` + strings.Repeat("a", 31) + `","` + strings.Repeat("b", 32) + `","` + strings.Repeat("c", 300) + `","é€😀\n\"q\"",{"z":1,"a":[true,false,null,{"k":"v"}],"m":{}},[]],"nsp":"/"},{"rooms":["r1","r2"],"except":["s1","s2"],"flags":{}}]`,
	},
	{
		name: "bytes",
		b: Broadcast{UID: "u", Packet: EventPacket("/", "file", raw(`"a.png"`, `{"_placeholder":true,"num":0}`, `{"thumb":{"_placeholder":true,"num":1}}`), [][]byte{[]byte("\x89PNG\r\n"), bytes.Repeat([]byte{0xff}, 300)}),
			Opts: BroadcastOptions{}},
		js: `["u",{"type":2,"data":["file","a.png",{"$binary":"iVBORw0K"},{"thumb":{"$binary":"` + b64(bytes.Repeat([]byte{0xff}, 300)) + `"}}],"nsp":"/"},{"rooms":[],"except":[],"flags":{}}]`,
	},
}

// TestHugeWholeNumbers: a whole number beyond 64 bits stays a float64.
// notepack.io writes 1e300 as a uint64 whose bits are garbage (its hi/lo
// split overflows); we keep the number, on purpose.
func TestHugeWholeNumbers(t *testing.T) {
	for _, n := range []string{`1e300`, `-1e300`, `18446744073709551616`, `1e400`} {
		msg, err := jsonToMsgpack([]byte(n), nil)
		if err != nil {
			t.Fatal(err)
		}
		js, _, err := msgpackToJSON(msg, nil)
		want := n
		if n == `1e400` {
			want = `null` // Infinity, as JSON.stringify writes it
		}
		if err != nil || !sameJSON(js, []byte(want)) && string(js) != want {
			t.Errorf("%s came back as %s, %v", n, js, err)
		}
	}
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return strings.Trim(string(out), `"`)
}

// TestBroadcastBytesAsNotepack: EncodeBroadcast writes the very bytes the
// Node adapter writes for the same broadcast, and DecodeBroadcast reads
// them back.
func TestBroadcastBytesAsNotepack(t *testing.T) {
	var jobs []any
	for _, c := range broadcastCases {
		jobs = append(jobs, map[string]json.RawMessage{"encode": json.RawMessage(c.js)})
	}
	answers := runNotepack(t, jobs)
	for i, c := range broadcastCases {
		var want string
		json.Unmarshal(answers[i], &want)
		got, err := EncodeBroadcast(c.b)
		if err != nil {
			t.Fatalf("%s: EncodeBroadcast: %v", c.name, err)
		}
		if hex.EncodeToString(got) != want {
			t.Errorf("%s:\n got  %x\n want %s (notepack.io)", c.name, got, want)
		}
		wantBytes, _ := hex.DecodeString(want)
		back, err := DecodeBroadcast(wantBytes)
		if err != nil {
			t.Fatalf("%s: DecodeBroadcast(notepack's bytes): %v", c.name, err)
		}
		checkSameBroadcast(t, c.name, back, c.b)
	}
}

func checkSameBroadcast(t *testing.T, name string, got, want Broadcast) {
	t.Helper()
	if got.UID != want.UID || got.Packet.Event != want.Packet.Event || got.Packet.Namespace != want.Packet.Namespace ||
		got.Packet.Socket != want.Packet.Socket || got.Packet.HasAck != want.Packet.HasAck {
		t.Errorf("%s: decoded %v, want %v", name, got, want)
	}
	if len(got.Packet.Args) != len(want.Packet.Args) {
		t.Fatalf("%s: %d args, want %d: %s", name, len(got.Packet.Args), len(want.Packet.Args), got.Packet.Args)
	}
	for i := range got.Packet.Args {
		if !sameJSON(got.Packet.Args[i], want.Packet.Args[i]) {
			t.Errorf("%s: arg %d is %s, want %s", name, i, got.Packet.Args[i], want.Packet.Args[i])
		}
	}
	if len(got.Packet.Attachments) != len(want.Packet.Attachments) {
		t.Fatalf("%s: %d attachments, want %d", name, len(got.Packet.Attachments), len(want.Packet.Attachments))
	}
	for i := range got.Packet.Attachments {
		if !bytes.Equal(got.Packet.Attachments[i], want.Packet.Attachments[i]) {
			t.Errorf("%s: attachment %d differs", name, i)
		}
	}
	if strings.Join(got.Opts.Rooms, ",") != strings.Join(want.Opts.Rooms, ",") ||
		strings.Join(got.Opts.Except, ",") != strings.Join(want.Opts.Except, ",") ||
		got.Opts.Flags.Volatile != want.Opts.Flags.Volatile || got.Opts.Flags.Local != want.Opts.Flags.Local {
		t.Errorf("%s: options %+v, want %+v", name, got.Opts, want.Opts)
	}
}

// sameJSON compares two JSON texts as values (so 2.0 and 2 are the same,
// as they are to JavaScript).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// TestDecodeWhatNodeWrites: values only JavaScript writes (a Date, NaN,
// a Buffer deep inside) decode as socket.io would send them to a client.
func TestDecodeWhatNodeWrites(t *testing.T) {
	// Built in node: notepack.encode of a broadcast with a Date, NaN,
	// Infinity and undefined inside.
	const script = `
const notepack = require('notepack.io');
process.stdout.write(notepack.encode(['n1', {type: 2, data: ['t', new Date(Date.UTC(2026, 11, 5, 6, 30, 0, 123)), NaN, -Infinity, {u: undefined, k: 1}, [undefined]], nsp: '/'}, {rooms: [], except: [], flags: {compress: false}}]).toString('hex'));
`
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = nodepeer.Dir(t)
	stdout, stderr, status := proctest.Run(t, cmd)
	if status != 0 {
		t.Fatalf("node exited %d\n%s", status, stderr)
	}
	msg, _ := hex.DecodeString(stdout)
	b, err := DecodeBroadcast(msg)
	if err != nil {
		t.Fatalf("DecodeBroadcast: %v", err)
	}
	want := raw(`"2026-12-05T06:30:00.123Z"`, `null`, `null`, `{"k":1}`, `[null]`)
	for i, w := range want {
		if i >= len(b.Packet.Args) || string(b.Packet.Args[i]) != string(w) {
			t.Fatalf("args %s, want %s", b.Packet.Args, want)
		}
	}
	if b.Opts.Flags.Compress == nil || *b.Opts.Flags.Compress {
		t.Errorf("flags %+v: want compress false", b.Opts.Flags)
	}
}

// TestRequestsAsNodeWritesThem: the JSON requests and responses have
// Node's keys, and a broadcast with acks is MessagePack.
func TestRequestsAsNodeWritesThem(t *testing.T) {
	cases := []struct {
		r    Request
		want string
	}{
		{Request{Type: ServerSideEmit, UID: "u1", Data: raw(`"sse"`, `"hi"`, `2`)},
			`{"uid":"u1","type":6,"data":["sse","hi",2]}`},
		{Request{Type: ServerSideEmit, UID: "u1", RequestID: "r1", Data: raw(`"sse"`)},
			`{"uid":"u1","requestId":"r1","type":6,"data":["sse"]}`},
		{Request{Type: AllRooms, UID: "u1", RequestID: "r2"},
			`{"uid":"u1","requestId":"r2","type":1}`},
		{Request{Type: RemoteJoin, UID: "u1", Opts: &BroadcastOptions{Rooms: []string{"a"}}, Rooms: []string{"b", "c"}},
			`{"uid":"u1","type":2,"opts":{"rooms":["a"],"except":[],"flags":{}},"rooms":["b","c"]}`},
		{Request{Type: RemoteDisconnect, UID: "u1", Opts: &BroadcastOptions{}, Close: true},
			`{"uid":"u1","type":4,"opts":{"rooms":[],"except":[],"flags":{}},"close":true}`},
		{Request{Type: RemoteFetch, UID: "u1", RequestID: "r3", Opts: &BroadcastOptions{Except: []string{"x"}}},
			`{"uid":"u1","requestId":"r3","type":5,"opts":{"rooms":[],"except":["x"],"flags":{}}}`},
	}
	for _, c := range cases {
		got, err := EncodeRequest(c.r)
		if err != nil {
			t.Fatalf("%v: %v", c.r.Type, err)
		}
		if string(got) != c.want {
			t.Errorf("%v:\n got  %s\n want %s", c.r.Type, got, c.want)
		}
		back, err := DecodeRequest(got)
		if err != nil || back.Type != c.r.Type || back.UID != c.r.UID || back.RequestID != c.r.RequestID || len(back.Data) != len(c.r.Data) {
			t.Errorf("%v: decoded %+v, %v", c.r.Type, back, err)
		}
	}

	// A broadcast with acks: MessagePack, with the packet's id.
	p := EventPacket("/", "ask", raw(`1`), nil)
	p.HasAck, p.AckID = true, 3
	r := Request{Type: BroadcastWithAck, UID: "u1", RequestID: "r4", Packet: &p, Opts: &BroadcastOptions{Flags: Flags{Timeout: 500}}}
	msg, err := EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if msg[0] == '{' {
		t.Fatalf("a broadcast with acks went out as JSON: %s", msg)
	}
	js, _, err := msgpackToJSON(msg, nil)
	want := `{"uid":"u1","requestId":"r4","type":7,"packet":{"type":2,"data":["ask",1],"nsp":"/","id":3},"opts":{"rooms":[],"except":[],"flags":{"timeout":500}}}`
	if err != nil || string(js) != want {
		t.Fatalf("as JSON: %s, %v\nwant %s", js, err, want)
	}
	back, err := DecodeRequest(msg)
	if err != nil || back.Packet == nil || back.Packet.AckID != 3 || back.Opts.Flags.Timeout != 500 {
		t.Fatalf("decoded %+v, %v", back, err)
	}

	// Responses.
	resp := []struct {
		r       Response
		forType RequestType
		want    string
	}{
		{Response{Type: ServerSideEmit, RequestID: "r1", Data: json.RawMessage(`"go"`)}, ServerSideEmit, `{"type":6,"requestId":"r1","data":"go"}`},
		{Response{Type: NoType, RequestID: "r2"}, AllRooms, `{"requestId":"r2","rooms":[]}`},
		{Response{Type: NoType, RequestID: "r3"}, RemoteFetch, `{"requestId":"r3","sockets":[]}`},
		{Response{Type: BroadcastClientCount, RequestID: "r4", ClientCount: 0}, BroadcastClientCount, `{"type":8,"requestId":"r4","clientCount":0}`},
	}
	for _, c := range resp {
		got, err := EncodeResponse(c.r, c.forType)
		if err != nil || string(got) != c.want {
			t.Errorf("response for %v:\n got  %s, %v\n want %s", c.forType, got, err, c.want)
		}
	}
	ack, err := EncodeResponse(Response{Type: BroadcastAck, RequestID: "r4", Ack: json.RawMessage(`{"_placeholder":true,"num":0}`), Attachments: [][]byte{{1, 2}}}, BroadcastAck)
	if err != nil {
		t.Fatal(err)
	}
	back2, err := DecodeResponse(ack)
	if err != nil || back2.Type != BroadcastAck || len(back2.Attachments) != 1 || !bytes.Equal(back2.Attachments[0], []byte{1, 2}) {
		t.Fatalf("BroadcastAck decoded %+v, %v", back2, err)
	}
}

// TestBadMessages: what a broken or hostile publisher can send gets an
// error, never a panic, a hang or a huge allocation.
func TestBadMessages(t *testing.T) {
	good, err := EncodeBroadcast(broadcastCases[3].b)
	if err != nil {
		t.Fatal(err)
	}
	deep := append(bytes.Repeat([]byte{0x91}, 100000), 0xc0)
	cases := map[string][]byte{
		"empty":          {},
		"not an array":   {0xa1, 'x'},
		"two elements":   {0x92, 0xa1, 'u', 0x80},
		"trailing bytes": append(append([]byte{}, good...), 0xc0),
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge string":    {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'},
		"huge bin":       {0xc6, 0x7f, 0xff, 0xff, 0xff},
		"huge map":       {0xdf, 0xff, 0xff, 0xff, 0xff},
		"deep":           deep,
		"unknown ext":    {0xd4, 0x05, 0x00},
		"reserved byte":  {0xc1},
		"map key array":  {0x81, 0x90, 0xc0},
		"not an event":   mustHex("93a175" + "83a474797065 01 a464617461 91a178 a36e7370 a12f" + "80"),
	}
	for i := 1; i < len(good); i += 7 {
		cases[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, msg := range cases {
		if _, err := DecodeBroadcast(msg); err == nil {
			t.Errorf("%s: DecodeBroadcast(%x) took it", name, msg[:min(len(msg), 20)])
		}
		if _, err := DecodeRequest(msg); err == nil && name != "not an event" {
			t.Errorf("%s: DecodeRequest took it", name)
		}
	}
	// JSON a Go sender could get wrong.
	bad := []Broadcast{
		{Packet: EventPacket("/", "", nil, nil)},
		{Packet: EventPacket("/", "x", raw(`{"_placeholder":true,"num":5}`), [][]byte{{1}})},
		{Packet: EventPacket("/", "x", raw(`[1,`), nil)},
	}
	for _, b := range bad {
		if _, err := EncodeBroadcast(b); err == nil {
			t.Errorf("EncodeBroadcast(%v) took it", b)
		}
	}
	if _, err := EncodeRequest(Request{Type: ServerSideEmit}); err == nil {
		t.Error("a server-side emit without an event name was taken")
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestChannels are the Node adapter's names.
func TestChannels(t *testing.T) {
	for _, c := range [][2]string{
		{BroadcastChannel(DefaultKey, "/"), "socket.io#/#"},
		{RoomChannel(DefaultKey, "/", "news"), "socket.io#/#news#"},
		{BroadcastPattern(DefaultKey, "/chat"), "socket.io#/chat#*"},
		{RequestChannel(DefaultKey, "/"), "socket.io-request#/#"},
		{ResponseChannel(DefaultKey, "/"), "socket.io-response#/#"},
		{SpecificResponseChannel(DefaultKey, "/", "Ab12Cd"), "socket.io-response#/#Ab12Cd#"},
		{PublishChannel(DefaultKey, "/", BroadcastOptions{Rooms: []string{"a"}}), "socket.io#/#a#"},
		{PublishChannel(DefaultKey, "/", BroadcastOptions{Rooms: []string{"a", "b"}}), "socket.io#/#"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
	for _, c := range []struct {
		ch, room string
		ok       bool
	}{{"socket.io#/#", "", true}, {"socket.io#/#news#", "news", true}, {"socket.io#/chat#", "", false}, {"socket.io#/#x", "", false}} {
		room, ok := ChannelRoom(DefaultKey, "/", c.ch)
		if room != c.room || ok != c.ok {
			t.Errorf("ChannelRoom(%q) = %q, %v", c.ch, room, ok)
		}
	}
}

// The packet a broadcast carries is wire's: a server can write it to its
// clients as it is.
func TestPacketIsWirePacket(t *testing.T) {
	p := EventPacket("/admin", "file", raw(`{"_placeholder":true,"num":0}`), [][]byte{{9}})
	text, err := wire.AppendPacket(nil, p.Packet)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != `451-/admin,["file",{"_placeholder":true,"num":0}]` {
		t.Errorf("wire text %q", text)
	}
}

// FuzzDecode: no input makes a decoder panic or hang, and a broadcast
// that decodes encodes again to one that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, c := range broadcastCases {
		msg, _ := EncodeBroadcast(c.b)
		f.Add(msg)
	}
	f.Add([]byte(`{"uid":"u","type":6,"data":["x"]}`))
	f.Add([]byte{0x91, 0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		DecodeRequest(msg)
		DecodeResponse(msg)
		b, err := DecodeBroadcast(msg)
		if err != nil {
			return
		}
		again, err := EncodeBroadcast(b)
		if err != nil {
			return // a Go value JavaScript could send but we would not (an empty event name)
		}
		b2, err := DecodeBroadcast(again)
		if err != nil {
			t.Fatalf("re-encoded broadcast does not decode: %v", err)
		}
		checkSameBroadcast(t, "fuzz", b2, b)
	})
}
