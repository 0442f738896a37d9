package main

// miniio serve: the demo server. What it does with each event is written
// out in demo() below, the way a Node program would write it:
//
//	chat "hi"       → the others get ["chat", NAME, "hi"] (only the sender's
//	                  rooms, if it joined any); socket.broadcast.emit
//	shout "hi"      → everyone, the sender too, gets ["shout", NAME, "hi"]; io.emit
//	echo …          → acknowledged with the same arguments
//	join "r" / leave "r"  → in or out of room r (acknowledged with the rooms it is in)
//	on connect      → the others get ["user joined", NAME]   (named clients only)
//	on disconnect   → the others get ["user left", NAME]     (named clients only)
//
// NAME is the "name" of the CONNECT's auth object (`40{"name":"ann"}`), or
// the socket's id when there is none. Clients without a name (miniio emit
// and listen, benchmark clients) are not announced.
//
// It answers `stats` → {conns, connected, goroutines}, which the tests use
// to check that nothing leaks, and with -bench-events the benchmark's
// events (the contract is at the top of scripts/bench): count,
// count_done, bcast → "msg", mem → {rss, heap}.
//
// Run:
//
//	Terminal A:  ./bin/miniio serve -wire          # every frame, as length and text
//	Terminal B:  ./bin/miniio listen
//	Terminal C:  ./bin/miniio emit -ack echo hi
//
// Other ways to run it:
//
//	./bin/miniio serve -http 127.0.0.1:3000        # socket.io's own clients here (the default; "" for none)
//	./bin/miniio serve -trace                    # and the socket calls: epoll_wait, accept4, read, writev
//	./bin/miniio serve -token s3cret             # a CONNECT must carry 40{"token":"s3cret"}
//	./bin/miniio serve -ping-interval 2s -ping-timeout 1s   # see a stopped client time out (kill -STOP)
//	./bin/miniio serve -max-payload 100          # see a long message refused
//	./bin/miniio serve -q -bench-events          # errors only, and the benchmark's events
//	./bin/miniio serve -conformance              # as socket.io's official protocol suites expect (conformanceHandlers)
//	./bin/miniio serve -redis redis://127.0.0.1:6379   # one of several servers (redis.go, scripts/cluster)
//
// Watch:
//
//	ss -tnp 'sport = :7070'                      # the clients; Send-Q grows for one that stopped reading
//	ls /proc/$(pgrep -n miniio)/fd | wc -l       # one descriptor per client, plus the loop's own
//
// Ctrl-C (SIGINT) or SIGTERM: every client gets CLOSE "server shutting
// down", and the server exits 0 within a few seconds.
//
// See: lessons/11-emit-and-on.md, lessons/12-acks-and-rooms.md,
// lessons/13-stress-and-limits.md, lessons/17-more-than-one-server.md;
// man 7 epoll.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"
	"golang.org/x/sys/unix"

	"socklab/internal/chatpage"
	"socklab/internal/server"
	"socklab/internal/sys"
	"socklab/internal/transport"
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

// shutdownTimeout bounds a graceful shutdown: clients that do not take
// their CLOSE frame within it are cut off.
const shutdownTimeout = 3 * time.Second

// defaultHTTPAddr is where socket.io's own clients (a browser, Node's
// socket.io-client) connect: the port of io("http://localhost:3000").
//
// Why a second port, and not one port for both kinds of client: a miniio
// TCP client connects and then waits for the server's OPEN before it
// says anything, while an HTTP client speaks first (its request line).
// On one port the server could only tell them apart by waiting to see
// whether the client speaks, and every TCP client would pay that wait
// before its OPEN. Two listening sockets cost nothing: the event loop
// watches both, and it knows which one accepted each connection.
const defaultHTTPAddr = "127.0.0.1:3000"

