package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/sys"
	"socklab/internal/wire"
)

func init() {
	// The client's socket calls would be printed on stderr, between the
	// test output; these tests look at the bytes on the wire instead.
	sys.SetTracing(false)
}

// clientSaw is one event or status a client saw, in the order its handler
// goroutine saw them.
type clientSaw struct {
	event string // "" for a status
	args  string // the arguments as one JSON array
	state ClientStatus
}

// clientRecorder collects what a client's handlers and OnStatus see.
type clientRecorder struct {
	t  *testing.T
	ch chan clientSaw
}

func newClientRecorder(t *testing.T) *clientRecorder {
	return &clientRecorder{t: t, ch: make(chan clientSaw, 256)}
}

func (r *clientRecorder) options(o ClientOptions) ClientOptions {
	o.OnStatus = func(s ClientStatus) { r.ch <- clientSaw{state: s} }
	return o
}

// listen registers handlers for the built-in events and OnAny.
func (r *clientRecorder) listen(c *Client) {
	for _, name := range []string{"connect", "disconnect", "connect_error"} {
		c.On(name, func(args []json.RawMessage) { r.ch <- clientSaw{event: name, args: joinRawArgs(args)} })
	}
	c.OnAny(func(event string, args []json.RawMessage) { r.ch <- clientSaw{event: event, args: joinRawArgs(args)} })
}

func joinRawArgs(args []json.RawMessage) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// waitEvent skips statuses and other events until the named one comes.
func (r *clientRecorder) waitEvent(name string) string {
	r.t.Helper()
	deadline := time.After(ioTimeout)
	for {
		select {
		case got := <-r.ch:
			if got.event == name {
				return got.args
			}
		case <-deadline:
			r.t.Fatalf("no %q event within %v", name, ioTimeout)
		}
	}
}

// waitState skips until a status with that state comes.
func (r *clientRecorder) waitState(s ClientState) ClientStatus {
	r.t.Helper()
	deadline := time.After(ioTimeout)
	for {
		select {
		case got := <-r.ch:
			if got.event == "" && got.state.State == s {
				return got.state
			}
		case <-deadline:
			r.t.Fatalf("no status %d within %v", s, ioTimeout)
		}
	}
}

// dialFakeIO connects a client to the fake server and runs the handshake.
func dialFakeIO(t *testing.T, fs *fakeIO, r *clientRecorder, opts ClientOptions) (*Client, *fakeIOConn) {
	t.Helper()
	want := "40"
	if opts.Token != "" { // with a token, also try Auth
		want = `40{"name":"ann","token":"` + opts.Token + `"}`
		opts.Auth = map[string]any{"name": "ann"}
	}
	c, err := NewClient(fs.addr(), r.options(opts))
	if err != nil {
		t.Fatal(err)
	}
	r.listen(c)
	t.Cleanup(func() { c.Close() }) // runs after the fake connection is closed
	result := make(chan error, 1)
	go func() { result <- c.Connect() }()
	fc := fs.handshake("s1", want)
	if err := <-result; err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c, fc
}

// waitDone waits until the client has finished for good. A client that
// wrongly keeps reconnecting never finishes: that must fail the test with
// a message, not hang it until go test's own timeout.
func waitDone(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(ioTimeout):
		t.Fatalf("the client has not finished within %v (still connected: %v, reason so far %q)", ioTimeout, c.Connected(), c.Reason())
	}
}

func TestClientHandshakeAndEvents(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Token: "abc"})

	if got := r.waitEvent("connect"); got != "[]" {
		t.Errorf("connect args = %s, want []", got)
	}
	if c.ID() != "s1" || !c.Connected() {
		t.Errorf("ID %q, Connected %v; want s1, true", c.ID(), c.Connected())
	}

	// Client to server: emit, send, arguments of several kinds.
	if err := c.Emit("chat", "hi"); err != nil {
		t.Fatal(err)
	}
	fc.expect(`42["chat","hi"]`)
	if err := c.Send(map[string]int{"n": 1}, json.RawMessage(`[1, 2]`), nil, 3, true); err != nil {
		t.Fatal(err)
	}
	fc.expect(`42["message",{"n":1},[1, 2],null,3,true]`)

	// Server to client: an event with arguments, then one with none.
	fc.send(`42["news",{"title":"x"},"y"]`)
	if got := r.waitEvent("news"); got != `[{"title":"x"},"y"]` {
		t.Errorf("news args = %s", got)
	}
	fc.send(`42["ping me"]`)
	if got := r.waitEvent("ping me"); got != `[]` {
		t.Errorf("args = %s, want []", got)
	}
}

