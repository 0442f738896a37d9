package main

// miniio emit: send one event from the command line, the way a browser's
// console does `socket.emit("chat", "hi")`, and with -ack wait for the
// server's answer (`await socket.timeout(2000).emitWithAck("echo", "hi")`).
//
// Run (with `./bin/miniio serve` in Terminal A):
//
//	./bin/miniio emit chat hi                        # 42["chat","hi"]
//	./bin/miniio emit -ack echo '{"n":1}' 2 hello    # prints [{"n":1},2,"hello"]
//	./bin/miniio emit -trace chat hi                 # and the socket calls
//
// Arguments: each one that is valid JSON is sent as that JSON value (42,
// true, null, "quoted", {"a":1}, [1,2]); a bare word that is not JSON
// (hi, alice) is sent as a string, because that is what a person typing
// `miniio emit chat hi` means. An argument that starts like JSON ({, [
// or ") but is not valid JSON is an error (exit 2): it is a typo, not a
// string. To send a word that is also JSON as a string, quote it twice:
// '"42"'.
//
// Quiet by default: emit is a tool for scripts and lessons, whose output
// is the ack; -trace shows the socket calls (socket, connect, the reads
// and writes of the handshake, the event, DISCONNECT, shutdown, close),
// and -explain or -step turn the trace on too.
//
// Exit status: 0 when the event went out (and with -ack, the answer came);
// 1 when the server could not be reached, refused us, or sent no ack
// within -timeout; 2 for a bad command line.
//
// See: lessons/11-emit-and-on.md, lessons/12-acks-and-rooms.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"socklab/internal/client"
	"socklab/internal/sys"
	"socklab/internal/wire"
)

func runEmit(args []string) int {
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	wantAck := fs.Bool("ack", false, "ask for an answer, wait for it, and print its arguments as a JSON array")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the connection, and with -ack for the answer")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: miniio emit [-addr HOST:PORT] [-ack] [-timeout 2s] EVENT [ARG…]\n\n"+
			"Connects, emits EVENT with the ARGs once, and leaves. Each ARG is JSON\n"+
			"(42, true, \"text\", {\"a\":1}); a bare word like hi is sent as a string.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := cf.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "miniio emit: which event? usage: miniio emit [flags] EVENT [ARG…]")
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(os.Stderr, "miniio emit: -timeout must be more than 0")
		return 2
	}
	event := fs.Arg(0)
	if wire.IsReserved(event) {
		fmt.Fprintf(os.Stderr, "miniio emit: %q is a reserved event name: it cannot be emitted\n", event)
		return 2
	}
	values, err := parseArgs(fs.Args()[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "miniio emit: %v\n", err)
		return 2
	}

	client, err := client.Dial(cf.addr, client.ClientOptions{
		Token:          cf.token,
		Auth:           cf.auth(),
		ConnectTimeout: *timeout,
		AckTimeout:     *timeout,
	})
	if err != nil {
		return clientFailed("emit", cf.addr, err)
	}
	defer client.Close()

	if !*wantAck {
		if err := client.Emit(event, values...); err != nil {
			return emitFailed(err)
		}
		return 0
	}
	answer, err := client.EmitWithAck(context.Background(), event, values...)
	if err != nil {
		return emitFailed(err)
	}
	fmt.Println(safe(jsonLine(answer)))
	return 0
}

// emitFailed says why the emit or its ack did not work.
func emitFailed(err error) int {
	fmt.Fprintf(os.Stderr, "miniio emit: %s\n", strings.TrimPrefix(err.Error(), "miniio: "))
	return 1
}

// parseArgs turns the command line's arguments into emit's arguments.
func parseArgs(args []string) ([]any, error) {
	values := make([]any, len(args))
	for i, a := range args {
		v, err := parseArg(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d %q: %v", i+2, a, err)
		}
		values[i] = v
	}
	return values, nil
}

// parseArg: valid JSON is itself; something that starts like JSON but is
// broken is an error; any other word is a string.
func parseArg(a string) (any, error) {
	trimmed := strings.TrimSpace(a)
	if json.Valid([]byte(trimmed)) {
		return json.RawMessage(trimmed), nil
	}
	if trimmed != "" && strings.ContainsRune(`{["`, rune(trimmed[0])) {
		var v any
		err := json.Unmarshal([]byte(trimmed), &v)
		return nil, fmt.Errorf("not valid JSON (%v); quote a plain string like '\"text\"', or leave it bare", err)
	}
	return a, nil
}

// jsonLine writes values as one JSON array on one line: the sender's
// JSON may contain newlines, which a line-per-event output cannot have.
func jsonLine(values []json.RawMessage) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(compact(v))
	}
	b.WriteByte(']')
	return b.String()
}

func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v) // the wire package checked it already
	}
	return b.String()
}

// clientFlags are the flags emit, listen and chat share, next to the
// trace flags every socklab program has.
type clientFlags struct {
	addr  string
	token string
	name  string
}

// auth is what CONNECT carries besides the token: the name, if given.
func (cf *clientFlags) auth() map[string]any {
	if cf.name == "" {
		return nil
	}
	return map[string]any{"name": cf.name}
}

// register adds -addr, -token, -trace and the shared trace flags. The
// clients are quiet unless asked: their output is the conversation (or
// the events, or the ack), and a trace line for every PING and PONG would
// bury it. -trace, -explain and -step turn the trace on; -q off again.
func (cf *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.addr, "addr", wire.DefaultAddr, "the miniio server: HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070; or a socket.io server, ws://HOST:PORT (WebSocket, Engine.IO v4)")
	fs.StringVar(&cf.token, "token", "", "the token, for a server started with -token (sent as 40{\"token\":…})")
	if fs.Name() != "chat" { // chat has its own, required -name
		fs.StringVar(&cf.name, "name", "", "who we are: sent in CONNECT as 40{\"name\":…}; the demo server names senders by it")
	}
	fs.BoolFunc("trace", "print the socket calls on stderr, as strace shows them", func(string) error {
		sys.SetTracing(true)
		return nil
	})
	sys.SetTracing(false)
	sys.RegisterFlags(fs)
}

// parse parses the command line and sets up the trace. ok false means
// return code now (-h asked for help: 0; a bad flag: 2).
func (cf *clientFlags) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	if err := sys.Configure(); err != nil {
		fmt.Fprintf(os.Stderr, "miniio %s: %v\n", fs.Name(), err)
		return 2, false
	}
	host, _, err := client.SplitAddr(cf.addr)
	if err == nil {
		_, _, err = sys.ParseAddr(host)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "miniio %s: -addr: %v\n", fs.Name(), err)
		return 2, false
	}
	return 0, true
}

// clientFailed reports a connection that could not be made: for a failed
// socket or connect call, the errno as strace names it and a hint, as
// every socklab program does; otherwise the handshake's problem.
func clientFailed(cmd, addr string, err error) int {
	var de *client.DialError
	if errors.As(err, &de) {
		fmt.Fprintln(os.Stderr, sys.Failure(de.Op+" to "+addr, de.Err))
		return 1
	}
	fmt.Fprintf(os.Stderr, "miniio %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "miniio: "))
	return 1
}