func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", wire.DefaultAddr, "where to listen: HOST:PORT (127.0.0.1: this machine only; :7070: every interface)")
	httpAddr := fs.String("http", defaultHTTPAddr, "where socket.io's own clients connect: HTTP, then WebSocket, at /socket.io/ (\"\": none)")
	token := fs.String("token", "", "let in only clients whose CONNECT carries this token: 40{\"token\":\"…\"}")
	var o server.ServerOptions
	fs.DurationVar(&o.PingInterval, "ping-interval", server.DefaultPingInterval, "how often to send PING")
	fs.DurationVar(&o.PingTimeout, "ping-timeout", server.DefaultPingTimeout, "how long to wait for PONG before \"ping timeout\"")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", server.DefaultConnectTimeout, "how long a new connection may take to send CONNECT")
	fs.IntVar(&o.MaxPayload, "max-payload", server.DefaultMaxPayload, "the largest packet accepted, in bytes")
	fs.DurationVar(&o.FrameTimeout, "frame-timeout", server.DefaultFrameTimeout, "how long the rest of a frame may take once its length has come")
	fs.DurationVar(&o.TurnTime, "turn-time", transport.TurnTime, "handler time one connection gets per turn of the loop; the rest of its input waits for the next turn")
	fs.IntVar(&o.InputBudget, "input-budget", server.DefaultInputBudget, "bytes of unfinished frames held for all clients together; past it the largest holders are closed")
	fs.IntVar(&o.MaxConns, "max-conns", server.DefaultMaxConns, "the most connections at once (-1: no limit)")
	fs.DurationVar(&o.HeadTimeout, "head-timeout", server.DefaultHeadTimeout, "how long an HTTP client may take to send its request head")
	fs.IntVar(&o.MaxOutput, "max-output", server.DefaultMaxOutput, "bytes that may wait to be sent to one client before it is dropped as a slow consumer (-1: no limit)")
	benchEvents := fs.Bool("bench-events", false, "also answer the benchmark's events (count, count_done, bcast, mem): scripts/bench; mem runs a garbage collection on the loop")
	trace := fs.Bool("trace", false, "print the socket calls on stderr, as strace shows them")
	showWire := fs.Bool("wire", false, "print every frame sent (→) and received (←): its length and text")
	traceStreamOn := fs.Bool("trace-stream", false, "stream the trace to pages on the /trace namespace (loopback clients, or holders of -token): the chat page's ?trace=1")
	redisURL := fs.String("redis", "", "join other servers through Redis, socket.io's Redis adapter protocol: redis://127.0.0.1:6379 (lessons/17)")
	redisOptional := fs.Bool("redis-optional", false, "with -redis: when Redis is not there at start, serve local clients only (with a warning) and keep trying")
	httpSetup := httpFlags(fs) // -cors, -client-bundle: long-polling's page and origins
	conformance := fs.Bool("conformance", false, "start as socket.io's official conformance suites expect: ping 300ms/200ms, maxPayload 1000000, connect timeout 1s, their handlers on / and /custom instead of the demo's")
	sys.RegisterFlags(fs) // -q, -explain, -step, -color
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: miniio serve [-addr 127.0.0.1:7070] [-token T] [-wire] [-trace] [-q] [limits]\n\n"+
			"The demo server: chat, echo, join, leave, shout (and with -bench-events the benchmark's events).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "miniio serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := sys.Configure(); err != nil {
		fmt.Fprintf(os.Stderr, "miniio serve: %v\n", err)
		return 2
	}
	if *conformance {
		o.PingInterval, o.PingTimeout, o.MaxPayload, o.ConnectTimeout = conformancePingInterval, conformancePingTimeout, conformanceMaxPayload, conformanceConnectTimeout
	}
	if msg := checkLimits(o); msg != "" {
		fmt.Fprintf(os.Stderr, "miniio serve: %s\n", msg)
		return 2
	}
	quiet := flagSet(fs, "q")
	// A server's trace is every epoll_wait, read and write of every
	// client: off unless asked for (-trace, or -explain/-step, which are
	// about the trace).
	sys.SetTracing(!quiet && (*trace || flagSet(fs, "explain") || flagSet(fs, "step")))
	log := &logger{quiet: quiet}

	var srv *server.Server
	var logConnection func(*server.Socket)
	if !quiet {
		logConnection = logHooks(&o, &srv, log, *showWire)
	}
	// -trace-stream: the trace, live, on /trace (tracestream.go).
	var liveTrace *traceStream
	if *traceStreamOn {
		liveTrace = newTraceStream(&o, *token)
	}
	srv = server.NewServer(o)
	if liveTrace != nil {
		liveTrace.attach(srv)
		log.info("trace stream: namespace %s, for %s", traceNamespace, map[bool]string{true: "holders of -token", false: "clients on this machine"}[*token != ""])
	}
	if msg := httpSetup(srv, log); msg != "" {
		fmt.Fprintf(os.Stderr, "miniio serve: %s\n", msg)
		return 2
	}
	if *token != "" {
		srv.Use(server.TokenAuth(*token))
	}
	if *conformance {
		conformanceHandlers(srv)
		srv.ServeEngineIOEcho(engineIOEchoPath)
	} else {
		demo(srv, log, *benchEvents)
	}
	if logConnection != nil {
		srv.OnConnection(logConnection)
	}
	// -redis: more than one server (redis.go). Without it, nothing here
	// knows other servers exist.
	if *redisURL != "" {
		leave, err := joinCluster(srv, *redisURL, *redisOptional, log)
		if err != nil {
			fmt.Fprintf(os.Stderr, "miniio serve: -redis %s: %v\n", *redisURL, err)
			return 1
		}
		defer leave()
	} else if *redisOptional {
		fmt.Fprintln(os.Stderr, "miniio serve: -redis-optional needs -redis URL")
		return 2
	}

	// SIGINT (Ctrl-C) and SIGTERM: say goodbye to every client, then go.
	// Set before the first socket: a Ctrl-C while the listeners are still
	// being made (under -step, say) is remembered, and Serve ends at once.
	sys.OnStopSignal(func(sig os.Signal) {
		log.info("%v: shutting down", sig)
		srv.Shutdown(shutdownTimeout)
	})

	// socket → setsockopt(SO_REUSEADDR) → bind → listen (man 2 each);
	// non-blocking, because the event loop must never wait in accept.
	listenFD, err := server.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, sys.Failure("listen on "+*addr, unwrapErrno(err)))
		return 1
	}
	// With port 0 the kernel picks a free port: ask it which (getsockname).
	bound, err := server.BoundAddr(listenFD)
	if err != nil {
		bound = *addr
	}
	// The second port, for socket.io's own clients (see defaultHTTPAddr
	// for why it is a second port).
	httpFD := -1
	httpBound := ""
	if *httpAddr != "" {
		httpFD, err = server.Listen(*httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, sys.Failure("listen on "+*httpAddr+" (-http)", unwrapErrno(err)))
			return 1
		}
		if httpBound, err = server.BoundAddr(httpFD); err != nil {
			httpBound = *httpAddr
		}
	}
	log.info("listening on %s (ping every %v, timeout %v; maxPayload %d)", bound, o.PingInterval, o.PingTimeout, srv.Options().MaxPayload)
	if httpFD >= 0 {
		log.info("socket.io clients: http://%s/socket.io/ (WebSocket)", httpBound)
		if *conformance {
			log.info("Engine.IO echo: http://%s%s", httpBound, engineIOEchoPath)
		}
	}
	// Judged by the address the socket got (getsockname), not by the
	// flag's text: "localhost:7070" is loopback, "myhost:7070" may not be.
	if *token == "" && !loopback(bound) {
		log.warn("listening beyond this machine without -token: anyone who can reach %s may connect", bound)
	}
	if *token == "" && httpFD >= 0 && !loopback(httpBound) {
		log.warn("listening beyond this machine without -token: anyone who can reach %s may connect", httpBound)
	}

	// The event loop: epoll_wait, accept4, read, writev, … until Shutdown.
	if err := srv.ServeWithHTTP(listenFD, httpFD); err != nil {
		fmt.Fprintln(os.Stderr, sys.Failure("event loop", unwrapErrno(err)))
		return 1
	}
	log.info("bye")
	return 0
}

