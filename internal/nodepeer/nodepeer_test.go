package nodepeer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// These tests point the official client at the official server, both from
// peers/node: before the harness is trusted to judge miniio, it must get
// socket.io right about socket.io itself.

// wait bounds every single expectation: far more than a loopback round
// trip, even on a busy machine, and far less than a stalled suite.
const wait = 10 * time.Second

var websocketOnly = []string{"websocket"}

func named(name string) ClientOptions {
	return ClientOptions{Transports: websocketOnly, Auth: map[string]string{"name": name}}
}

// connected waits for the client's connect line and checks its transport.
func connected(t *testing.T, c *Client, transport string) Line {
	t.Helper()
	l := c.Next(wait, Type("connect"))
	if l.SID == "" || l.Transport != transport {
		t.Fatalf("connect line %s: want a socket id and transport %q", l.Raw, transport)
	}
	return l
}

// sameJSON fails unless got is exactly the JSON want, byte for byte after
// leaving out insignificant spaces: "unchanged" means the same text, not
// just an equal value.
func sameJSON(t *testing.T, what string, got []json.RawMessage, want string) {
	t.Helper()
	gotText, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var g, w bytes.Buffer
	if err := json.Compact(&g, gotText); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Compact(&w, []byte(want)); err != nil {
		t.Fatalf("%s: the test's own JSON: %v", what, err)
	}
	if g.String() != w.String() {
		t.Errorf("%s:\n got  %s\n want %s", what, g.String(), w.String())
	}
}

// Echo's ack carries the arguments back as they went: text with accents
// and a check mark, nested objects and arrays, numbers, null, booleans.
func TestEchoAck(t *testing.T) {
	port := StartServer(t, ServerOptions{Transports: websocketOnly})
	ann := StartClient(t, URL(port), named("ann"))
	connected(t, ann, "websocket")

	args := `["héllo ✓", {"nested": {"list": [1, 2.5, -3e-7, null, true], "ü": "✓ ✗"}, "empty": {}}, [], ""]`
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(args), &raw); err != nil {
		t.Fatal(err)
	}
	anyArgs := make([]any, len(raw))
	for i := range raw {
		anyArgs[i] = raw[i]
	}
	sameJSON(t, "echo's ack", ann.EmitAck("echo", anyArgs...), args)

	// An ack with no arguments at all is an empty list, not a missing one.
	sameJSON(t, "echo's ack without arguments", ann.EmitAck("echo"), `[]`)

	// Bytes travel as a binary attachment and come back as bytes.
	sameJSON(t, "echo's ack with bytes", ann.EmitAck("echo", Binary([]byte{0, 1, 2, 0xff})), `[{"$binary":"AAEC/w=="}]`)

	// count is never acknowledged: an ack with a timeout gives up.
	ann.Send(Command{Emit: "count", Ack: true, ID: 99, Timeout: 200 * time.Millisecond})
	if l := ann.Next(wait, Ack(99)); l.Type != "ack_timeout" {
		t.Errorf("answer to an event the server does not acknowledge: %s, want ack_timeout", l.Raw)
	}
}

// A namespace plays the same demo, apart from "/"; one the server does
// not have is refused by socket.io itself.
func TestNamespaces(t *testing.T) {
	port := StartServer(t, ServerOptions{Transports: websocketOnly, Namespaces: []string{"/admin"}})
	opts := named("ann")
	opts.Namespace = "/admin"
	ann := StartClient(t, URL(port), opts)
	connected(t, ann, "websocket")
	bob := StartClient(t, URL(port), named("bob"))
	connected(t, bob, "websocket")

	sameJSON(t, "echo in /admin", ann.EmitAck("echo", "ok"), `["ok"]`)
	// shout is io.emit in its own namespace: bob, in "/", must not hear it.
	ann.EmitAck("shout", "admins only")
	ann.Next(wait, Event("shout"))
	bob.EmitAck("echo", "sync") // anything meant for bob has arrived by now
	if got := bob.Seen(Event("shout")); len(got) > 0 {
		t.Errorf("a shout in /admin reached \"/\": %s", got[0].Raw)
	}

	opts.Namespace = "/nope"
	lost := StartClient(t, URL(port), opts)
	if l := lost.Next(wait, Type("connect_error")); l.Message != "Invalid namespace" {
		t.Errorf("connect_error %s: want socket.io's \"Invalid namespace\"", l.Raw)
	}
}