func TestClientReservedNames(t *testing.T) {
	fs := startFakeIO(t)
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{})
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		err := c.Emit(name, 1)
		if err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Emit(%q) = %v, want a reserved-name error", name, err)
		}
	}
	// Nothing of the above went out: the next frame is this one.
	c.Emit("ok")
	fc.expect(`42["ok"]`)
}

func TestClientAnswersPing(t *testing.T) {
	fs := startFakeIO(t)
	_, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{})
	for range 3 {
		fc.send("2")
		fc.expect("3")
	}
}

func TestClientFramesSplitAcrossReads(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	_, fc := dialFakeIO(t, fs, r, ClientOptions{})
	// Two frames, written one byte at a time with pauses, so the client's
	// reads return pieces of a length prefix and pieces of a packet.
	b := append(ioFrame(`42["a",1]`), ioFrame(`42["b","`+strings.Repeat("x", 5000)+`"]`)...)
	for i := range b {
		fc.sendRaw(b[i : i+1])
		if i%512 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if got := r.waitEvent("a"); got != "[1]" {
		t.Errorf("a = %s", got)
	}
	if got := r.waitEvent("b"); len(got) != 5000+4 {
		t.Errorf("b has %d bytes of arguments, want %d", len(got), 5004)
	}
}

func TestClientEmitWithAck(t *testing.T) {
	fs := startFakeIO(t)
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{})

	// The answer arrives.
	type answer struct {
		args []json.RawMessage
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		args, err := c.EmitWithAck(context.Background(), "echo", "hi", 2)
		done <- answer{args, err}
	}()
	ev := fc.recvEvent()
	id := ioAckID(t, ev)
	if want := `42` + id + `["echo","hi",2]`; ev != want {
		t.Fatalf("server got %s, want %s", ev, want)
	}
	fc.send(`43` + id + `["hi",2]`)
	a := <-done
	if a.err != nil || joinRawArgs(a.args) != `["hi",2]` {
		t.Fatalf("EmitWithAck = %s, %v; want [\"hi\",2]", joinRawArgs(a.args), a.err)
	}

	// The answer never comes: a clear timeout error.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	go func() {
		args, err := c.EmitWithAck(ctx, "slow")
		done <- answer{args, err}
	}()
	lateID := ioAckID(t, fc.recvEvent())
	a = <-done
	var te *wire.AckTimeoutError
	if !errors.As(a.err, &te) || !errors.Is(a.err, wire.ErrAckTimeout) || te.Event != "slow" {
		t.Fatalf("EmitWithAck = %v, want an *wire.AckTimeoutError for \"slow\"", a.err)
	}
	if !strings.Contains(a.err.Error(), `no ack for "slow"`) {
		t.Errorf("error %q does not say which event", a.err)
	}

	// The late answer is ignored: the next EmitWithAck gets its own.
	fc.send(`43` + lateID + `["late"]`)
	go func() {
		args, err := c.EmitWithAck(context.Background(), "next")
		done <- answer{args, err}
	}()
	nextID := ioAckID(t, fc.recvEvent())
	if nextID == lateID {
		t.Fatalf("ack id %s used twice", nextID)
	}
	fc.send(`43` + nextID + `["mine"]`)
	a = <-done
	if a.err != nil || joinRawArgs(a.args) != `["mine"]` {
		t.Fatalf("EmitWithAck = %s, %v; want [\"mine\"]", joinRawArgs(a.args), a.err)
	}
}

func TestClientAckTimeoutOption(t *testing.T) {
	fs := startFakeIO(t)
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{AckTimeout: 100 * time.Millisecond})
	_, err := c.EmitWithAck(context.Background(), "x")
	if !errors.Is(err, wire.ErrAckTimeout) {
		t.Fatalf("err = %v, want wire.ErrAckTimeout", err)
	}
	fc.recvEvent()
}

