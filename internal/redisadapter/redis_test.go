package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
)

// redisServer is a redis-server the test started on a free loopback port.
type redisServer struct {
	port int
	proc *proctest.Proc
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

// startRedis starts redis-server on port (0: a free one), with nothing
// kept on disk, and waits until it accepts connections. The test's end
// kills it by its PID.
func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	path := proctest.NeedTool(t, "redis-server")
	if port == 0 {
		port = freePort(t)
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "notice")
	p := proctest.Start(t, cmd)
	p.WaitFor(t, &p.Stdout, "Ready to accept connections")
	return &redisServer{port: port, proc: p}
}

// kill ends it at once, as a crash would, and waits until it is gone.
func (r *redisServer) kill(t *testing.T) {
	t.Helper()
	r.proc.Signal(t, syscall.SIGKILL)
	r.proc.ExitCode(t)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// numSub is what the Node adapter counts as the number of servers.
func numSub(t *testing.T, r *redisServer, nsp string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ch := RequestChannel(DefaultKey, nsp)
	m, err := c.PubSubNumSub(context.Background(), ch).Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return int(m[ch])
}

// waitServers waits until n servers are subscribed to nsp's requests.
func waitServers(t *testing.T, r *redisServer, nsp string, n int) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for numSub(t, r, nsp) != n {
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB says %d servers, want %d", numSub(t, r, nsp), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startNodeServer starts sio-server.js with the Redis adapter and returns
// its URL once it listens and its Redis connections are up.
func startNodeServer(t *testing.T, r *redisServer) string {
	t.Helper()
	dir := nodepeer.Dir(t)
	for _, module := range []string{"@socket.io/redis-adapter", "redis"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", module, "package.json")); err != nil {
			proctest.Need(t, "node", fmt.Errorf("npm module %s is not installed in peers/node (%v): run `npm ci --prefix peers/node --no-audit --no-fund`", module, err))
		}
	}
	cmd := exec.Command("node", "sio-server.js", "--port", "0", "--transports", "websocket", "--redis", r.url())
	cmd.Dir = dir
	p := proctest.Start(t, cmd)
	m := p.WaitMatch(t, &p.Stdout, regexp.MustCompile(`(?m)^ready (\d+)$`))
	p.WaitFor(t, &p.Stderr, "redis adapter on")
	port, _ := strconv.Atoi(m[1])
	return nodepeer.URL(port)
}

// inbox collects what a Bus hands over.
type inbox struct {
	mu     sync.Mutex
	msgs   []Message
	status []Status
	more   chan struct{}
}

func newInbox() *inbox { return &inbox{more: make(chan struct{}, 1)} }

func (in *inbox) onMessage(m Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	in.poke()
}

func (in *inbox) onStatus(s Status) {
	in.mu.Lock()
	in.status = append(in.status, s)
	in.mu.Unlock()
	in.poke()
}

func (in *inbox) poke() {
	select {
	case in.more <- struct{}{}:
	default:
	}
}

// wait waits (at most limit) for a message match accepts, and removes it.
func (in *inbox) wait(t *testing.T, limit time.Duration, what string, match func(Message) bool) Message {
	t.Helper()
	deadline := time.After(limit)
	for {
		in.mu.Lock()
		for i, m := range in.msgs {
			if match(m) {
				in.msgs = append(in.msgs[:i], in.msgs[i+1:]...)
				in.mu.Unlock()
				return m
			}
		}
		in.mu.Unlock()
		select {
		case <-in.more:
		case <-deadline:
			in.mu.Lock()
			defer in.mu.Unlock()
			t.Fatalf("no %s within %v; got %d other messages: %+v", what, limit, len(in.msgs), in.msgs)
		}
	}
}

// waitStatus waits for a status of kind and returns it.
func (in *inbox) waitStatus(t *testing.T, limit time.Duration, kind StatusKind) Status {
	t.Helper()
	deadline := time.After(limit)
	for {
		in.mu.Lock()
		for i, s := range in.status {
			if s.Kind == kind {
				in.status = append(in.status[:i], in.status[i+1:]...)
				in.mu.Unlock()
				return s
			}
		}
		in.mu.Unlock()
		select {
		case <-in.more:
		case <-deadline:
			in.mu.Lock()
			defer in.mu.Unlock()
			t.Fatalf("no status %d within %v; statuses: %v", kind, limit, in.status)
		}
	}
}

// dialBus starts a Bus for namespace "/" on r and waits until it is
// subscribed.
func dialBus(t *testing.T, r *redisServer, in *inbox, tune func(*Config)) *Bus {
	t.Helper()
	cfg := Config{URL: r.url(), Namespaces: []string{"/"}, OnMessage: in.onMessage, OnStatus: in.onStatus}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Limit)
	defer cancel()
	b, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func event(name string, args ...string) Packet {
	return EventPacket("/", name, raw(args...), nil)
}

// connectClient starts a socket.io client on the Node server and returns
// it with its socket id.
func connectClient(t *testing.T, url, name string) (*nodepeer.Client, string) {
	t.Helper()
	c := nodepeer.StartClient(t, url, nodepeer.ClientOptions{Transports: []string{"websocket"}, Auth: map[string]string{"name": name}})
	return c, c.Next(proctest.Limit, nodepeer.Type("connect")).SID
}

// TestGoBroadcastReachesNodeClients: a broadcast the Bus publishes is
// delivered by a Node socket.io server with the official adapter to its
// own clients, once each; to a room; with except; with bytes.
func TestGoBroadcastReachesNodeClients(t *testing.T) {
	r := startRedis(t, 0)
	url := startNodeServer(t, r)
	bus := dialBus(t, r, newInbox(), nil)
	waitServers(t, r, "/", 2)

	ann, annSID := connectClient(t, url, "ann")
	bob, _ := connectClient(t, url, "bob")
	if got := string(bob.EmitAck("join", "r1")[0]); got != `["r1"]` {
		t.Fatalf("bob joined %s", got)
	}

	publish := func(p Packet, opts BroadcastOptions) {
		t.Helper()
		if err := bus.PublishBroadcast(Broadcast{Packet: p, Opts: opts}); err != nil {
			t.Fatalf("PublishBroadcast: %v", err)
		}
	}
	// The three broadcasts, then a marker to everyone: once both clients
	// have the marker, Node has handled everything published before it
	// (one Redis connection delivers in order).
	publish(event("news", `"to all"`, `1`), BroadcastOptions{})
	publish(event("news", `"to r1"`), BroadcastOptions{Rooms: []string{"r1"}})
	publish(event("news", `"not ann"`), BroadcastOptions{Except: []string{annSID}})
	publish(EventPacket("/", "file", raw(`"a.bin"`, `{"_placeholder":true,"num":0}`), [][]byte{{0, 1, 2, 255}}), BroadcastOptions{})
	publish(event("marker"), BroadcastOptions{})
	for _, c := range []*nodepeer.Client{ann, bob} {
		c.Next(proctest.Limit, nodepeer.Event("marker"))
	}

	got := func(c *nodepeer.Client) []string {
		var out []string
		for _, l := range c.Seen(nodepeer.Event("news")) {
			b, _ := json.Marshal(l.Args)
			out = append(out, string(b))
		}
		return out
	}
	if a := fmt.Sprint(got(ann)); a != `[["to all",1]]` {
		t.Errorf("ann got news %s, want only the broadcast to all, once", a)
	}
	if b := fmt.Sprint(got(bob)); b != `[["to all",1] ["to r1"] ["not ann"]]` {
		t.Errorf("bob got news %s, want all three, once each", b)
	}
	for _, c := range []*nodepeer.Client{ann, bob} {
		files := c.Seen(nodepeer.Event("file"))
		if len(files) != 1 {
			t.Fatalf("%d file events, want 1", len(files))
		}
		if b, _ := json.Marshal(files[0].Args); string(b) != `["a.bin",{"$binary":"AAEC/w=="}]` {
			t.Errorf("file event args %s: the bytes did not arrive as bytes", b)
		}
	}
	if s := bus.Stats(); s.Published != 5 || s.QueueDropped != 0 || s.PublishFailed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestNodeBroadcastReachesGo: what the demo's chat and shout broadcast on
// a Node server, the Bus decodes: the packet, the rooms, the except.
func TestNodeBroadcastReachesGo(t *testing.T) {
	r := startRedis(t, 0)
	url := startNodeServer(t, r)
	in := newInbox()
	bus := dialBus(t, r, in, nil)
	waitServers(t, r, "/", 2)

	ann, annSID := connectClient(t, url, "ann")
	isBroadcast := func(event string) func(Message) bool {
		return func(m Message) bool { return m.Kind == KindBroadcast && m.Broadcast.Packet.Event == event }
	}

	ann.EmitAck("chat", "hi", 2)
	m := in.wait(t, proctest.Limit, "chat broadcast", isBroadcast("chat"))
	b := m.Broadcast
	if b.UID == bus.UID() || b.UID == "" {
		t.Errorf("uid %q (ours is %q)", b.UID, bus.UID())
	}
	if args, _ := json.Marshal(b.Packet.Args); string(args) != `["ann","hi",2]` || m.Namespace != "/" || m.Room != "" {
		t.Errorf("chat: %s, namespace %q, room %q", args, m.Namespace, m.Room)
	}
	if len(b.Opts.Rooms) != 0 || fmt.Sprint(b.Opts.Except) != "["+annSID+"]" {
		t.Errorf("socket.broadcast.emit: rooms %v except %v, want [] and [%s]", b.Opts.Rooms, b.Opts.Except, annSID)
	}

	ann.EmitAck("join", "r1")
	ann.EmitAck("chat", "in r1")
	m = in.wait(t, proctest.Limit, "chat to r1", isBroadcast("chat"))
	if m.Room != "r1" || fmt.Sprint(m.Broadcast.Opts.Rooms) != "[r1]" || fmt.Sprint(m.Broadcast.Opts.Except) != "["+annSID+"]" {
		t.Errorf("socket.to(r1).emit: channel room %q, rooms %v, except %v", m.Room, m.Broadcast.Opts.Rooms, m.Broadcast.Opts.Except)
	}

	ann.EmitAck("shout", "all")
	m = in.wait(t, proctest.Limit, "shout", isBroadcast("shout"))
	if len(m.Broadcast.Opts.Rooms) != 0 || len(m.Broadcast.Opts.Except) != 0 {
		t.Errorf("io.emit: rooms %v except %v, want none", m.Broadcast.Opts.Rooms, m.Broadcast.Opts.Except)
	}
	if s := bus.Stats(); s.Malformed != 0 || s.InboundDrop != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestServerSideEmit both ways: Go's request reaches the Node server's
// io.on("sse") handler, whose ack comes back as a response; a Node
// client's serverSideEmit reaches Go, and Go's answer reaches that
// client's ack.
func TestServerSideEmit(t *testing.T) {
	r := startRedis(t, 0)
	url := startNodeServer(t, r)
	in := newInbox()
	bus := dialBus(t, r, in, nil)
	waitServers(t, r, "/", 2)
	bob, _ := connectClient(t, url, "bob")

	// Go → Node, no answer wanted: the handler shows it to bob.
	if err := bus.PublishRequest("/", Request{Type: ServerSideEmit, Data: raw(`"sse"`, `"from go"`, `1`)}); err != nil {
		t.Fatal(err)
	}
	if l := bob.Next(proctest.Limit, nodepeer.Event("sse")); fmt.Sprintf("%s", l.Args) != `["from go" 1]` {
		t.Errorf("bob got sse %s", l.Args)
	}
	// Go → Node with an answer.
	if err := bus.PublishRequest("/", Request{Type: ServerSideEmit, RequestID: "go-1", Data: raw(`"sse"`, `"ack me"`)}); err != nil {
		t.Fatal(err)
	}
	m := in.wait(t, proctest.Limit, "the answer to go-1", func(m Message) bool {
		return m.Kind == KindResponse && m.Response.RequestID == "go-1"
	})
	if m.Response.Type != ServerSideEmit || string(m.Response.Data) != `"node"` {
		t.Errorf("answer %+v", m.Response)
	}

	// Node → Go, no answer wanted.
	bob.Emit("sse", "from node")
	m = in.wait(t, proctest.Limit, "a server-side emit", func(m Message) bool { return m.Kind == KindRequest })
	if m.Request.Type != ServerSideEmit || m.Request.RequestID != "" || fmt.Sprintf("%s", m.Request.Data) != `["sse" "from node"]` {
		t.Errorf("request %+v", m.Request)
	}

	// Node → Go with acks: Node counts the servers (NUMSUB: Go and
	// itself), so it waits for one answer, ours.
	bob.Send(nodepeer.Command{Emit: "sse", Args: []any{"answer me"}, Ack: true, ID: 1})
	m = in.wait(t, proctest.Limit, "a server-side emit with ack", func(m Message) bool { return m.Kind == KindRequest })
	req := m.Request
	if req.RequestID == "" || fmt.Sprintf("%s", req.Data) != `["sse" "answer me"]` {
		t.Fatalf("request %+v", req)
	}
	if err := bus.PublishResponse("/", Response{Type: ServerSideEmit, RequestID: req.RequestID, Data: json.RawMessage(`"go"`)}, ServerSideEmit, ""); err != nil {
		t.Fatal(err)
	}
	ack := bob.Next(proctest.Limit, nodepeer.Ack(1))
	if b, _ := json.Marshal(ack.Args); string(b) != `[["go"]]` {
		t.Errorf("bob's ack %s, want the one answer from Go", b)
	}
}

// TestRedisDownAtStart: Dial says clearly that Redis is not there.
func TestRedisDownAtStart(t *testing.T) {
	port := freePort(t) // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Dial(ctx, Config{URL: fmt.Sprintf("redis://127.0.0.1:%d", port), Namespaces: []string{"/"}, OnMessage: func(Message) {}})
	if err == nil || !regexp.MustCompile(`connection refused`).MatchString(err.Error()) {
		t.Fatalf("Dial to a closed port: %v, want connection refused", err)
	}
	if _, err := New(Config{URL: "http://x", OnMessage: func(Message) {}}); err == nil {
		t.Error("New took an http URL")
	}
}

// TestRedisRestart: redis-server killed and started again. Both Buses
// report the loss and the window, come back on their own, and
// broadcasts flow again.
func TestRedisRestart(t *testing.T) {
	r := startRedis(t, 0)
	fast := func(c *Config) {
		c.MinBackoff, c.MaxBackoff, c.HealthInterval, c.IOTimeout = 50*time.Millisecond, 400*time.Millisecond, time.Second, time.Second
	}
	inA, inB := newInbox(), newInbox()
	a := dialBus(t, r, inA, fast)
	dialBus(t, r, inB, fast)
	waitServers(t, r, "/", 2)

	flows := func(word string) {
		t.Helper()
		// Publish until B hears it: after a restart, A may publish before
		// B has subscribed again, and pub/sub keeps nothing for B.
		deadline := time.Now().Add(proctest.Limit)
		for {
			if err := a.PublishBroadcast(Broadcast{Packet: event(word)}); err != nil && err != ErrQueueFull {
				t.Fatal(err)
			}
			select {
			case <-time.After(200 * time.Millisecond):
			case <-inB.more:
			}
			inB.mu.Lock()
			n := len(inB.msgs)
			inB.mu.Unlock()
			if n > 0 {
				inB.wait(t, time.Second, word, func(m Message) bool { return m.Broadcast != nil && m.Broadcast.Packet.Event == word })
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: B heard nothing from A within %v; A %+v", word, proctest.Limit, a.Stats())
			}
		}
	}
	flows("before")

	killedAt := time.Now()
	r.kill(t)
	for _, in := range []*inbox{inA, inB} {
		lost := in.waitStatus(t, proctest.Limit, Lost)
		if lost.Since.After(killedAt) || lost.Err == nil {
			t.Errorf("lost: %v (killed at %s)", lost, killedAt.Format("15:04:05.000"))
		}
	}
	// While Redis is away, a publish is queued or fails: counted either way.
	a.PublishBroadcast(Broadcast{Packet: event("during")})
	time.Sleep(300 * time.Millisecond)

	restartedAt := time.Now()
	startRedis(t, r.port)
	for _, in := range []*inbox{inA, inB} {
		back := in.waitStatus(t, proctest.Limit, Resubscribed)
		if back.Back.Before(restartedAt) || back.Window < back.Back.Sub(killedAt)-time.Second || back.Window <= 0 {
			t.Errorf("resubscribed: %v (killed %s, restarted %s)", back, killedAt.Format("15:04:05.000"), restartedAt.Format("15:04:05.000"))
		}
		t.Log(back)
	}
	flows("after")
	if s := a.Stats(); s.Losses != 1 {
		t.Errorf("A's stats %+v: want one loss", s)
	}
}

// TestSlowRedis: redis-server stopped (SIGSTOP) while a node publishes
// as fast as it can. The queue stays at its bound, the rest is dropped
// and counted, the heap does not grow with what was offered; after
// SIGCONT publishing resumes and says how much was lost.
func TestSlowRedis(t *testing.T) {
	r := startRedis(t, 0)
	in := newInbox()
	const maxQueue, maxBytes = 200, 256 << 10
	bus := dialBus(t, r, in, func(c *Config) {
		c.MaxQueue, c.MaxQueueBytes = maxQueue, maxBytes
		c.IOTimeout, c.HealthInterval, c.MinBackoff, c.MaxBackoff = 500*time.Millisecond, 500*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
	})
	before := heapAfterGC()

	r.proc.Signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(r.proc.Cmd.Process.Pid, syscall.SIGCONT) })
	// 64 MiB offered in 1 KiB broadcasts, in about two seconds.
	p := event("load", `"`+strings.Repeat("x", 1000)+`"`)
	offered := 0
	start := time.Now()
	for time.Since(start) < 2*time.Second && offered < 64<<10 {
		bus.PublishBroadcast(Broadcast{Packet: p})
		offered++
	}
	s := bus.Stats()
	grown := int64(heapAfterGC()) - int64(before)
	t.Logf("offered %d broadcasts of 1 KiB; stats %+v; heap grew %d KiB", offered, s, grown>>10)
	if s.PeakQueued > maxQueue || s.PeakBytes > maxBytes {
		t.Errorf("queue peaked at %d messages, %d bytes: over its bound (%d, %d)", s.PeakQueued, s.PeakBytes, maxQueue, maxBytes)
	}
	if s.QueueDropped == 0 || s.QueueDropped+s.Published+s.PublishFailed+uint64(s.Queued) < uint64(offered)-maxBatch {
		t.Errorf("offered %d, but only %d dropped, %d published, %d failed, %d queued", offered, s.QueueDropped, s.Published, s.PublishFailed, s.Queued)
	}
	// A generous ceiling: everything offered would be 64 MiB and more.
	if grown > 16<<20 {
		t.Errorf("the heap grew %d MiB while Redis was stopped", grown>>20)
	}

	r.proc.Signal(t, syscall.SIGCONT)
	resumed := in.waitStatus(t, proctest.Limit, PublishResumed)
	if resumed.Dropped == 0 {
		t.Errorf("resumed: %v, want the drops counted", resumed)
	}
	t.Log(resumed)
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestNodeAnswersRequests: the requests behind io.fetchSockets(),
// adapter.allRooms(), socketsJoin, disconnectSockets and a broadcast with
// acks, sent from Go, are answered (or carried out) by the Node server,
// and its answers decode, the MessagePack one (a client's ack) included.
func TestNodeAnswersRequests(t *testing.T) {
	r := startRedis(t, 0)
	url := startNodeServer(t, r)
	in := newInbox()
	bus := dialBus(t, r, in, nil)
	waitServers(t, r, "/", 2)
	bob, bobSID := connectClient(t, url, "bob")
	bob.EmitAck("join", "r1")

	answer := func(id string) *Response {
		t.Helper()
		return in.wait(t, proctest.Limit, "the answer to "+id, func(m Message) bool {
			return m.Kind == KindResponse && m.Response.RequestID == id
		}).Response
	}
	request := func(r Request) {
		t.Helper()
		if err := bus.PublishRequest("/", r); err != nil {
			t.Fatal(err)
		}
	}

	request(Request{Type: AllRooms, RequestID: "rooms-1"})
	if rooms := fmt.Sprint(answer("rooms-1").Rooms); rooms != "["+bobSID+" r1]" && rooms != "[r1 "+bobSID+"]" {
		t.Errorf("all rooms: %s", rooms)
	}

	request(Request{Type: RemoteFetch, RequestID: "fetch-1", Opts: &BroadcastOptions{Rooms: []string{"r1"}}})
	f := answer("fetch-1").Fetched
	if len(f) != 1 || f[0].ID != bobSID || len(f[0].Handshake) == 0 || fmt.Sprint(f[0].Rooms) != "["+bobSID+" r1]" {
		t.Errorf("fetched sockets: %+v", f)
	}

	// socketsJoin: no answer; bob is in r2 afterwards.
	request(Request{Type: RemoteJoin, Opts: &BroadcastOptions{Rooms: []string{"r1"}}, Rooms: []string{"r2"}})
	deadline := time.Now().Add(proctest.Limit)
	for string(bob.EmitAck("leave", "none")[0]) != `["r1","r2"]` {
		if time.Now().After(deadline) {
			t.Fatal("socketsJoin from Go did not put bob in r2")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A broadcast whose clients answer: Node says how many clients got
	// it (JSON), then passes on bob's ack (MessagePack, bytes and all).
	p := EventPacket("/", "question", raw(`"ready?"`), nil)
	p.HasAck, p.AckID = true, 0
	request(Request{Type: BroadcastWithAck, RequestID: "ask-1", Packet: &p, Opts: &BroadcastOptions{Flags: Flags{Timeout: 5000}}})
	count := answer("ask-1")
	if count.Type != BroadcastClientCount || count.ClientCount != 1 {
		t.Errorf("client count %+v", count)
	}
	q := bob.Next(proctest.Limit, nodepeer.Event("question"))
	if q.Reply == 0 {
		t.Fatalf("the question wanted no ack: %s", q.Raw)
	}
	bob.Send(nodepeer.Command{Reply: &q.Reply, Args: []any{map[string]any{"yes": true, "blob": nodepeer.Binary([]byte{7, 8})}}})
	ack := answer("ask-1")
	if ack.Type != BroadcastAck || len(ack.Attachments) != 1 || string(ack.Attachments[0]) != "\x07\x08" {
		t.Fatalf("bob's ack %+v", ack)
	}
	if !sameJSON(ack.Ack, []byte(`{"yes":true,"blob":{"_placeholder":true,"num":0}}`)) {
		t.Errorf("bob's ack %s", ack.Ack)
	}

	// disconnectSockets: bob is told to go.
	request(Request{Type: RemoteDisconnect, Opts: &BroadcastOptions{Rooms: []string{"r2"}}})
	if l := bob.Next(proctest.Limit, nodepeer.Type("disconnect")); l.Reason != "io server disconnect" {
		t.Errorf("bob's disconnect reason %q", l.Reason)
	}
}
