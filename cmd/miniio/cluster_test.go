//go:build linux

package main

// More than one server: miniio nodes and a Node socket.io node on one
// real redis-server, with the official socket.io-client on each (and
// nginx in front, in TestClusterBehindNginx). Every process is started
// here and ended by its PID.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"socklab/internal/client"
	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
	"socklab/internal/redisadapter"
	"socklab/internal/sys"
)

// redisProc is a redis-server on a loopback port, nothing kept on disk.
type redisProc struct {
	port int
	proc *proctest.Proc
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

func startRedis(t *testing.T, port int) *redisProc {
	t.Helper()
	path := proctest.NeedTool(t, "redis-server")
	if port == 0 {
		port = freePort(t)
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	p := proctest.Start(t, cmd)
	p.WaitFor(t, &p.Stdout, "Ready to accept connections")
	return &redisProc{port: port, proc: p}
}

func (r *redisProc) kill(t *testing.T) {
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

// servers is how many servers Redis counts for "/": the subscribers of
// its request channel, as the Node adapter counts them.
func servers(t *testing.T, r *redisProc) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	m, err := c.PubSubNumSub(context.Background(), "socket.io-request#/#").Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return int(m["socket.io-request#/#"])
}

func waitServers(t *testing.T, r *redisProc, n int) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for servers(t, r) != n {
		if time.Now().After(deadline) {
			t.Fatalf("Redis counts %d servers, want %d", servers(t, r), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// miniioNode is `miniio serve -redis URL`; url is where socket.io's
// clients connect.
type miniioNode struct {
	*serveProc
	url string
}

func startMiniioNode(t *testing.T, r *redisProc, args ...string) *miniioNode {
	t.Helper()
	s := startServer(t, append([]string{"-redis", r.url()}, args...)...)
	m := s.waitFor(`socket.io clients: (http://\S+)/socket.io/`, 10*time.Second)
	return &miniioNode{serveProc: s, url: m[1]}
}

// startNodeNode starts sio-server.js with the official Redis adapter.
func startNodeNode(t *testing.T, r *redisProc) (url string, p *proctest.Proc) {
	t.Helper()
	dir := nodepeer.Dir(t)
	for _, module := range []string{"@socket.io/redis-adapter", "redis"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", module, "package.json")); err != nil {
			proctest.Need(t, "node", fmt.Errorf("npm module %s is not installed in peers/node: run `npm ci --prefix peers/node --no-audit --no-fund`", module))
		}
	}
	cmd := exec.Command("node", "sio-server.js", "--port", "0", "--transports", "websocket", "--redis", r.url())
	cmd.Dir = dir
	p = proctest.Start(t, cmd)
	m := p.WaitMatch(t, &p.Stdout, regexp.MustCompile(`(?m)^ready (\d+)$`))
	p.WaitFor(t, &p.Stderr, "redis adapter on")
	port, _ := strconv.Atoi(m[1])
	return nodepeer.URL(port), p
}

// user is socket.io-client (Node) connected over WebSocket as name.
func user(t *testing.T, url, name string) *nodepeer.Client {
	t.Helper()
	c := nodepeer.StartClient(t, url, nodepeer.ClientOptions{Transports: []string{"websocket"}, Auth: map[string]string{"name": name}})
	c.Next(proctest.Limit, nodepeer.Type("connect"))
	return c
}

// got counts the events named event whose arguments, as JSON, are args.
func got(c *nodepeer.Client, event string, args ...string) int {
	want := "[" + strings.Join(args, ",") + "]"
	return len(c.Seen(func(l nodepeer.Line) bool {
		if l.Type != "event" || l.Event != event {
			return false
		}
		parts := make([]string, len(l.Args))
		for i, a := range l.Args {
			parts[i] = string(a)
		}
		return "["+strings.Join(parts, ",")+"]" == want
	}))
}

// waitGot waits until c has seen that event at least once.
func waitGot(t *testing.T, c *nodepeer.Client, who string, event string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(proctest.Limit)
	for got(c, event, args...) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s never got %s %v; its lines:\n%v", who, event, args, c.Lines())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClusterAcrossNodes: miniio A and B and Node socket.io C on one
// Redis, two users on each, all with the official socket.io-client.
func TestClusterAcrossNodes(t *testing.T) {
	r := startRedis(t, 0)
	a := startMiniioNode(t, r)
	b := startMiniioNode(t, r)
	cURL, _ := startNodeNode(t, r)
	waitServers(t, r, 3)

	names := []string{"ann", "amy", "bob", "ben", "cat", "cid"} // a…, b…, c…: the node they are on
	urls := []string{a.url, a.url, b.url, b.url, cURL, cURL}
	users := map[string]*nodepeer.Client{}
	for i, n := range names {
		users[n] = user(t, urls[i], n)
	}
	// barrier: a shout from from (io.emit, on every node) reaches all; a
	// broadcast sent before it on the same node came before it, since
	// Redis keeps one publisher's order. After it, the counts are final.
	gone := map[string]bool{} // disconnected on purpose
	barrier := func(from string, tag string) {
		t.Helper()
		users[from].EmitAck("shout", tag)
		for _, n := range names {
			if gone[n] {
				continue
			}
			waitGot(t, users[n], n, "shout", strconv.Quote(from), strconv.Quote(tag))
		}
	}
	// expect checks who got event with args exactly once, and who not at all.
	expect := func(event string, args []string, getters ...string) {
		t.Helper()
		for _, n := range names {
			want := 0
			if slices.Contains(getters, n) {
				want = 1
			}
			if c := got(users[n], event, args...); c != want {
				t.Errorf("%s got %s %v %d times, want %d", n, event, args, c, want)
			}
		}
	}

	t.Run("broadcast", func(t *testing.T) {
		for _, from := range []string{"ann", "bob", "cat"} {
			msg := "hi from " + from
			users[from].EmitAck("chat", msg)
			barrier(from, "after "+msg)
			var others []string
			for _, n := range names {
				if n != from {
					others = append(others, n)
				}
			}
			expect("chat", []string{strconv.Quote(from), strconv.Quote(msg)}, others...)
		}
	})

	t.Run("room spanning nodes", func(t *testing.T) {
		for _, n := range []string{"ann", "bob", "cat"} {
			if rooms := users[n].EmitAck("join", "ops"); len(rooms) != 1 || string(rooms[0]) != `["ops"]` {
				t.Fatalf("%s join ops: %s", n, rooms)
			}
		}
		users["bob"].EmitAck("chat", "ops only")
		barrier("bob", "after ops")
		expect("chat", []string{`"bob"`, `"ops only"`}, "ann", "cat")
		users["cat"].EmitAck("chat", "ops from node")
		barrier("cat", "after ops from node")
		expect("chat", []string{`"cat"`, `"ops only"`}) // nobody got bob's twice
		expect("chat", []string{`"cat"`, `"ops from node"`}, "ann", "bob")
	})

	t.Run("fetchSockets", func(t *testing.T) {
		// ann, bob and cat are in ops, one on each node.
		ack := users["amy"].EmitAck("sockets", "ops")
		var ids []string
		if len(ack) != 1 || json.Unmarshal(ack[0], &ids) != nil || len(ids) != 3 {
			t.Fatalf("sockets ops: %s, want three ids", ack)
		}
	})

	t.Run("except", func(t *testing.T) {
		for _, n := range []string{"amy", "ben", "cid"} {
			users[n].EmitAck("join", "quiet")
		}
		users["ann"].EmitAck("except", "quiet", "shh")
		barrier("ann", "after except")
		expect("except", []string{`"quiet"`, `"shh"`}, "ann", "bob", "cat")
	})

	t.Run("server-side emit", func(t *testing.T) {
		// From miniio A: B and C run their "sse" handlers, each tells its
		// own clients and answers.
		ack := users["ann"].EmitAck("sse", "from A")
		var answers []string
		if len(ack) != 1 || json.Unmarshal(ack[0], &answers) != nil {
			t.Fatalf("sse from A: ack %s", ack)
		}
		slices.Sort(answers)
		if !slices.Equal(answers, []string{"miniio", "node"}) {
			t.Errorf("sse from A: answers %q, want miniio (B) and node (C)", answers)
		}
		// From Node C: both miniio nodes answer.
		ack = users["cat"].EmitAck("sse", "from C")
		answers = nil
		if len(ack) != 1 || json.Unmarshal(ack[0], &answers) != nil {
			t.Fatalf("sse from C: ack %s", ack)
		}
		if !slices.Equal(answers, []string{"miniio", "miniio"}) {
			t.Errorf("sse from C: answers %q, want miniio twice", answers)
		}
		for _, n := range []string{"bob", "ben", "cat", "cid"} {
			waitGot(t, users[n], n, "sse", `"from A"`)
		}
		for _, n := range []string{"ann", "amy", "bob", "ben"} {
			waitGot(t, users[n], n, "sse", `"from C"`)
		}
		barrier("ann", "after sse")
		expect("sse", []string{`"from A"`}, "bob", "ben", "cat", "cid")
		expect("sse", []string{`"from C"`}, "ann", "amy", "bob", "ben")
	})

	t.Run("disconnectSockets", func(t *testing.T) {
		users["ann"].EmitAck("kick", "quiet") // amy (A), ben (B), cid (C)
		for _, n := range []string{"amy", "ben", "cid"} {
			users[n].Next(proctest.Limit, nodepeer.Type("disconnect"))
			gone[n] = true
		}
		barrier("bob", "after kick")
		for _, n := range []string{"ann", "bob", "cat"} {
			if d := users[n].Seen(nodepeer.Type("disconnect")); len(d) > 0 {
				t.Errorf("%s was disconnected too: %v", n, d)
			}
		}
	})
	if t.Failed() {
		t.Logf("A:\n%s\nB:\n%s", tail(a.out.String(), 30), tail(b.out.String(), 30))
	}
}

// noTrace turns the trace off for the Go clients the tests run in this
// process, once, before the first of them starts (the switch is not
// for changing while calls are made).
var noTrace = sync.OnceFunc(func() { sys.SetTracing(false) })

// tcpUser is a miniio TCP client (internal/client) that records the
// "shout" numbers it gets.
type tcpUser struct {
	c    *client.Client
	seen chan int
}

func startTCPUser(t *testing.T, addr string) *tcpUser {
	t.Helper()
	noTrace()
	u := &tcpUser{seen: make(chan int, 100000)}
	c, err := client.NewClient(addr, client.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.On("shout", func(args []json.RawMessage) {
		var n int
		if len(args) == 2 && json.Unmarshal(args[1], &n) == nil {
			u.seen <- n
		}
	})
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	u.c = c
	t.Cleanup(func() { c.Close() })
	return u
}

// next waits for the next number u got, at most within.
func (u *tcpUser) next(within time.Duration) (int, bool) {
	select {
	case n := <-u.seen:
		return n, true
	case <-time.After(within):
		return 0, false
	}
}

// TestClusterRedisRestart kills redis-server in the middle of a steady
// stream of broadcasts and starts it again on the same port: the
// clients on the sending node get every one, those on the other node
// get them again within a few seconds, and both nodes' logs say which
// window was lost.
func TestClusterRedisRestart(t *testing.T) {
	r := startRedis(t, 0)
	a := startMiniioNode(t, r)
	b := startMiniioNode(t, r)
	waitServers(t, r, 2)
	local := startTCPUser(t, a.addr)
	remote := startTCPUser(t, b.addr)
	sender := startTCPUser(t, a.addr)

	// The stream: shout 1, 2, 3, … every 20 ms until stopped.
	sent := make(chan int, 100000)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := sender.c.Emit("shout", n); err != nil {
				return
			}
			sent <- n
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-finished
	}()
	lastSent := func() int {
		n := 0
		for {
			select {
			case n = <-sent:
			default:
				return n
			}
		}
	}
	// localUpTo checks that the local user got every number in order up
	// to n: local delivery never stops, whatever Redis does.
	localNext := 1
	localUpTo := func(n int) {
		t.Helper()
		for localNext <= n {
			got, ok := local.next(proctest.Limit)
			if !ok {
				t.Fatalf("the user on the sending node got nothing after %d", localNext-1)
			}
			if got != localNext {
				t.Fatalf("the user on the sending node got %d, want %d: local delivery skipped", got, localNext)
			}
			localNext++
		}
	}
	// remoteAfter waits until the other node's user gets a number > n.
	remoteAfter := func(n int, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			got, ok := remote.next(within - time.Since(start))
			if !ok {
				t.Fatalf("the user on the other node got nothing after %d within %v", n, within)
			}
			if got > n {
				return time.Since(start)
			}
		}
	}

	remoteAfter(20, proctest.Limit)
	r.kill(t)
	time.Sleep(1500 * time.Millisecond) // the stream goes on meanwhile
	localUpTo(lastSent())
	startRedis(t, r.port) // on the same port: the nodes find it again by themselves
	restarted := lastSent()
	took := remoteAfter(restarted, 15*time.Second)
	t.Logf("cross-node delivery resumed %v after redis-server restarted", took.Round(time.Millisecond))
	close(stop)
	<-finished
	localUpTo(lastSent())
	for name, n := range map[string]*miniioNode{"sending": a, "receiving": b} {
		n.waitFor(`redis: subscribed again at \S+: broadcasts other nodes sent in the \S+ since \S+ are lost`, proctest.Limit)
		t.Logf("the %s node's log:\n%s", name, grepLines(n.out.String(), "redis"))
	}
	a.waitFor(`redis: publishing failed`, proctest.Limit)
}

// grepLines is the lines of s that contain word.
func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestClusterNodeKilled kills the Node node with two users on it: the
// users of the miniio nodes go on as before, and a server-side emit
// waits for the servers that are left only.
func TestClusterNodeKilled(t *testing.T) {
	r := startRedis(t, 0)
	a := startMiniioNode(t, r)
	b := startMiniioNode(t, r)
	cURL, c := startNodeNode(t, r)
	waitServers(t, r, 3)
	ann, bob := user(t, a.url, "ann"), user(t, b.url, "bob")
	cat, cid := user(t, cURL, "cat"), user(t, cURL, "cid")
	ann.EmitAck("chat", "before")
	for who, u := range map[string]*nodepeer.Client{"bob": bob, "cat": cat, "cid": cid} {
		waitGot(t, u, who, "chat", `"ann"`, `"before"`)
	}

	c.Signal(t, syscall.SIGKILL)
	c.ExitCode(t)
	waitServers(t, r, 2)
	ann.EmitAck("chat", "after")
	bob.EmitAck("chat", "still here")
	waitGot(t, bob, "bob", "chat", `"ann"`, `"after"`)
	waitGot(t, ann, "ann", "chat", `"bob"`, `"still here"`)
	ack := ann.EmitAck("sse", "who is left")
	if len(ack) != 1 || string(ack[0]) != `["miniio"]` {
		t.Errorf("sse after the Node node died: %s, want [\"miniio\"] (B alone)", ack)
	}
	for who, u := range map[string]*nodepeer.Client{"ann": ann, "bob": bob} {
		if d := u.Seen(nodepeer.Type("disconnect")); len(d) > 0 {
			t.Errorf("%s was disconnected: %v", who, d)
		}
	}
}

// TestClusterSlowRedis stops redis-server (SIGSTOP) while a client
// sends 40 MB of broadcasts: the node's publish queue stops at its bound
// (it drops, and says so), so its memory does not grow with what it
// could not send.
func TestClusterSlowRedis(t *testing.T) {
	r := startRedis(t, 0)
	a := startMiniioNode(t, r, "-bench-events")
	waitServers(t, r, 1)
	u := startTCPUser(t, a.addr)
	payload := strings.Repeat("x", 1000)
	rss := func() int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), proctest.Limit)
		defer cancel()
		ack, err := u.c.EmitWithAck(ctx, "mem")
		var m struct{ RSS int64 }
		if err != nil || len(ack) != 1 || json.Unmarshal(ack[0], &m) != nil {
			t.Fatalf("mem: %s %v", ack, err)
		}
		return m.RSS
	}
	blast := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := u.c.Emit("bcast", payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	blast(4000) // warm up with Redis answering
	before := rss()
	r.proc.Signal(t, syscall.SIGSTOP)
	defer r.proc.Signal(t, syscall.SIGCONT)
	blast(40000)
	after := rss()
	a.waitFor(`redis: publish queue full \(Redis slow or away\): \d+ broadcasts to other servers dropped`, proctest.Limit)
	t.Logf("rss %d MiB before, %d MiB after 40 MB of broadcasts to a stopped Redis", before>>20, after>>20)
	if grew := after - before; grew > 24<<20 {
		t.Errorf("rss grew by %d MiB: the publish queue is not bounded", grew>>20)
	}
}

// TestClusterRedisDownAtStart: without Redis, -redis is a clear error;
// with -redis-optional the server serves alone, says so, and joins when
// Redis comes.
func TestClusterRedisDownAtStart(t *testing.T) {
	proctest.NeedTool(t, "redis-server")
	port := freePort(t)
	url := fmt.Sprintf("redis://127.0.0.1:%d", port)
	cmd := exec.Command(miniioBinary(t), "serve", "-addr", "127.0.0.1:0", "-http", "", "-redis", url)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "connection refused") ||
		!strings.Contains(string(out), "-redis-optional") {
		t.Fatalf("miniio serve -redis with no Redis: exit %d (%v), output:\n%s\nwant exit 1, the reason and the way out", code, err, out)
	}
	proctest.NoPanic(t, string(out))

	s := startServer(t, "-redis", url, "-redis-optional")
	s.waitFor(`warning: redis: NOT CONNECTED .*connection refused.*: serving local clients only`, proctest.Limit)
	startRedis(t, port)
	s.waitFor(`redis: subscribed: broadcasts reach the other servers from now on`, 15*time.Second)
}

// wsUser is a Go client over WebSocket that counts the shouts it gets.
type wsUser struct {
	c      *client.Client
	mu     sync.Mutex
	shouts map[string]int // "from tag" → times
	bye    int            // disconnects
}

func startWSUser(t *testing.T, url, name string) *wsUser {
	t.Helper()
	noTrace()
	u := &wsUser{shouts: map[string]int{}}
	c, err := client.NewClient(url, client.ClientOptions{Auth: map[string]any{"name": name}})
	if err != nil {
		t.Fatal(err)
	}
	c.On("shout", func(args []json.RawMessage) {
		var from, tag string
		if len(args) == 2 && json.Unmarshal(args[0], &from) == nil && json.Unmarshal(args[1], &tag) == nil {
			u.mu.Lock()
			u.shouts[from+" "+tag]++
			u.mu.Unlock()
		}
	})
	c.On("disconnect", func([]json.RawMessage) {
		u.mu.Lock()
		u.bye++
		u.mu.Unlock()
	})
	if err := c.Connect(); err != nil {
		t.Fatalf("%s via %s: %v", name, url, err)
	}
	u.c = c
	t.Cleanup(func() { c.Close() })
	return u
}

func (u *wsUser) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.shouts[key]
}