func TestClientAnswersServerAck(t *testing.T) {
	fs := startFakeIO(t)
	c, err := NewClient(fs.addr(), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.OnAck("question", func(args []json.RawMessage, ack func(...any) error) {
		ack("answer", args[0])
		if err := ack("again"); err == nil && string(args[0]) == "41" {
			t.Error("a second ack was not refused")
		}
	})
	defer c.Close()
	go c.Connect()
	fc := fs.handshake("s1", "40")
	defer fc.c.Close()
	fc.send(`427["question",41]`)
	fc.expect(`437["answer",41]`)
	// Without an ack id, ack does nothing.
	fc.send(`42["question",1]`)
	fc.send(`2`)
	fc.expect(`3`)
}

func TestClientClose(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Reconnect: true, ReconnectDelay: time.Millisecond})
	waiting := make(chan error, 1)
	go func() {
		_, err := c.EmitWithAck(context.Background(), "never")
		waiting <- err
	}()
	fc.recvEvent()

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	fc.expect("41") // DISCONNECT,
	fc.expect("1")  // then CLOSE,
	fc.expectEOF()  // then FIN (shutdown SHUT_WR).
	fc.c.Close()    // Our FIN lets Close finish.
	<-closed
	waitDone(t, c)

	if got := r.waitEvent("disconnect"); got != `["io client disconnect"]` {
		t.Errorf("disconnect args = %s", got)
	}
	if c.Reason() != ReasonIOClientDisconnect {
		t.Errorf("Reason = %q", c.Reason())
	}
	if err := <-waiting; !errors.Is(err, ErrClientClosed) && !errors.Is(err, wire.ErrDisconnected) {
		t.Errorf("the waiting EmitWithAck got %v", err)
	}
	if err := c.Emit("after"); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Emit after Close = %v, want ErrClientClosed", err)
	}
	fs.noConnection(100 * time.Millisecond)
	c.Close() // a second Close is harmless
}

func TestClientServerDisconnectIsFinal(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Reconnect: true, ReconnectDelay: time.Millisecond})
	fc.send("41")
	fc.send(`1{"reason":"server namespace disconnect"}`)
	fc.expectEOF() // the client answers with its FIN
	fc.c.Close()
	waitDone(t, c)
	if c.Reason() != ReasonIOServerDisconnect {
		t.Errorf("Reason = %q, want %q", c.Reason(), ReasonIOServerDisconnect)
	}
	fs.noConnection(200 * time.Millisecond)
}

func TestClientConnectError(t *testing.T) {
	fs := startFakeIO(t)
	c, err := NewClient(fs.addr(), ClientOptions{Token: "wrong", Reconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() { result <- c.Connect() }()
	fc := fs.accept()
	fc.send(`0{"sid":"s1","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}`)
	fc.expect(`40{"token":"wrong"}`)
	fc.send(`44{"message":"not authorized"}`)
	fc.send(`1{"reason":"not authorized"}`)
	fc.c.Close()
	err = <-result
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "not authorized" {
		t.Fatalf("Connect = %v, want a *ConnectError \"not authorized\"", err)
	}
	waitDone(t, c)
	fs.noConnection(100 * time.Millisecond)
}

func TestClientConnectionRefused(t *testing.T) {
	fs := startFakeIO(t)
	addr := fs.addr()
	fs.ln.Close() // nothing listens there any more
	_, err := Dial(addr, ClientOptions{})
	var de *DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "ECONNREFUSED") {
		t.Fatalf("Dial = %v, want a *DialError with ECONNREFUSED", err)
	}
	if sys.Hint(err) == "" {
		t.Error("no hint for the learner")
	}
}

func TestClientHandshakeTimeout(t *testing.T) {
	fs := startFakeIO(t)
	result := make(chan error, 1)
	go func() {
		_, err := Dial(fs.addr(), ClientOptions{ConnectTimeout: 100 * time.Millisecond})
		result <- err
	}()
	fs.accept() // and say nothing
	err := <-result
	if err == nil || !strings.Contains(err.Error(), "connect timeout") {
		t.Fatalf("Dial = %v, want a connect timeout", err)
	}
}

func TestClientPingTimeout(t *testing.T) {
	fs := startFakeIO(t)
	fs.pingInterval, fs.pingTimeout = 100, 100 // the client gives up after 200 ms without PING
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{})
	fc.send("2") // one PING restarts the timer
	fc.expect("3")
	if got := r.waitEvent("disconnect"); got != `["ping timeout"]` {
		t.Errorf("disconnect = %s, want [\"ping timeout\"]", got)
	}
	waitDone(t, c)
	if c.Reason() != wire.ReasonPingTimeout {
		t.Errorf("Reason = %q", c.Reason())
	}
	fc.expectEOF()
}

