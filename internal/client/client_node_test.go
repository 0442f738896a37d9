package client

// The Go client over WebSocket against socket.io's own server (Node,
// socket.io 4.8, peers/node/sio-server.js): the client must speak the
// real Engine.IO v4, not only what our server accepts.

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"socklab/internal/nodepeer"
)

func TestClientOverWebSocketAgainstNodeServer(t *testing.T) {
	port := nodepeer.StartServer(t, nodepeer.ServerOptions{Transports: []string{"websocket"}})
	addr := "ws://127.0.0.1:" + strconv.Itoa(port)

	got := make(chan string, 16)
	c, err := NewClient(addr, ClientOptions{Auth: map[string]any{"name": "gopher"}})
	if err != nil {
		t.Fatal(err)
	}
	c.OnAny(func(event string, args []json.RawMessage) {
		text, _ := json.Marshal(append([]any{event}, rawArgs(args)...))
		got <- string(text)
	})
	if err := c.Connect(); err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	defer c.Close()

	// emit with an ack: unicode and nested JSON come back unchanged.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.EmitWithAck(ctx, "echo", "hé ☃ 😀", json.RawMessage(`{"a":[1,{"b":null}],"c":-0.5}`))
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	if text, _ := json.Marshal(ack); string(text) != `["hé ☃ 😀",{"a":[1,{"b":null}],"c":-0.5}]` {
		t.Fatalf("echo's ack: %s", text)
	}

	// A broadcast from socket.io's own client reaches ours.
	ann := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{
		Transports: []string{"websocket"}, Auth: map[string]string{"name": "ann"}, NoReconnection: true})
	ann.Next(10*time.Second, nodepeer.Type("connect"))
	ann.EmitAck("chat", "hi gopher")
	for _, want := range []string{`["user joined","ann"]`, `["chat","ann","hi gopher"]`} {
		select {
		case line := <-got:
			if line != want {
				t.Fatalf("got %s, want %s", line, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", want)
		}
	}
}

func rawArgs(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}