// demo registers the demo's events, and with bench the benchmark's.
func demo(srv *server.Server, log *logger, bench bool) {
	srv.OnConnection(func(s *server.Socket) {
		name, named := nameOf(s)
		// Only a client that gave a name is announced: a chat user. The
		// others (miniio emit, listen, a benchmark's ten thousand
		// connections) come and go quietly; announcing each of N arrivals
		// to everyone already there would cost N² frames.
		if named {
			s.Broadcast().Emit("user joined", name)
		}

		// chat: to the others, or only the sender's rooms when it joined any.
		s.On("chat", func(args []json.RawMessage, ack func(...any) error) {
			out := s.Broadcast()
			if rooms := s.Rooms(); len(rooms) > 0 {
				out = s.To(rooms[0])
				for _, r := range rooms[1:] {
					out = out.To(r)
				}
			}
			out.Emit("chat", prepend(name, args)...)
			ack()
		})
		// shout: everyone, the sender included; bytes too, to the
		// clients whose envelope carries them (WebSocket).
		s.OnBinary("shout", func(a server.BinaryArgs, ack func(...any) error) {
			srv.Emit("shout", append([]any{name}, values(a)...)...)
			ack()
		})
		// echo: the arguments come back as the ack, bytes and all. Also
		// the benchmark's round trip.
		s.OnBinary("echo", func(a server.BinaryArgs, ack func(...any) error) {
			ack(values(a)...)
		})
		s.On("join", func(args []json.RawMessage, ack func(...any) error) {
			if room, ok := roomArg(s, args, ack, log); ok {
				if rooms := s.Rooms(); len(rooms) >= maxRooms && !slices.Contains(rooms, room) {
					ack(map[string]string{"error": fmt.Sprintf("at most %d rooms at once: leave one first", maxRooms)})
					log.warn("%s: join %q refused: already in %d rooms", s.ID(), room, len(rooms))
					return
				}
				s.Join(room)
				ack(s.Rooms())
			}
		})
		s.On("leave", func(args []json.RawMessage, ack func(...any) error) {
			if room, ok := roomArg(s, args, ack, log); ok {
				s.Leave(room)
				ack(s.Rooms())
			}
		})
		if named {
			s.OnDisconnect(func(reason string) {
				s.Broadcast().Emit("user left", name)
			})
		}

		s.On("stats", func(_ []json.RawMessage, ack func(...any) error) {
			st := srv.Stats()
			ack(map[string]int{"conns": st.Conns, "connected": st.Connected, "goroutines": runtime.NumGoroutine()})
		})

		// The benchmark's events (scripts/bench, "The workload contract"),
		// only with -bench-events: mem runs a garbage collection on the
		// loop goroutine, and nothing a stranger can ask for should be
		// that expensive on a demo server.
		if !bench {
			return
		}
		counted := 0
		s.On("count", func([]json.RawMessage, func(...any) error) { counted++ })
		s.On("count_done", func(_ []json.RawMessage, ack func(...any) error) {
			ack(counted)
			counted = 0
		})
		s.On("bcast", func(args []json.RawMessage, _ func(...any) error) {
			if len(args) > 0 {
				s.Broadcast().Emit("msg", args[0])
			}
		})
		s.On("mem", func(_ []json.RawMessage, ack func(...any) error) {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			ack(map[string]uint64{"rss": rss(&m), "heap": m.HeapAlloc})
		})
	})
}