func TestClientParseError(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{})
	fc.sendRaw([]byte{0, 0, 0, 0}) // a zero-length frame
	// The client says why it hangs up, as the server would.
	got, err := fc.recv()
	if err != nil || !strings.HasPrefix(got, `1{"reason":"parse error: `) {
		t.Fatalf("client sent %q, %v; want CLOSE with a parse error", got, err)
	}
	waitDone(t, c)
	if !strings.HasPrefix(c.Reason(), "parse error: empty frame") {
		t.Errorf("Reason = %q", c.Reason())
	}
}

func TestClientMaxPayload(t *testing.T) {
	fs := startFakeIO(t)
	fs.maxPayload = 100
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{})
	err := c.Emit("big", strings.Repeat("x", 100))
	if err == nil || !strings.Contains(err.Error(), "maxPayload") {
		t.Fatalf("Emit = %v, want a maxPayload error", err)
	}
	c.Emit("small")
	fc.expect(`42["small"]`) // the big one never went out
}

func TestClientReconnectFlushesBuffer(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Reconnect: true, ReconnectDelay: 10 * time.Millisecond, ReconnectDelayMax: 20 * time.Millisecond})
	r.waitEvent("connect")

	// The server goes away with a reason (a restart, say).
	fc.send(`1{"reason":"server shutting down"}`)
	fc.c.Close()
	if got := r.waitEvent("disconnect"); got != `["server shutting down"]` {
		t.Errorf("disconnect = %s", got)
	}
	// Emits made now wait in the buffer (the fake server has not
	// answered the next connection yet, so it cannot be up).
	for i := 1; i <= 3; i++ {
		if err := c.Emit("buffered", i); err != nil {
			t.Fatalf("Emit while disconnected: %v", err)
		}
	}
	acked := make(chan string, 1)
	go func() {
		args, err := c.EmitWithAck(context.Background(), "buffered-ack")
		if err != nil {
			acked <- err.Error()
			return
		}
		acked <- joinRawArgs(args)
	}()
	r.waitState(StateReconnecting)

	fc2 := fs.handshake("s2", "40")
	r.waitEvent("connect")
	for i := 1; i <= 3; i++ {
		fc2.expect(`42["buffered",` + string(rune('0'+i)) + `]`)
	}
	ev := fc2.recvEvent()
	fc2.send(`43` + ioAckID(t, ev) + `["ok"]`)
	if got := <-acked; got != `["ok"]` {
		t.Errorf("buffered EmitWithAck = %s", got)
	}
	if c.ID() != "s2" {
		t.Errorf("ID = %q after reconnecting, want s2", c.ID())
	}
	c.Emit("live")
	fc2.expect(`42["live"]`)
}

func TestClientBufferFull(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Reconnect: true, BufferSize: 2, ReconnectDelay: time.Hour})
	fc.c.Close()
	r.waitState(StateReconnecting)
	c.Emit("a")
	c.Emit("b")
	if err := c.Emit("c"); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("third Emit = %v, want ErrBufferFull", err)
	}
	// Close interrupts the hour-long wait.
	c.Close()
	waitDone(t, c)
}

func TestClientNoBufferWithoutReconnect(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{})
	fc.c.Close()
	waitDone(t, c)
	if c.Reason() != wire.ReasonTransportClose {
		t.Errorf("Reason = %q, want transport close", c.Reason())
	}
	if err := c.Emit("x"); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Emit = %v, want ErrClientClosed", err)
	}
}

func TestClientAckLostOnDisconnect(t *testing.T) {
	fs := startFakeIO(t)
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{Reconnect: true, ReconnectDelay: time.Hour})
	result := make(chan error, 1)
	go func() {
		_, err := c.EmitWithAck(context.Background(), "q")
		result <- err
	}()
	fc.recvEvent()
	fc.c.Close()
	err := <-result
	var de *DisconnectedError
	if !errors.As(err, &de) || !errors.Is(err, wire.ErrDisconnected) || de.Reason != "transport close" {
		t.Fatalf("EmitWithAck = %v, want a *DisconnectedError (transport close)", err)
	}
}

