package main

// miniio listen: connect and print every event the server sends, one JSON
// line each, in the shape of the packet's own array:
//
//	["chat","alice","hi"]
//	["user joined","bob"]
//
// That is `socket.onAny((event, ...args) => console.log([event, ...args]))`.
// Name events to print only those: `miniio listen chat shout`.
//
// Run (with `./bin/miniio serve` in Terminal A):
//
//	Terminal B:  ./bin/miniio listen
//	Terminal C:  ./bin/miniio emit shout hello      # B prints ["shout","hello"]
//	             ./bin/miniio listen chat > chat.jsonl   # events on stdout, the rest on stderr
//
// stdout carries only the event lines, so they can be piped into jq or a
// file. The connection's state goes to stderr as "# " lines:
//
//	# connected (id 4f1c0a9e)
//	# disconnected: server shutting down
//	# reconnecting in 1.2s (attempt 1)
//
// listen reconnects (1 s doubling to 5 s, ±50 %) when the connection is
// lost, as a socket.io client does, and stops when the server sends
// DISCONNECT (exit 1, with the reason) or on Ctrl-C: SIGINT closes the
// connection properly (DISCONNECT, CLOSE, shutdown, close) and exits 0.
//
// Quiet by default, like emit; -trace shows the socket calls (every PING
// read and PONG written included).
//
// See: lessons/11-emit-and-on.md; man 2 read.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"socklab/internal/client"
)

func runListen(args []string) int {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	noReconnect := fs.Bool("no-reconnect", false, "exit when the connection is lost instead of reconnecting")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: miniio listen [-addr HOST:PORT] [EVENT…]\n\n"+
			"Prints the events the server sends (all, or the EVENTs named) as JSON\n"+
			"lines, [\"event\",arg…], until Ctrl-C.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := cf.parse(fs, args); !ok {
		return code
	}
	only := map[string]bool{}
	for _, name := range fs.Args() {
		only[name] = true
	}

	// Ctrl-C: leave properly instead of dying with the socket open.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)

	client, err := client.NewClient(cf.addr, client.ClientOptions{
		Token:     cf.token,
		Auth:      cf.auth(),
		Reconnect: !*noReconnect,
		OnStatus:  printStatus,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "miniio listen: %v\n", err)
		return 2
	}
	client.OnAny(func(event string, args []json.RawMessage) {
		if len(only) > 0 && !only[event] {
			return
		}
		// One write per line, so lines never mix with the stderr ones.
		fmt.Fprintln(os.Stdout, safe(eventLine(event, args)))
	})
	if err := client.Connect(); err != nil {
		return clientFailed("listen", cf.addr, err)
	}

	select {
	case <-interrupt:
		client.Close()
		<-client.Done()
		return 0
	case <-client.Done():
		return 1 // printStatus has said why
	}
}

// printStatus shows the connection's state changes on stderr.
func printStatus(s client.ClientStatus) {
	if line := statusLine(s); line != "" {
		fmt.Fprintf(os.Stderr, "# %s\n", safe(line))
	}
}

// What statusLine remembers, so that "closed" is only printed when it
// adds something. Only the client's handler goroutine, which calls
// statusLine, uses them.
var (
	everConnected  bool
	lastDisconnect string
)

// statusLine is what to say about a state change, or "" for nothing:
// "connecting" ("reconnecting in …" says it), the first attempt's "could
// not connect" and "closed" (the error message says them), and a "closed"
// with the same reason as the disconnect before it, or after Ctrl-C.
func statusLine(s client.ClientStatus) string {
	switch s.State {
	case client.StateConnecting:
		return "" // "reconnecting in …" said it already
	case client.StateConnectFailed:
		if firstTryFailed(s) {
			return s.String() + "; trying again as after a lost connection (Ctrl-C to stop)"
		}
		if s.Attempt == 0 {
			return "" // the server said no: Connect's error says it
		}
	case client.StateConnected:
		everConnected = true
	case client.StateDisconnected:
		lastDisconnect = s.Reason
	case client.StateClosed:
		if !everConnected || s.Reason == lastDisconnect || s.Reason == client.ReasonIOClientDisconnect {
			return ""
		}
	}
	return s.String()
}

// eventLine is ["event",arg…] on one line.
func eventLine(event string, args []json.RawMessage) string {
	return jsonLine(append([]json.RawMessage{jsonString(event)}, args...))
}

// jsonString writes s as JSON the way JavaScript does: json.Marshal would
// also turn <, > and & into \u003c and friends, which is safe in HTML and
// only confusing here.
func jsonString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// firstTryFailed says whether s is the first connection's failure, one
// the client retries (chat and listen reconnect): nothing listens yet, or
// the handshake broke. The server saying no (a *ConnectError) is final,
// and Connect's error reports it.
func firstTryFailed(s client.ClientStatus) bool {
	var refused *client.ConnectError
	return s.State == client.StateConnectFailed && s.Attempt == 0 && !errors.As(s.Err, &refused)
}