// The conformance profile (-conformance): the server socket.io's own
// protocol suites test, the test-suite/ folders of the
// socketio/socket.io-protocol and socketio/engine.io-protocol
// repositories. They expect it on http://localhost:3000 (-http's default)
// with these timings, and these handlers, which their READMEs give in
// JavaScript:
//
//	io.on("connection", socket => {
//	  socket.emit("auth", socket.handshake.auth);
//	  socket.on("message", (...args) => socket.emit("message-back", ...args));
//	  socket.on("message-with-ack", (...args) => { const ack = args.pop(); ack(...args); });
//	});
//	io.of("/custom").on("connection", socket => socket.emit("auth", socket.handshake.auth));
//
// cmd/miniio/conformance_test.go checks the same behaviours in Go.
const (
	conformancePingInterval   = 300 * time.Millisecond
	conformancePingTimeout    = 200 * time.Millisecond
	conformanceMaxPayload     = 1000000
	conformanceConnectTimeout = time.Second
	authDelay                 = 10 * time.Millisecond // see conformanceHandlers

	// engine.io-protocol's suite talks to a bare Engine.IO server that
	// sends every message back, at Engine.IO's default path.
	engineIOEchoPath = "/engine.io/"
)

// conformanceHandlers registers the suites' handlers, in place of the
// demo's. OnBinary handlers run for plain events too, so one handler
// echoes arguments whether they carry bytes or not.
func conformanceHandlers(srv *server.Server) {
	// socket.handshake.auth is {} when the CONNECT carried nothing.
	//
	// "auth" leaves a few milliseconds after the CONNECT answer, not in
	// the same write. The suites' client (Node's ws 8.5) fires every
	// message of one read at once, and a suite that awaits the CONNECT
	// answer before it listens for the next message misses an "auth"
	// that came in the same read. Node's socket.io never writes the two
	// together (engine.io waits for one write's callback before the
	// next); our loop flushes all of a turn's output in one writev, so
	// the emit waits. Emit is safe from the timer's goroutine.
	auth := func(s *server.Socket) {
		a := s.Auth()
		if a == nil {
			a = json.RawMessage(`{}`)
		}
		time.AfterFunc(authDelay, func() { s.Emit("auth", a) })
	}
	srv.OnConnection(func(s *server.Socket) {
		auth(s)
		s.OnBinary("message", func(a server.BinaryArgs, _ func(...any) error) {
			s.Emit("message-back", a.Values()...)
		})
		s.OnBinary("message-with-ack", func(a server.BinaryArgs, ack func(...any) error) {
			ack(a.Values()...)
		})
	})
	srv.Of("/custom").OnConnection(auth)
}