// A chat reaches the others and not its sender; rooms narrow it; shout
// reaches everyone; arrivals and departures are announced.
func TestChatRoomsAndAnnouncements(t *testing.T) {
	port := StartServer(t, ServerOptions{Transports: websocketOnly})
	ann := StartClient(t, URL(port), named("ann"))
	connected(t, ann, "websocket")
	bob := StartClient(t, URL(port), named("bob"))
	connected(t, bob, "websocket")

	joined := ann.Next(wait, Event("user joined"))
	sameJSON(t, "user joined", joined.Args, `["bob"]`)

	// bob's chat: ann gets it with bob's name in front; bob's ack is empty.
	sameJSON(t, "chat's ack", bob.EmitAck("chat", "hi ✓"), `[]`)
	sameJSON(t, "chat at ann", ann.Next(wait, Event("chat")).Args, `["bob", "hi ✓"]`)
	// The server sends the chat before the ack, so had bob been sent his
	// own chat, it would be among his lines by now.
	if got := bob.Seen(Event("chat")); len(got) > 0 {
		t.Errorf("the sender got his own chat: %s", got[0].Raw)
	}

	// Rooms, as join and leave acknowledge them: sorted, without the
	// socket's own id.
	sameJSON(t, "ann joins r1", ann.EmitAck("join", "r1"), `[["r1"]]`)
	sameJSON(t, "ann joins a2", ann.EmitAck("join", "a2"), `[["a2", "r1"]]`)
	sameJSON(t, "ann leaves a2", ann.EmitAck("leave", "a2"), `[["r1"]]`)
	sameJSON(t, "bob joins r2", bob.EmitAck("join", "r2"), `[["r2"]]`)

	// bob is in r2 only, so his chat goes to r2, where ann is not.
	bob.EmitAck("chat", "only r2")
	// ann joins r2 after that chat was handled; the next chat reaches her,
	// and had the first one reached her too, it would have come before.
	sameJSON(t, "ann joins r2", ann.EmitAck("join", "r2"), `[["r1", "r2"]]`)
	bob.EmitAck("chat", "r2 again")
	sameJSON(t, "chat in r2", ann.Next(wait, Event("chat")).Args, `["bob", "r2 again"]`)
	for _, l := range ann.Seen(Event("chat")) {
		if strings.Contains(l.Raw, "only r2") {
			t.Errorf("ann got a chat for a room she was not in: %s", l.Raw)
		}
	}

	// shout reaches everyone, the sender too.
	sameJSON(t, "shout's ack", ann.EmitAck("shout", "all"), `[]`)
	sameJSON(t, "shout at ann", ann.Next(wait, Event("shout")).Args, `["ann", "all"]`)
	sameJSON(t, "shout at bob", bob.Next(wait, Event("shout")).Args, `["ann", "all"]`)

	// A bad room name is answered, not ignored.
	sameJSON(t, "join without a name", bob.EmitAck("join", ""), `[{"error":"join and leave take a room name, a non-empty string"}]`)

	bob.Close()
	sameJSON(t, "user left", ann.Next(wait, Event("user left")).Args, `["bob"]`)
}

// With --token, a CONNECT without it is refused with miniio's own words;
// with it, the client is in.
func TestTokenRefused(t *testing.T) {
	port := StartServer(t, ServerOptions{Transports: websocketOnly, Token: "s3cret"})

	wrong := StartClient(t, URL(port), ClientOptions{Transports: websocketOnly, Auth: map[string]string{"name": "eve", "token": "guess"}})
	refused := wrong.Next(wait, Type("connect_error"))
	if refused.Message != "not authorized" {
		t.Errorf("connect_error %s: want the message \"not authorized\"", refused.Raw)
	}
	none := StartClient(t, URL(port), named("eve"))
	if l := none.Next(wait, Type("connect_error")); l.Message != "not authorized" {
		t.Errorf("connect_error without a token %s: want \"not authorized\"", l.Raw)
	}

	right := StartClient(t, URL(port), ClientOptions{Transports: websocketOnly, Auth: map[string]string{"name": "ann", "token": "s3cret"}})
	connected(t, right, "websocket")
	sameJSON(t, "echo once in", right.EmitAck("echo", 1), `[1]`)

	if got := wrong.Seen(Type("connect")); len(got) > 0 {
		t.Errorf("the client with the wrong token got in: %s", got[0].Raw)
	}
}

