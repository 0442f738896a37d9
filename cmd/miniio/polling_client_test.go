//go:build linux

package main

// socket.io's own client (npm socket.io-client 4.8, through
// internal/nodepeer) against `miniio serve` with its DEFAULT transports:
// it opens the session by HTTP long-polling, then upgrades to WebSocket,
// as a browser does. A client held on long-polling alone, a TCP-framed
// client and the upgraded ones share one chat.

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"socklab/internal/nodepeer"
)

// pollClient starts socket.io-client with its default transports (nil:
// polling, then websocket) or the ones given, named name, and checks how
// the engine came up: "open" on polling, and, unless it is held on
// polling, "upgrade" to websocket.
func pollClient(t *testing.T, port int, name string, transports []string) *nodepeer.Client {
	t.Helper()
	c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports:     transports,
		Auth:           map[string]string{"name": name},
		NoReconnection: true,
	})
	if l := c.Next(wsWait, nodepeer.Type("open")); l.Transport != "polling" {
		t.Fatalf("%s: the engine opened on %s, want polling first", name, l.Raw)
	}
	if l := c.Next(wsWait, nodepeer.Type("connect")); l.SID == "" {
		t.Fatalf("%s: connect line %s, want a socket id", name, l.Raw)
	}
	if transports == nil {
		if l := c.Next(wsWait, nodepeer.Type("upgrade")); l.Transport != "websocket" {
			t.Fatalf("%s: upgrade line %s, want websocket", name, l.Raw)
		}
	}
	return c
}

func TestSocketIOClientPollingThenUpgrade(t *testing.T) {
	// A short ping interval: the heartbeat runs on polling and after the
	// upgrade several times during the test.
	srv := startServer(t, "-ping-interval", "300ms", "-ping-timeout", "2s")
	port := srv.httpPort()

	ann := pollClient(t, port, "ann", nil)
	sameArgs(t, "echo", ann.EmitAck("echo", "hé ☃", map[string]any{"n": []int{1, 2}}), `["hé ☃",{"n":[1,2]}]`)

	// bob stays on long-polling: every packet he gets rides in a GET.
	bob := pollClient(t, port, "bob", []string{"polling"})
	sameArgs(t, "user joined", ann.Next(wsWait, nodepeer.Event("user joined")).Args, `["bob"]`)
	tcp := dialRaw(t, srv.addr)
	tcp.send(`40{"name":"tcp"}`)
	connectAnswer(t, tcp.read(), tcp.sid)
	sameArgs(t, "user joined (tcp) at ann", ann.Next(wsWait, nodepeer.Event("user joined")).Args, `["tcp"]`)
	sameArgs(t, "user joined (tcp) at bob", bob.Next(wsWait, nodepeer.Event("user joined")).Args, `["tcp"]`)

	// Broadcasts, all three ways.
	sameArgs(t, "chat's ack", ann.EmitAck("chat", "from ann"), `[]`)
	sameArgs(t, "chat at bob", bob.Next(wsWait, nodepeer.Event("chat")).Args, `["ann","from ann"]`)
	if got := tcp.readEvent(); got != `42["chat","ann","from ann"]` {
		t.Fatalf("TCP client got %q", got)
	}
	sameArgs(t, "bob's chat ack", bob.EmitAck("chat", "from bob"), `[]`)
	sameArgs(t, "bob's chat at ann", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["bob","from bob"]`)
	tcp.send(`42["shout","hey"]`)
	sameArgs(t, "shout at ann", ann.Next(wsWait, nodepeer.Event("shout")).Args, `["tcp","hey"]`)
	sameArgs(t, "shout at bob", bob.Next(wsWait, nodepeer.Event("shout")).Args, `["tcp","hey"]`)

	// Rooms: ann and bob in r1; the TCP client outside hears nothing.
	sameArgs(t, "ann joins", ann.EmitAck("join", "r1"), `[["r1"]]`)
	sameArgs(t, "bob joins", bob.EmitAck("join", "r1"), `[["r1"]]`)
	bob.EmitAck("chat", "in r1")
	sameArgs(t, "room chat at ann", ann.Next(wsWait, nodepeer.Event("chat")).Args, `["bob","in r1"]`)
	if got := tcp.ask(1, "echo", `"after r1"`); got != `["after r1"]` {
		t.Fatalf("TCP echo answered %q (a room chat it should not have had?)", got)
	}

	// A while on the heartbeat: both stay (PING in a payload, PONG in a POST).
	time.Sleep(1200 * time.Millisecond)
	sameArgs(t, "bob still there", bob.EmitAck("echo", "still"), `["still"]`)
	sameArgs(t, "ann still there", ann.EmitAck("echo", "still"), `["still"]`)

	// Leaving on purpose: the others hear "user left".
	bob.Send(nodepeer.Command{Disconnect: true})
	if l := bob.Next(wsWait, nodepeer.Type("disconnect")); l.Reason != "io client disconnect" {
		t.Fatalf("bob's disconnect: %s", l.Raw)
	}
	sameArgs(t, "user left", ann.Next(wsWait, nodepeer.Event("user left")).Args, `["bob"]`)
	srv.waitFor(`bob disconnected: client namespace disconnect`, wsWait)
	ann.Send(nodepeer.Command{Disconnect: true})
	srv.waitFor(`ann disconnected: client namespace disconnect`, wsWait)
	if conns, connected, _ := tcp.stats(2); conns != 1 || connected != 1 {
		t.Fatalf("after both left: %d connections, %d connected; want only the TCP client's", conns, connected)
	}
	srv.checkNoPanic()
}

// The client reconnects by itself, long-polling then upgrade again, after
// the server restarts on the same port.
func TestSocketIOClientPollingReconnectsAfterRestart(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	c := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Auth:              map[string]string{"name": "ann"},
		ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 300 * time.Millisecond,
	})
	first := c.Next(wsWait, nodepeer.Type("connect"))
	c.Next(wsWait, nodepeer.Type("upgrade"))
	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(wsWait):
		t.Fatal("the server did not stop on SIGINT")
	}
	c.Next(wsWait, nodepeer.Type("disconnect"))

	srv2 := startServer(t, "-http", "127.0.0.1:"+strconv.Itoa(port))
	if got := srv2.httpPort(); got != port {
		t.Fatalf("restarted on port %d, want %d", got, port)
	}
	if l := c.Next(wsWait, nodepeer.Type("open")); l.Transport != "polling" {
		t.Fatalf("reopened on %s, want polling", l.Raw)
	}
	again := c.Next(wsWait, nodepeer.Type("connect"))
	if again.SID == first.SID {
		t.Fatalf("the same socket id after a restart: %s", again.Raw)
	}
	if l := c.Next(wsWait, nodepeer.Type("upgrade")); l.Transport != "websocket" {
		t.Fatalf("upgrade after reconnecting: %s", l.Raw)
	}
	sameArgs(t, "echo after the restart", c.EmitAck("echo", "back"), `["back"]`)
	srv2.checkNoPanic()
}