// nameOf is the name the client gave in CONNECT's auth,
// 40{"name":"ann"}, or its id when it gave none (named is false then).
func nameOf(s *server.Socket) (name string, named bool) {
	var auth struct {
		Name any `json:"name"`
	}
	json.Unmarshal(s.Auth(), &auth) // no auth, or no name: the id will do
	if name, ok := auth.Name.(string); ok && name != "" && utf8.RuneCountInString(name) <= 40 {
		return name, true
	}
	return s.ID(), false
}

// roomArg reads join's and leave's argument, a room name.
func roomArg(s *server.Socket, args []json.RawMessage, ack func(...any) error, log *logger) (string, bool) {
	var room string
	if len(args) == 0 || json.Unmarshal(args[0], &room) != nil || room == "" {
		ack(map[string]string{"error": "join and leave take a room name, a non-empty string"})
		log.warn("%s: join/leave without a room name", s.ID())
		return "", false
	}
	if utf8.RuneCountInString(room) > maxRoomName {
		ack(map[string]string{"error": fmt.Sprintf("a room name has at most %d characters", maxRoomName)})
		log.warn("%s: join/leave with a room name of %d bytes", s.ID(), len(room))
		return "", false
	}
	return room, true
}

// The server keeps every room a client joins, name and all, for as long
// as the client stays. Without these two limits one client could make it
// hold a megabyte-long name per join, thousands of times over: memory
// that grows with whatever a stranger cares to send.
const (
	maxRoomName = 40 // characters, as for a name in CONNECT
	maxRooms    = 20 // per client
)

// prepend puts the sender's name in front of the arguments.
func prepend(name string, args []json.RawMessage) []any {
	out := make([]any, 0, len(args)+1)
	out = append(out, name)
	return append(out, raw(args)...)
}

// values are a handler's arguments ready to be sent on: as they came
// for plain JSON, with the bytes put back for a binary event.
func values(a server.BinaryArgs) []any {
	if a.Attachments() == nil {
		return raw(a.Args)
	}
	return a.Values()
}