// TestClusterBehindNginx runs scripts/cluster (redis-server, miniio A and
// B, Node C, nginx in front) and connects, through nginx, sixteen Go
// clients and two official socket.io-clients over WebSocket, and six
// socket.io-clients with their default transports (long-polling, then
// the upgrade): the connections spread over the nodes, every shout
// reaches every client exactly once, no session breaks (each poll lands
// on the node that holds its session), and the script stops everything
// by PID on SIGTERM.
func TestClusterBehindNginx(t *testing.T) {
	for _, tool := range []string{"redis-server", "nginx", "bash"} {
		proctest.NeedTool(t, tool)
	}
	nodepeer.Dir(t) // node and its modules
	dir := t.TempDir()
	ports := map[string]int{}
	for _, k := range []string{"REDIS_PORT", "A_PORT", "A_HTTP", "B_PORT", "B_HTTP", "C_HTTP", "FRONT_PORT"} {
		ports[k] = freePort(t)
	}
	var fronts []string
	for i := 1; i <= 16; i++ {
		fronts = append(fronts, fmt.Sprintf("127.0.0.%d", i))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "cluster"))
	cmd.Env = append(os.Environ(), "MINIIO="+miniioBinary(t), "CLUSTER_DIR="+dir, "FRONT_ADDRS="+strings.Join(fronts, " "))
	for k, v := range ports {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", k, v))
	}
	p := proctest.StartCombined(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"a.log", "b.log", "c.log", "nginx-access.log", "nginx-error.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s:\n%s", f, tail(string(b), 20))
			}
		}
	})
	p.WaitFor(t, &p.Stdout, "\nready\n")
	pids := regexp.MustCompile(`pid (\d+)`).FindAllStringSubmatch(p.Stdout.String(), -1)
	if len(pids) != 5 {
		t.Fatalf("scripts/cluster named %d PIDs, want 5:\n%s", len(pids), p.Stdout.String())
	}

	front := ports["FRONT_PORT"]
	// The chat page, through nginx, from whichever node each address
	// reaches: every node serves it.
	for _, addr := range fronts[:4] {
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/", addr, front))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "<html") {
			t.Errorf("GET / via %s: %d from %s, %d bytes; want the chat page", addr, resp.StatusCode, resp.Header.Get("X-Socklab-Node"), len(page))
		}
	}
	var users []*wsUser
	for i, addr := range fronts {
		users = append(users, startWSUser(t, fmt.Sprintf("ws://%s:%d", addr, front), fmt.Sprintf("u%d", i+1)))
	}
	n1 := user(t, fmt.Sprintf("http://%s:%d", fronts[0], front), "n1")
	n2 := user(t, fmt.Sprintf("http://%s:%d", fronts[1], front), "n2")
	// socket.io-client's defaults: long-polling first, then the upgrade.
	// Every poll is a new HTTP request; nginx's hash must send each to
	// the node that holds the session, or the session breaks.
	var pollers []*nodepeer.Client
	for i, addr := range fronts[2:8] {
		c := nodepeer.StartClient(t, fmt.Sprintf("http://%s:%d", addr, front), nodepeer.ClientOptions{Auth: map[string]string{"name": fmt.Sprintf("p%d", i+1)}})
		c.Next(proctest.Limit, nodepeer.Type("connect"))
		pollers = append(pollers, c)
	}

	users[0].c.Emit("shout", "one")
	n1.EmitAck("shout", "two")
	users[15].c.Emit("shout", "three")
	deadline := time.Now().Add(proctest.Limit)
	for _, key := range []string{"u1 one", "n1 two", "u16 three"} {
		for i, u := range users {
			for u.count(key) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("u%d never got the shout %q", i+1, key)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		from, tag, _ := strings.Cut(key, " ")
		waitGot(t, n1, "n1", "shout", strconv.Quote(from), strconv.Quote(tag))
		waitGot(t, n2, "n2", "shout", strconv.Quote(from), strconv.Quote(tag))
	}
	// One more round through Redis and every node before counting: a
	// second copy of an earlier shout, if a node made one, would be
	// delivered by then (each server's messages keep their order).
	n2.EmitAck("shout", "four")
	for i, u := range users {
		for u.count("n2 four") == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("u%d never got the shout four", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, key := range []string{"u1 one", "n1 two", "u16 three"} {
			if c := u.count(key); c != 1 {
				t.Errorf("u%d got the shout %q %d times, want once", i+1, key, c)
			}
		}
		u.mu.Lock()
		bye := u.bye
		u.mu.Unlock()
		if bye != 0 {
			t.Errorf("u%d was disconnected", i+1)
		}
	}
	for i, p := range pollers {
		waitGot(t, p, fmt.Sprintf("p%d", i+1), "shout", `"n2"`, `"four"`)
		if o := p.Seen(nodepeer.Type("open")); len(o) != 1 || o[0].Transport != "polling" {
			t.Errorf("p%d: opened %v, want once, on long-polling", i+1, o)
		}
		if c := p.Seen(nodepeer.Type("connect")); len(c) != 1 {
			t.Errorf("p%d: connected %d times, want once", i+1, len(c))
		}
		p.Next(proctest.Limit, nodepeer.Type("upgrade"))
	}
	for _, n := range append([]*nodepeer.Client{n1, n2}, pollers...) {
		if got(n, "shout", `"u1"`, `"one"`) != 1 || got(n, "shout", `"n1"`, `"two"`) != 1 {
			t.Errorf("a socket.io-client got a shout other than once: %v", n.Lines())
		}
		if d := n.Seen(nodepeer.Type("disconnect")); len(d) > 0 {
			t.Errorf("a socket.io-client was disconnected: %v", d)
		}
	}

	// Which node took whom: each node's log says who connected.
	spread := map[string]int{}
	for node, pattern := range map[string]string{"A": `(?m)^(u\d+|[np]\d) connected`, "B": `(?m)^(u\d+|[np]\d) connected`, "C": `(?m)^/ (u\d+|[np]\d) connected`} {
		b, err := os.ReadFile(filepath.Join(dir, strings.ToLower(node)+".log"))
		if err != nil {
			t.Fatal(err)
		}
		spread[node] = len(regexp.MustCompile(pattern).FindAllString(string(b), -1))
	}
	t.Logf("clients per node through nginx: %v", spread)
	if spread["A"]+spread["B"]+spread["C"] != 24 {
		t.Errorf("the nodes' logs count %v connections, want 24", spread)
	}
	used := 0
	for _, n := range spread {
		if n > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("every client landed on one node: %v", spread)
	}

	// SIGTERM: the script stops what it started, by PID.
	p.Signal(t, syscall.SIGTERM)
	p.ExitCode(t)
	for _, m := range pids {
		pid, _ := strconv.Atoi(m[1])
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pid %d is still running after scripts/cluster ended", pid)
		}
	}
	if n := strings.Count(p.Stdout.String(), "stopped "); n != 5 {
		t.Errorf("scripts/cluster said \"stopped\" %d times, want 5:\n%s", n, p.Stdout.String())
	}
}

