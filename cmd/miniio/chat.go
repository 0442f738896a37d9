package main

// miniio chat: a terminal chat on the demo server. Each line you type is
// a `chat` event; the others' lines, shouts and comings and goings are
// printed as they arrive:
//
//	you type          the client sends               the others see
//	hi                42["chat","hi"]                 ann: hi
//	/shout hello      42["shout","hello"]             ann shouts: hello   (you too)
//	/join kitchen     4212["join","kitchen"]          (only the room hears your chat now)
//	/leave            4213["leave","kitchen"]
//	/quit             41, then 1: DISCONNECT, CLOSE
//
// Your name goes to the server in CONNECT, as socket.io's auth:
// 40{"name":"ann"}. The server adds it to what it passes on.
//
// Run (with `./bin/miniio serve` in Terminal A):
//
//	Terminal B:  ./bin/miniio chat -name ann
//	Terminal C:  ./bin/miniio chat -name bob -room kitchen
//
// The connection's state is shown as it changes, with "* " in front:
//
//	* connected (id 4f1c0a9e)
//	* disconnected: server shutting down
//	* reconnecting in 1.3s (attempt 1)
//	* connected (id 9be20d13)
//	* rejoined #kitchen
//
// Stop the server with Ctrl-C and start it again to watch it: the client
// comes back by itself (1 s doubling to 5 s, ±50 %), lines typed in
// between wait and go out when it is back, and it joins its room again
// (rooms live on the server, with the connection, so a new connection
// starts in none: a socket.io app must re-join on "connect" too).
//
// Quiet by default: a trace line for every PING, PONG and chat line would
// bury the conversation. -trace shows the socket calls on stderr (run
// `2>trace.txt` and `tail -f trace.txt` in another terminal to keep the
// chat readable).
//
// Ctrl-D, Ctrl-C or /quit leave properly and exit 0; exit 1 when the
// server sends us away (DISCONNECT) or cannot be reached.
//
// See: lessons/11-emit-and-on.md, lessons/12-acks-and-rooms.md,
// lessons/13-stress-and-limits.md.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"socklab/internal/client"
	"socklab/internal/wire"
)

func runChat(args []string) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	name := fs.String("name", "", "your name in the chat (required)")
	room := fs.String("room", "", "a room to join right away; your lines then reach only that room")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: miniio chat -name NAME [-room ROOM] [-addr HOST:PORT]\n\n"+
			"Lines you type are chat events. Commands: /join ROOM, /leave, /shout TEXT, /quit.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := cf.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "miniio chat: unexpected argument %q (what you say is typed after it starts)\n", fs.Arg(0))
		return 2
	}
	if strings.TrimSpace(*name) == "" {
		fmt.Fprintln(os.Stderr, "miniio chat: -name is required: who are you in the chat?")
		return 2
	}

	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)

	ch := &chat{room: *room, ready: make(chan struct{})}
	client, err := client.NewClient(cf.addr, client.ClientOptions{
		Token:     cf.token,
		Auth:      map[string]any{"name": *name},
		Reconnect: true,
		OnStatus:  ch.status,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "miniio chat: %v\n", err)
		return 2
	}
	ch.client = client
	ch.listen()
	if err := client.Connect(); err != nil {
		return clientFailed("chat", cf.addr, err)
	}

	// Read what is typed only once the first "connect" handler has joined
	// the room: a line typed (or piped) at once must not overtake the
	// join and go to everyone.
	select {
	case <-ch.ready:
	case <-client.Done():
		return 1
	case <-interrupt: // still trying to connect
		client.Close()
		<-client.Done()
		return 0
	}
	lines := make(chan typedLine)
	go readLines(lines)
	for {
		select {
		case line, ok := <-lines:
			if !ok { // Ctrl-D: end of input
				client.Close()
				<-client.Done()
				return 0
			}
			if line.tooLong > 0 {
				say("* not sent: a line of %d bytes is longer than the %d one chat line may have; type the next one", line.tooLong, maxLine)
				continue
			}
			if quit := ch.typed(line.text); quit {
				client.Close()
				<-client.Done()
				return 0
			}
		case <-interrupt:
			client.Close()
			<-client.Done()
			return 0
		case <-client.Done():
			return 1 // the status line said why
		}
	}
}

// maxLine is the longest line chat reads: the server's default
// maxPayload, more than any one event can carry. A longer line is
// dropped, with a message, and the chat goes on with the next line.
const maxLine = wire.DefaultMaxPayload

// typedLine is one line from stdin, or the length of one too long to keep.
type typedLine struct {
	text    string
	tooLong int // bytes, when the line was longer than maxLine
}

// readLines sends each line typed on stdin, then closes lines at EOF (or
// a read error). bufio.Scanner would stop at the first line longer than
// its buffer, silently: every line after it would be lost.
func readLines(lines chan<- typedLine) {
	defer close(lines)
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		var line []byte
		n := 0
		for {
			chunk, err := in.ReadSlice('\n')
			n += len(chunk)
			if n <= maxLine+1 { // +1: the newline
				line = append(line, chunk...)
			}
			if err == bufio.ErrBufferFull {
				continue // the same line goes on
			}
			length := n // without the newline
			if err == nil {
				length--
			}
			switch {
			case length > maxLine:
				lines <- typedLine{tooLong: length}
			case n > 0:
				lines <- typedLine{text: strings.TrimSuffix(string(line), "\n")}
			}
			if err != nil {
				return // io.EOF: Ctrl-D, or the end of a pipe
			}
			break
		}
	}
}