func raw(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// rss is the resident set size, what the machine really gives the
// process: VmRSS from /proc/self/status on Linux. Elsewhere, the memory
// the Go runtime holds from the system stands in for it.
func rss(m *runtime.MemStats) uint64 {
	status, err := readProcFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return m.Sys
}

// readProcFile reads a small file with plain open/read/close. os.ReadFile
// would do, but the first file the os package opens makes the Go runtime
// set up its own epoll instance and eventfd (for files it can poll): two
// more descriptors in /proc/PID/fd, which the lessons count.
func readProcFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// logHooks fills in the server's hooks so that it logs every connection,
// event and ending, and with -wire every frame; it returns the connection
// handler that logs the events. Only without -q: the benchmark's server
// prints nothing per event. srv is where the server will be once it is
// made.
func logHooks(o *server.ServerOptions, srv **server.Server, log *logger, showWire bool) func(*server.Socket) {
	names := make(map[*server.Socket]string) // connected sockets; loop goroutine only
	o.OnOpen = func(s *server.Socket) {
		if showWire {
			log.line(fmt.Sprintf("fd %d: connection from %s", s.FD(), s.Peer()))
		}
	}
	onConnection := func(s *server.Socket) {
		name, _ := nameOf(s)
		name = safe(name)
		names[s] = name
		log.line(color.GreenString("%s connected", name) +
			fmt.Sprintf(": sid %s, fd %d, %s (%d online)", s.ID(), s.FD(), s.Peer(), (*srv).Stats().Connected))
		s.OnAny(func(event string, args []json.RawMessage) {
			line := color.CyanString(name) + ": " + color.YellowString(safe(event))
			if len(args) > 0 {
				line += " " + safe(argsText(args))
			}
			log.line(line)
		})
	}
	o.OnHTTPRefused = func(fd int, peer string, status int, reason string) {
		log.line(color.RedString("fd %d (%s) HTTP %d", fd, peer, status) + ": " + safe(reason))
	}
	o.OnClose = func(s *server.Socket, reason string) {
		if name, ok := names[s]; ok {
			delete(names, s)
			log.line(color.MagentaString("%s disconnected", name) +
				fmt.Sprintf(": %s (%d online)", safe(reason), (*srv).Stats().Connected))
			return
		}
		// It never completed CONNECT: a raw client, a refused token, a limit.
		log.line(color.RedString("fd %d (%s) closed", s.FD(), s.Peer()) + ": " + safe(reason))
	}
	if showWire {
		o.OnHTTP = func(fd int, sent bool, head []byte) {
			arrow := "←"
			if sent {
				arrow = "→"
			}
			for i, line := range strings.Split(strings.TrimRight(string(head), "\r\n"), "\r\n") {
				if i > 0 {
					arrow = " "
				}
				log.line(fmt.Sprintf("fd %d %s %s", fd, arrow, frameText([]byte(line))))
			}
		}
		o.OnWebSocketFrame = func(fd int, sent bool, f websocket.Frame) {
			arrow := "←"
			if sent {
				arrow = "→"
			}
			log.line(fmt.Sprintf("fd %d %s %s", fd, arrow, websocket.Describe(f)))
		}
		// The TCP frame is the length, then the text: shown as such.
		o.OnPacket = func(s *server.Socket, sent bool, text []byte) {
			if s.WebSocket() {
				return // shown as a WebSocket frame (OnWebSocketFrame)
			}
			arrow := "←"
			if sent {
				arrow = "→"
			}
			log.line(fmt.Sprintf("fd %d %s 0x%08x %s", s.FD(), arrow, len(text), frameText(text)))
		}
	}
	return onConnection
}

// argsText shows an event's arguments as compact JSON, separated by
// spaces, cut short when long (a benchmark payload can be 1 MiB).
func argsText(args []json.RawMessage) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if json.Compact(&b, a) != nil {
			b.Write(a)
		}
		if b.Len() > 200 {
			return b.String()[:200] + "…"
		}
	}
	return b.String()
}

// frameText is a frame's text for -wire: as it is when it is printable,
// with \xNN for bytes that would upset a terminal (a hostile client can
// send anything), cut short after 200 bytes.
func frameText(text []byte) string {
	const max = 200
	more := ""
	if len(text) > max {
		more = fmt.Sprintf("… (%d more bytes)", len(text)-max)
		text = text[:max]
	}
	return safe(string(text)) + more
}

// logger prints the server's log on stderr, next to the trace. -q leaves
// only errors.
type logger struct {
	mu    sync.Mutex
	quiet bool
}

func (l *logger) line(s string) {
	if l.quiet {
		return
	}
	l.mu.Lock()
	fmt.Fprintln(os.Stderr, s)
	l.mu.Unlock()
}

