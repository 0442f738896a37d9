//go:build linux

package main

// socket.io's own client (npm socket.io-client 4.8, through
// internal/nodepeer) against `miniio serve` over WebSocket, next to a
// client of miniio's TCP frames: one server, both envelopes.

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/nodepeer"
)

const wsWait = 15 * time.Second

// httpPort is the port of the server's -http listener, from its log.
func (s *serveProc) httpPort() int {
	s.t.Helper()
	m := s.waitFor(`socket\.io clients: http://(\S+)/socket\.io/`, 10*time.Second)
	_, port, err := net.SplitHostPort(m[1])
	if err != nil {
		s.t.Fatalf("-http address %q: %v", m[1], err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

// wsClient starts socket.io-client on WebSocket only, named name.
func wsClient(t *testing.T, port int, name string) *nodepeer.Client {
	t.Helper()
	c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports:     []string{"websocket"},
		Auth:           map[string]string{"name": name},
		NoReconnection: true,
	})
	l := c.Next(wsWait, nodepeer.Type("connect"))
	if l.SID == "" || l.Transport != "websocket" {
		t.Fatalf("%s: connect line %s, want a socket id over websocket", name, l.Raw)
	}
	return c
}

// sameArgs fails unless the arguments are exactly want, as JSON text.
func sameArgs(t *testing.T, what string, got []json.RawMessage, want string) {
	t.Helper()
	text, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != want {
		t.Fatalf("%s: got %s, want %s", what, text, want)
	}
}

func TestSocketIOClientOverWebSocket(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()

	// connect with auth, then an emit with an ack: unicode and nested
	// JSON come back unchanged.
	ann := wsClient(t, port, "ann")
	sameArgs(t, "echo", ann.EmitAck("echo", "hé ☃ 😀", json.RawMessage(`{"a":[1,{"b":null,"c":"é"}],"d":-0.5}`)),
		`["hé ☃ 😀",{"a":[1,{"b":null,"c":"é"}],"d":-0.5}]`)

	// A second socket.io client, and a TCP-framed one, in one chat.
	bob := wsClient(t, port, "bob")
	sameArgs(t, "user joined", ann.Next(wsWait, nodepeer.Event("user joined")).Args, `["bob"]`)
	tcp := dialRaw(t, srv.addr)
	tcp.send(`40{"name":"tcp"}`)
	connectAnswer(t, tcp.read(), tcp.sid)
	sameArgs(t, "user joined (tcp)", ann.Next(wsWait, nodepeer.Event("user joined")).Args, `["tcp"]`)

	// socket.io client → TCP client and the other socket.io client.
	sameArgs(t, "chat's ack", bob.EmitAck("chat", "hi from ws"), `[]`)
	sameArgs(t, "chat at ann", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["bob","hi from ws"]`)
	if got := tcp.readEvent(); got != `42["chat","bob","hi from ws"]` {
		t.Fatalf("TCP client got %q", got)
	}
	// TCP client → both socket.io clients.
	tcp.send(`42["chat","hi from tcp"]`)
	sameArgs(t, "tcp chat at ann", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["tcp","hi from tcp"]`)
	sameArgs(t, "tcp chat at bob", bob.Next(wsWait, nodepeer.Event("chat")).Args, `["tcp","hi from tcp"]`)

	// Rooms by event: ann, bob and the TCP client in r1, both ways.
	sameArgs(t, "join", bob.EmitAck("join", "r1"), `[["r1"]]`)
	sameArgs(t, "ann joins", ann.EmitAck("join", "r1"), `[["r1"]]`)
	if got := tcp.ask(1, "join", `"r1"`); got != `[["r1"]]` {
		t.Fatalf("TCP join answered %q", got)
	}
	bob.EmitAck("chat", "in r1")
	sameArgs(t, "room chat", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["bob","in r1"]`)
	if got := tcp.readEvent(); got != `42["chat","bob","in r1"]` {
		t.Fatalf("TCP client in r1 got %q", got)
	}
	if got := tcp.ask(2, "chat", `"r1 from tcp"`); got != `[]` {
		t.Fatalf("TCP chat answered %q", got)
	}
	sameArgs(t, "tcp's room chat at ann", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["tcp","r1 from tcp"]`)
	sameArgs(t, "tcp's room chat at bob", bob.Next(wsWait, nodepeer.Event("chat")).Args, `["tcp","r1 from tcp"]`)
	// Out of the room, ann no longer gets its chats.
	sameArgs(t, "leave", ann.EmitAck("leave", "r1"), `[[]]`)
	bob.EmitAck("chat", "ann left r1")
	if got := tcp.readEvent(); got != `42["chat","bob","ann left r1"]` {
		t.Fatalf("TCP client in r1 got %q", got)
	}
	for _, l := range ann.Seen(nodepeer.Event("chat")) {
		if strings.Contains(l.Raw, "ann left r1") {
			t.Fatalf("ann got a chat of a room she left: %s", l.Raw)
		}
	}

	// Leaving on purpose: the others hear "user left".
	ann.Send(nodepeer.Command{Disconnect: true})
	if l := ann.Next(wsWait, nodepeer.Type("disconnect")); l.Reason != "io client disconnect" {
		t.Fatalf("ann's disconnect: %s", l.Raw)
	}
	sameArgs(t, "user left", bob.Next(wsWait, nodepeer.Event("user left")).Args, `["ann"]`)
	srv.waitFor(`ann disconnected: client namespace disconnect`, wsWait)
	srv.checkNoPanic()
}

// socket.io-client comes back by itself after the server restarts on the
// same port, as it does with a socket.io server.
func TestSocketIOClientReconnectsAfterRestart(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports:        []string{"websocket"},
		Auth:              map[string]string{"name": "ann"},
		ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 300 * time.Millisecond,
	})
	first := c.Next(wsWait, nodepeer.Type("connect"))

	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(wsWait):
		t.Fatal("the server did not stop on SIGINT")
	}
	if l := c.Next(wsWait, nodepeer.Type("disconnect")); l.Reason != "transport close" {
		t.Fatalf("disconnect on shutdown: %s", l.Raw)
	}

	// The same port again (SO_REUSEADDR lets it bind at once).
	srv2 := startServer(t, "-http", "127.0.0.1:"+strconv.Itoa(port))
	if got := srv2.httpPort(); got != port {
		t.Fatalf("restarted on port %d, want %d", got, port)
	}
	again := c.Next(wsWait, nodepeer.Type("connect"))
	if again.SID == first.SID {
		t.Fatalf("the same socket id after a restart: %s", again.Raw)
	}
	sameArgs(t, "echo after the restart", c.EmitAck("echo", "back"), `["back"]`)
}
