//go:build linux

package main

// Bytes over WebSocket: socket.io's binary attachments between the
// official socket.io-client and `miniio serve`. A Buffer argument
// travels as a BINARY_EVENT (text, with a placeholder) and one binary
// message; it must come back as the same bytes, by ack and by a
// broadcast, while a TCP-framed client in the same chat is left out of
// the bytes and keeps its session.

import (
	"encoding/base64"
	"strings"
	"testing"

	"socklab/internal/nodepeer"
	"socklab/internal/websocket"
)

func TestSocketIOClientBinary(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	// Every byte value, so that nothing is taken for text on the way.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	bin := nodepeer.Binary(all)
	binJSON := `{"$binary":"` + base64.StdEncoding.EncodeToString(all) + `"}`

	ann := wsClient(t, port, "ann")
	bob := wsClient(t, port, "bob")
	ann.Next(wsWait, nodepeer.Event("user joined"))
	tcp := dialRaw(t, srv.addr)
	tcp.send(`40{"name":"tcp"}`)
	tcp.read()

	// By ack: the demo's echo sends the arguments back, bytes and all,
	// next to plain JSON.
	sameArgs(t, "echo with bytes", ann.EmitAck("echo", "file", bin, map[string]any{"n": 1}), `["file",`+binJSON+`,{"n":1}]`)
	// An empty Buffer is an attachment too.
	sameArgs(t, "echo with no bytes", ann.EmitAck("echo", nodepeer.Binary(nil)), `[{"$binary":""}]`)

	// By a server emit to everyone: both socket.io clients get the bytes.
	sameArgs(t, "shout's ack", bob.EmitAck("shout", bin), `[]`)
	sameArgs(t, "shout at ann", ann.Next(wsWait, nodepeer.Event("shout")).Args, `["bob",`+binJSON+`]`)
	sameArgs(t, "shout at bob", bob.Next(wsWait, nodepeer.Event("shout")).Args, `["bob",`+binJSON+`]`)

	// The TCP client cannot take bytes: it was left out of that shout,
	// and still gets the next one, which has none.
	sameArgs(t, "plain shout's ack", bob.EmitAck("shout", "no bytes"), `[]`)
	if got := tcp.readEvent(); got != `42["shout","bob","no bytes"]` {
		t.Fatalf("TCP client got %q, want only the shout without bytes", got)
	}
	// And sending bytes on TCP frames is still a protocol error.
	tcp.send(`451-["echo",{"_placeholder":true,"num":0}]`)
	if reason := tcp.expectClose(""); !strings.Contains(reason, "protocol error") {
		t.Fatalf("a BINARY_EVENT on TCP frames closed with %q, want a protocol error", reason)
	}
	srv.checkNoPanic()
}

// On raw frames: the header and its attachment, with a text packet
// right behind, are answered in order; a binary message with no header
// waiting for it ends the session.
func TestWebSocketBinaryRaw(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	w := wsDialRaw(t, port)
	w.upgrade()
	w.send(websocket.OpText, "40")
	w.frame()
	w.send(websocket.OpText, `451-1["echo",{"_placeholder":true,"num":0}]`)
	w.send(websocket.OpBinary, "\x00\xff\x80")
	w.send(websocket.OpText, `422["echo","after"]`)
	if op, p := w.frame(); op != websocket.OpText || p != `461-1[{"_placeholder":true,"num":0}]` {
		t.Fatalf("echo's ack header: %v %q", op, p)
	}
	if op, p := w.frame(); op != websocket.OpBinary || p != "\x00\xff\x80" {
		t.Fatalf("echo's attachment: %v %q", op, p)
	}
	if _, p := w.frame(); p != `432["after"]` {
		t.Fatalf("the text packet after it: %q", p)
	}
	w.send(websocket.OpBinary, "stray")
	if reason := w.expectClose(websocket.ClosePolicyViolation); !strings.Contains(reason, "no binary packet waiting") {
		t.Fatalf("a stray binary message closed with %q", reason)
	}
	// And the server still serves.
	good := wsDialRaw(t, port)
	good.upgrade()
	srv.checkNoPanic()
}