// socket.io's default: the client starts on long-polling, connects there,
// and then upgrades to WebSocket; events work on both sides of it.
func TestPollingThenUpgrade(t *testing.T) {
	port := StartServer(t, ServerOptions{})
	c := StartClient(t, URL(port), ClientOptions{})
	// The engine opens on polling; the socket.io connect line may already
	// come after the upgrade, so the first transport is read from "open".
	if l := c.Next(wait, Type("open")); l.Transport != "polling" {
		t.Errorf("open line %s: want transport polling", l.Raw)
	}
	if l := c.Next(wait, Type("connect")); l.SID == "" {
		t.Errorf("connect line %s: want a socket id", l.Raw)
	}
	if l := c.Next(wait, Type("upgrade")); l.Transport != "websocket" {
		t.Errorf("upgrade line %s: want transport websocket", l.Raw)
	}
	sameJSON(t, "echo after the upgrade", c.EmitAck("echo", "héllo ✓"), `["héllo ✓"]`)
}

// The server goes away and comes back on the same port: the client says
// so (disconnect, reconnect_attempt) and is connected again, with a new id.
func TestReconnectAfterRestart(t *testing.T) {
	srv := StartServerProc(t, ServerOptions{Transports: websocketOnly})
	opts := named("ann")
	opts.ReconnectionDelay, opts.ReconnectionDelayMax = 100*time.Millisecond, 200*time.Millisecond
	c := StartClient(t, srv.URL(), opts)
	first := connected(t, c, "websocket")

	srv.Stop(t)
	if l := c.Next(wait, Type("disconnect")); l.Reason != "transport close" {
		t.Errorf("disconnect line %s: want reason \"transport close\"", l.Raw)
	}
	c.Next(wait, Type("reconnect_attempt"))

	StartServer(t, ServerOptions{Port: srv.Port, Transports: websocketOnly})
	again := connected(t, c, "websocket")
	if again.SID == first.SID {
		t.Errorf("same socket id %q after the restart: want a new session", again.SID)
	}
	c.Next(wait, Type("reconnect"))
	sameJSON(t, "echo after reconnecting", c.EmitAck("echo", "back"), `["back"]`)
}

// A command the client cannot run is reported as an error line, and the
// client carries on.
func TestBadCommand(t *testing.T) {
	port := StartServer(t, ServerOptions{Transports: websocketOnly})
	c := StartClient(t, URL(port), named("ann"))
	connected(t, c, "websocket")

	c.SendRaw("not json")
	if l := c.Next(wait, Type("error")); !strings.Contains(l.Message, "stdin line 1") {
		t.Errorf("error line %s: want it to name the line", l.Raw)
	}
	c.Send(Command{Emit: "connect"}) // a reserved name: socket.io refuses it
	if l := c.Next(wait, Type("error")); !strings.Contains(l.Message, "reserved") {
		t.Errorf("error line %s: want socket.io's \"reserved event name\"", l.Raw)
	}
	sameJSON(t, "echo after bad commands", c.EmitAck("echo", true), `[true]`)
}

// The line decoder tells socket.id from an ack's number, and keeps what
// it cannot read.
func TestParseLine(t *testing.T) {
	l := parseLine(0, `{"type":"connect","id":"abc","transport":"websocket"}`)
	if l.SID != "abc" || l.AckID != 0 || l.Transport != "websocket" {
		t.Errorf("connect: %+v", l)
	}
	l = parseLine(1, `{"type":"ack","id":7,"args":["x",{"a":1}]}`)
	if l.AckID != 7 || l.SID != "" || len(l.Args) != 2 || string(l.Args[1]) != `{"a":1}` {
		t.Errorf("ack: %+v", l)
	}
	l = parseLine(2, `(node:123) Warning: something`)
	if l.Type != "unparsed" || l.Raw != `(node:123) Warning: something` {
		t.Errorf("not JSON: %+v", l)
	}
}