func (l *logger) info(format string, args ...any) { l.line(fmt.Sprintf(format, args...)) }

func (l *logger) warn(format string, args ...any) {
	l.line(color.YellowString("warning: "+format, args...))
}

// checkLimits refuses flag values that make no sense.
func checkLimits(o server.ServerOptions) string {
	switch {
	case o.PingInterval <= 0 || o.PingTimeout <= 0 || o.ConnectTimeout <= 0 || o.FrameTimeout <= 0:
		return "-ping-interval, -ping-timeout, -connect-timeout and -frame-timeout must be more than 0"
	case o.InputBudget < o.MaxPayload+4:
		return "-input-budget must hold at least one frame of -max-payload bytes (and its 4-byte length)"
	case o.MaxPayload < 16 || o.MaxPayload > 1<<31-1:
		return "-max-payload must be from 16 to 2147483647 bytes"
	case o.MaxConns == 0 || o.MaxConns < -1:
		return "-max-conns must be 1 or more (-1: no limit)"
	case o.MaxOutput == 0 || o.MaxOutput < -1:
		return "-max-output must be 1 or more bytes (-1: no limit)"
	}
	return ""
}

// flagSet says whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loopback says whether addr only listens on this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// unwrapErrno digs the errno out of "bind 127.0.0.1:7070: EADDRINUSE", so
// sys.Failure can name it and give its hint.
func unwrapErrno(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// The HTTP port serves more than /socket.io/: the chat page at "/" (a
// browser opens http://127.0.0.1:3000/ and chats with the terminals),
// and, for the page's ?client=official, socket.io's own client bundle at
// chatpage.BundlePath. The bundle comes from npm (peers/node), never from
// this repository: without it that path answers 404 with the reason.
//
// -cors lets pages from other origins use the server (a page on
// http://localhost:8080 talking to :3000): off unless origins are named,
// and each named exactly; the answer names the origin, never "*", because
// the client sends its cookies with every request.

// defaultBundle is where `npm ci --prefix peers/node` puts the bundle.
const defaultBundle = "peers/node/node_modules/socket.io-client/dist/socket.io.min.js"

// httpFlags registers -cors and -client-bundle; the function it returns
// hands them to the server once it exists (a message when they are wrong).
func httpFlags(fs *flag.FlagSet) func(*server.Server, *logger) string {
	cors := fs.String("cors", "", "let pages from these origins use the server: ORIGIN[,ORIGIN…], e.g. http://localhost:8080 (default none)")
	bundle := fs.String("client-bundle", "", "the file served at "+chatpage.BundlePath+" (default "+defaultBundle+" if it exists)")
	return func(srv *server.Server, log *logger) string {
		var origins []string
		for _, o := range strings.Split(*cors, ",") {
			if o = strings.TrimSpace(o); o == "" {
				continue
			}
			if o == "*" || !strings.Contains(o, "://") || strings.HasSuffix(o, "/") {
				return fmt.Sprintf("-cors %q: name each origin as scheme://host[:port], without a path (a browser sends it so)", o)
			}
			origins = append(origins, o)
		}
		path, missing := *bundle, ""
		if path == "" {
			path = defaultBundle
		}
		js, err := readProcFile(path) // plain open/read: see readProcFile
		if err != nil {
			if *bundle != "" {
				return fmt.Sprintf("-client-bundle: %v", err)
			}
			missing = fmt.Sprintf("no client bundle: %s is missing (npm ci --prefix peers/node, or -client-bundle FILE)\n", path)
		}
		srv.SetHTTP(server.HTTPOptions{
			CORSOrigins: origins,
			Page: func(p string) (int, string, []byte) {
				switch {
				case p == "/":
					return 200, chatpage.ContentType, chatpage.HTML
				case p == chatpage.BundlePath && missing != "":
					return 404, "text/plain; charset=utf-8", []byte(missing)
				case p == chatpage.BundlePath:
					return 200, "application/javascript; charset=utf-8", js
				}
				return 0, "", nil
			},
		})
		if len(origins) > 0 {
			log.info("CORS: pages from %s may use this server", strings.Join(origins, ", "))
		}
		return ""
	}
}