func TestClientReconnectAttempts(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, fc := dialFakeIO(t, fs, r, ClientOptions{Reconnect: true, ReconnectAttempts: 2,
		ReconnectDelay: time.Millisecond, ReconnectDelayMax: 2 * time.Millisecond})
	fs.ln.Close() // the server is gone for good: every attempt is refused
	fc.c.Close()
	waitDone(t, c)
	if !strings.Contains(c.Reason(), "gave up after 2") {
		t.Errorf("Reason = %q", c.Reason())
	}
	if got := r.waitEvent("connect_error"); !strings.Contains(got, "ECONNREFUSED") {
		t.Errorf("connect_error = %s", got)
	}
}

func TestClientBackoff(t *testing.T) {
	c, _ := NewClient("127.0.0.1:1", ClientOptions{Jitter: -1})
	want := []time.Duration{1, 2, 4, 5, 5, 5}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w*time.Second {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w*time.Second)
		}
	}
	c, _ = NewClient("127.0.0.1:1", ClientOptions{})
	for range 1000 {
		for i, w := range want {
			d, base := c.backoff(i+1), w*time.Second
			if d < base/2 || d > min(base*3/2, 5*time.Second) {
				t.Fatalf("attempt %d: %v is outside %v ±50%% (capped at 5s)", i+1, d, base)
			}
		}
	}
}

// What a "connect" handler emits (joining a room again) goes out before
// the emits that waited in the buffer, as in socket.io.
func TestClientConnectHandlerGoesFirst(t *testing.T) {
	fs := startFakeIO(t)
	r := newClientRecorder(t)
	c, err := NewClient(fs.addr(), r.options(ClientOptions{Reconnect: true, ReconnectDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.On("connect", func([]json.RawMessage) { c.Emit("join", "kitchen") })
	c.Emit("early") // before the first connection: buffered too
	go c.Connect()
	fc := fs.handshake("s1", "40")
	fc.expect(`42["join","kitchen"]`)
	fc.expect(`42["early"]`)

	fc.c.Close()
	r.waitState(StateReconnecting)
	c.Emit("while down")
	fc2 := fs.handshake("s2", "40")
	defer fc2.c.Close()
	fc2.expect(`42["join","kitchen"]`)
	fc2.expect(`42["while down"]`)
}

// Hundreds of connections made and closed, politely and abruptly, leave
// no goroutine and no descriptor behind.
func TestClientLeavesNothingBehind(t *testing.T) {
	fs := startFakeIO(t)
	cycle := func(abrupt bool) {
		c, err := NewClient(fs.addr(), ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		result := make(chan error, 1)
		go func() { result <- c.Connect() }()
		fc := fs.handshake("s", "40")
		if err := <-result; err != nil {
			t.Fatal(err)
		}
		if abrupt {
			fc.c.Close() // the server goes away: transport close
		} else {
			go func() { fc.expect("41"); fc.expect("1"); fc.c.Close() }()
			c.Close()
		}
		waitDone(t, c)
	}
	cycle(false) // warm up whatever the runtime starts once
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	for i := range 200 {
		cycle(i%2 == 0)
	}
	// Goroutines may take a moment to finish returning.
	for i := 0; runtime.NumGoroutine() > goroutines && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after 200 connections, %d before", n, goroutines)
	}
	if n := openFDs(t); n > fds {
		t.Errorf("%d open descriptors after 200 connections, %d before", n, fds)
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	proctest.Need(t, "/proc", err)
	return len(entries)
}

// Close from inside a handler must not wait for the handler goroutine it
// runs on.
func TestClientCloseFromHandler(t *testing.T) {
	fs := startFakeIO(t)
	c, fc := dialFakeIO(t, fs, newClientRecorder(t), ClientOptions{Reconnect: true})
	closed := make(chan struct{})
	c.On("bye", func([]json.RawMessage) { c.Close(); close(closed) })
	fc.send(`42["bye"]`)
	fc.expect("41")
	fc.expect("1")
	fc.c.Close()
	select {
	case <-closed:
	case <-time.After(ioTimeout):
		t.Fatal("Close inside a handler did not return")
	}
	waitDone(t, c)
}