// chat is the client's side of the conversation.
type chat struct {
	client *client.Client

	mu   sync.Mutex
	room string // the room we are in, "" for none; joined again after a reconnection

	ready chan struct{} // closed when the first "connect" handler is done

	// Only the handler goroutine uses these.
	everConnected bool // for status: a "closed" after a session is news
	rejoin        bool // for "connect": the room was joined before
}

// listen registers what to do with each event the demo server sends.
func (ch *chat) listen() {
	c := ch.client
	c.On("chat", func(args []json.RawMessage) {
		say("%s: %s", text(args, 0), rest(args, 1))
	})
	c.On("shout", func(args []json.RawMessage) {
		say("%s shouts: %s", text(args, 0), rest(args, 1))
	})
	c.On("user joined", func(args []json.RawMessage) { say("* %s joined", text(args, 0)) })
	c.On("user left", func(args []json.RawMessage) { say("* %s left", text(args, 0)) })

	// Rooms belong to the connection on the server: after a reconnection
	// we are in none, so join again, as a socket.io app does in its
	// "connect" handler.
	c.On("connect", func([]json.RawMessage) {
		ch.mu.Lock()
		room := ch.room
		ch.mu.Unlock()
		first := !ch.rejoin
		ch.rejoin = true
		if room != "" {
			word := "rejoined"
			if first {
				word = "joined"
			}
			if err := ch.roomCall("join", room); err != nil {
				say("* could not join #%s: %s", room, strings.TrimPrefix(err.Error(), "miniio: "))
			} else {
				say("* %s #%s", word, room)
			}
		}
		if first {
			close(ch.ready)
		}
	})
}

// status shows the connection's state changes, "* " in front.
func (ch *chat) status(s client.ClientStatus) {
	switch s.State {
	case client.StateConnecting:
		return // "reconnecting in …" said it already
	case client.StateConnectFailed:
		if firstTryFailed(s) {
			say("* %s; trying again as after a lost connection (Ctrl-C to stop)", s)
			return
		}
		if s.Attempt == 0 {
			return // the server said no: Connect's error says it
		}
	case client.StateConnected:
		ch.everConnected = true
	case client.StateClosed:
		if !ch.everConnected || s.Reason == client.ReasonIOClientDisconnect {
			return
		}
	}
	say("* %s", s)
}

// typed acts on one line the user typed; it returns true for /quit.
func (ch *chat) typed(line string) (quit bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return false
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	var err error
	switch {
	case !strings.HasPrefix(line, "/"):
		err = ch.client.Emit("chat", line)
	case cmd == "/quit":
		return true
	case cmd == "/shout" && arg != "":
		err = ch.client.Emit("shout", arg)
	case cmd == "/join" && arg != "":
		err = ch.join(arg)
	case cmd == "/leave":
		err = ch.leave()
	default:
		say("* commands: /join ROOM, /leave, /shout TEXT, /quit; anything else is said to the room")
		return false
	}
	if err != nil {
		say("* not sent: %s", strings.TrimPrefix(err.Error(), "miniio: "))
	} else if !ch.client.Connected() {
		say("* not connected: it waits, and goes out when the connection is back")
	}
	return false
}

// join leaves the room we are in, if any, and joins the new one: one room
// at a time keeps the chat simple (socket.io allows many).
func (ch *chat) join(room string) error {
	if err := ch.leave(); err != nil {
		return err
	}
	ch.mu.Lock()
	ch.room = room
	ch.mu.Unlock()
	if !ch.client.Connected() {
		return nil // the "connect" handler joins it
	}
	if err := ch.roomCall("join", room); err != nil {
		return err
	}
	say("* joined #%s", room)
	return nil
}

func (ch *chat) leave() error {
	ch.mu.Lock()
	room := ch.room
	ch.room = ""
	ch.mu.Unlock()
	if room == "" || !ch.client.Connected() {
		return nil
	}
	if err := ch.roomCall("leave", room); err != nil {
		return err
	}
	say("* left #%s", room)
	return nil
}

// roomCall emits join or leave and waits for the server's ack, so that
// "joined" is only printed once it is true.
func (ch *chat) roomCall(event, room string) error {
	answer, err := ch.client.EmitWithAck(context.Background(), event, room)
	if err != nil {
		return err
	}
	// The demo server answers with the rooms we are in, or {"error":…}.
	var problem struct{ Error string }
	if len(answer) > 0 && json.Unmarshal(answer[0], &problem) == nil && problem.Error != "" {
		return fmt.Errorf("%s", problem.Error)
	}
	return nil
}

// say prints one line of the conversation.
func say(format string, args ...any) {
	fmt.Fprintln(os.Stdout, safe(fmt.Sprintf(format, args...)))
}

// text is argument i as text: a JSON string without its quotes, anything
// else as its JSON.
func text(args []json.RawMessage, i int) string {
	if i >= len(args) {
		return ""
	}
	var s string
	if json.Unmarshal(args[i], &s) == nil {
		return s
	}
	return compact(args[i])
}

// rest is the arguments from i on, as text, separated by spaces.
func rest(args []json.RawMessage, i int) string {
	parts := make([]string, 0, len(args))
	for ; i < len(args); i++ {
		parts = append(parts, text(args, i))
	}
	return strings.Join(parts, " ")
}