// TestClusterAnswersRequests plays a Node server on the Redis bus (the
// Bus of internal/redisadapter, speaking @socket.io/redis-adapter's
// protocol) and asks a miniio node what a Node server asks: fetchSockets,
// allRooms, socketsJoin, serverSideEmit with an answer, and
// disconnectSockets. Each answer is checked as the Node adapter reads it.
func TestClusterAnswersRequests(t *testing.T) {
	r := startRedis(t, 0)
	a := startMiniioNode(t, r)
	ann := startTCPUser(t, a.addr)
	sses := make(chan []json.RawMessage, 10)
	ann.c.On("sse", func(args []json.RawMessage) { sses <- args })
	ann.c.OnAck("ask", func(args []json.RawMessage, ack func(...any) error) { ack("yes") })
	ask := func(event string, args ...any) []json.RawMessage {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), proctest.Limit)
		defer cancel()
		ack, err := ann.c.EmitWithAck(ctx, event, args...)
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		return ack
	}
	ask("join", "ops")
	annID := ann.c.ID()

	responses := make(chan redisadapter.Response, 10)
	bus, err := redisadapter.New(redisadapter.Config{URL: r.url(), Namespaces: []string{"/"}, OnMessage: func(m redisadapter.Message) {
		if m.Kind == redisadapter.KindResponse {
			responses <- *m.Response
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Limit)
	defer cancel()
	if err := bus.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	waitServers(t, r, 2)
	request := func(req redisadapter.Request) redisadapter.Response {
		t.Helper()
		if err := bus.PublishRequest("/", req); err != nil {
			t.Fatal(err)
		}
		select {
		case resp := <-responses:
			if resp.RequestID != req.RequestID {
				t.Fatalf("%v: an answer to request %q, want %q", req.Type, resp.RequestID, req.RequestID)
			}
			return resp
		case <-time.After(proctest.Limit):
			t.Fatalf("%v: no answer from the miniio node", req.Type)
		}
		return redisadapter.Response{}
	}

	resp := request(redisadapter.Request{Type: redisadapter.RemoteFetch, RequestID: "fetch1", Opts: &redisadapter.BroadcastOptions{Rooms: []string{"ops"}}})
	if len(resp.Fetched) != 1 || resp.Fetched[0].ID != annID || !slices.Contains(resp.Fetched[0].Rooms, "ops") {
		t.Errorf("fetchSockets in ops: %+v, want ann (%s) in ops", resp.Fetched, annID)
	}
	resp = request(redisadapter.Request{Type: redisadapter.AllRooms, RequestID: "rooms1"})
	if !slices.Contains(resp.Rooms, "ops") || !slices.Contains(resp.Rooms, annID) {
		t.Errorf("allRooms: %q, want ops and ann's id", resp.Rooms)
	}
	request(redisadapter.Request{Type: redisadapter.RemoteJoin, RequestID: "join1", SID: annID, Room: "extra"}) // an older node's form, answered
	if err := bus.PublishRequest("/", redisadapter.Request{Type: redisadapter.RemoteJoin, Opts: &redisadapter.BroadcastOptions{Rooms: []string{"ops"}}, Rooms: []string{"more"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(proctest.Limit)
	for {
		rooms := ask("join", "ops")
		if len(rooms) == 1 && string(rooms[0]) == `["extra","more","ops"]` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ann's rooms after two socketsJoin: %s, want extra, more and ops", rooms)
		}
		time.Sleep(20 * time.Millisecond)
	}
	name, _ := json.Marshal("sse")
	resp = request(redisadapter.Request{Type: redisadapter.ServerSideEmit, RequestID: "sse1", Data: []json.RawMessage{name, json.RawMessage(`"from node"`)}})
	if resp.Type != redisadapter.ServerSideEmit || string(resp.Data) != `"miniio"` {
		t.Errorf("serverSideEmit answer: %+v, want type %d and \"miniio\"", resp, redisadapter.ServerSideEmit)
	}
	select {
	case args := <-sses:
		if len(args) != 1 || string(args[0]) != `"from node"` {
			t.Errorf("ann got sse %s", args)
		}
	case <-time.After(proctest.Limit):
		t.Error("ann never got the server-side emit's event")
	}
	// io.timeout(2000).emit("ask", "q", callback) on a Node server: how
	// many of miniio's clients got it, then each one's answer.
	ask1 := redisadapter.EventPacket("/", "ask", []json.RawMessage{json.RawMessage(`"q"`)}, nil)
	ask1.HasAck, ask1.AckID = true, 7
	resp = request(redisadapter.Request{Type: redisadapter.BroadcastWithAck, RequestID: "ask1", Packet: &ask1,
		Opts: &redisadapter.BroadcastOptions{Flags: redisadapter.Flags{Timeout: 2000}}})
	if resp.Type != redisadapter.BroadcastClientCount || resp.ClientCount != 1 {
		t.Errorf("broadcast with acks: first answer %+v, want a client count of 1", resp)
	}
	select {
	case resp := <-responses:
		if resp.RequestID != "ask1" || resp.Type != redisadapter.BroadcastAck || string(resp.Ack) != `"yes"` {
			t.Errorf("broadcast with acks: second answer %+v, want ann's \"yes\"", resp)
		}
	case <-time.After(proctest.Limit):
		t.Error("broadcast with acks: ann's answer never came back")
	}

	disconnected := make(chan struct{}, 1)
	ann.c.On("disconnect", func([]json.RawMessage) { disconnected <- struct{}{} })
	request(redisadapter.Request{Type: redisadapter.RemoteDisconnect, RequestID: "bye1", Opts: &redisadapter.BroadcastOptions{Rooms: []string{"more"}}, Close: true})
	select {
	case <-disconnected:
	case <-time.After(proctest.Limit):
		t.Error("disconnectSockets did not disconnect ann")
	}
}
