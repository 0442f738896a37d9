package main

// miniio serve -trace-stream: the server's own system calls, live, on a
// socket.io namespace of their own, /trace, for the chat page's trace
// pane (internal/chatpage, ?trace=1).
//
// The lines are the ones -trace prints on stderr (and -explain's notes),
// taken from a sys.Tap, redacted and bounded by package tracestream. A
// viewer gets them in batches, one event per batch:
//
//	42/trace,2["lines",[{"kind":"line","text":"read(8, …) = 31","call":"read","fd":8,"ret":31,"errno":"","note":false}, …],
//	                   {"hidden":12,"idle":40,"dropped":0,"lost":0,"summary":false,"hiddenText":"…"}]
//	43/trace,2[]                                   the page's ack: send the next batch
//
// Other kinds in a batch: "wire" (a frame, as -wire prints it), "dropped"
// (the page fell behind: the oldest lines went), "summary_on", "summary",
// "summary_off" (under load, a count per second instead of every line).
// When it joins, a viewer is told which descriptors are its own:
//
//	42/trace,["you",{"fd":9,"chat":8,"shared":false}]
//
// fd is the connection it watches on, chat the connection of the page's
// chat socket (the "/" socket whose id the page sent in its CONNECT,
// 40/trace,{"sid":"…"}), shared true when both are one connection (then
// the chat's own calls are hidden with the viewer's).
//
// Watching must not change what is watched (package tracestream says
// how): a batch waits for the page's ack before the next goes, so a page
// that stops reading costs the server one batch, and its ring drops the
// oldest lines; the viewer's own connection is left out of the tap and
// counted ("hidden"); the stream is pumped from a loop timer every 100 ms
// while someone watches, and the epoll_wait calls that timer ends (the
// ones that return 0: nothing ready, a timeout) are counted ("idle"),
// not shown, or the stream would feed itself ten lines a second.
//
// Who may watch: with -token, holders of the token (40/trace,{"token":"…"});
// without, clients on this machine (a loopback peer address) only. The
// trace carries every client's bytes: the redactor takes out tokens and
// other secrets, but what people chat about is there to read.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"socklab/internal/server"
	"socklab/internal/sys"
	"socklab/internal/tracestream"
	"socklab/internal/websocket"
	"socklab/internal/wire"
)

const (
	traceNamespace = "/trace"
	traceInterval  = 100 * time.Millisecond // how often the stream is pumped
	traceBatch     = 500                    // items per batch at most
	traceAckWait   = 30 * time.Second       // a batch not acked within this: send the next anyway
	traceTapSize   = 8192                   // lines the tap holds between pumps
	traceRing      = 2000                   // items a viewer may have waiting
)

// traceStream is the /trace namespace's state. Everything but the
// constructor runs on the loop goroutine.
type traceStream struct {
	srv    *server.Server
	tap    *sys.Tap
	stream *tracestream.Stream
	token  string

	viewers   map[*server.Socket]*traceViewer
	viewerFDs map[int]int               // descriptors of viewers' connections → how many viewers on each
	chats     map[string]*server.Socket // the "/" sockets by id, for a page's "chat" fd
	ticking   bool
	idle      uint64 // epoll_wait timeouts left out
	skipping  bool   // the last call was left out: so are its notes
	buf       []sys.TapLine
	red       *tracestream.Redactor // for the frame view's payloads, before they are quoted
}

type traceViewer struct {
	s        *server.Socket
	v        *tracestream.Viewer
	inFlight bool           // a batch waits for its ack
	lost0    uint64         // the tap's drop count when the viewer joined
	chat     *server.Socket // the page's chat socket in "/", if it said which
	you      map[string]any // what it was last told about its descriptors
}

// newTraceStream turns the trace on for the tap (its stderr copy only
// with -trace) and hooks the frame view into o. Call attach once the
// server is made.
func newTraceStream(o *server.ServerOptions, token string) *traceStream {
	ts := &traceStream{
		tap: sys.NewTap(traceTapSize),
		// A page that stops reading loses its oldest lines and is told
		// how many (SummaryBehind -1); every page gets a count per second
		// when the server makes more than 2000 lines a second.
		stream:    tracestream.New(tracestream.Config{Ring: traceRing, SummaryBehind: -1}),
		token:     token,
		viewers:   map[*server.Socket]*traceViewer{},
		viewerFDs: map[int]int{},
		chats:     map[string]*server.Socket{},
		red:       tracestream.NewRedactor(),
	}
	if !sys.Tracing() {
		sys.SetOutput(io.Discard) // the lines are for the tap, not stderr
		sys.SetTracing(true)
	}
	sys.SetTap(ts.tap)

	// The frame view: what -wire prints, as lines of the stream.
	onFrame, onHTTP, onPacket := o.OnWebSocketFrame, o.OnHTTP, o.OnPacket
	o.OnWebSocketFrame = func(fd int, sent bool, f websocket.Frame) {
		if onFrame != nil {
			onFrame(fd, sent, f)
		}
		ts.wire(fd, sent, ts.describe(f))
	}
	o.OnHTTP = func(fd int, sent bool, head []byte) {
		if onHTTP != nil {
			onHTTP(fd, sent, head)
		}
		lines := strings.Split(strings.TrimRight(string(head), "\r\n"), "\r\n")
		for i, l := range lines {
			lines[i] = frameText([]byte(ts.red.Text("", -1, false, l)))
		}
		ts.wire(fd, sent, strings.Join(lines, ` \r\n `))
	}
	o.OnPacket = func(s *server.Socket, sent bool, text []byte) {
		if onPacket != nil {
			onPacket(s, sent, text)
		}
		if !s.WebSocket() {
			ts.wire(s.FD(), sent, fmt.Sprintf("0x%08x %s", len(text), frameText([]byte(ts.red.Text("", -1, false, string(text))))))
		}
	}
	return ts
}

// attach registers /trace on srv, and keeps a list of the "/" sockets.
func (ts *traceStream) attach(srv *server.Server) {
	ts.srv = srv
	srv.OnConnection(func(s *server.Socket) {
		ts.chats[s.ID()] = s
		s.OnDisconnect(func(string) { delete(ts.chats, s.ID()) })
	})
	ns := srv.Of(traceNamespace)
	var tokenOK func(*server.Socket, json.RawMessage) error
	if ts.token != "" {
		tokenOK = server.TokenAuth(ts.token)
	}
	ns.Use(func(s *server.Socket, auth json.RawMessage) error {
		if tokenOK != nil {
			if err := tokenOK(s, auth); err != nil {
				return errors.New("the trace stream needs the server's token: 40/trace,{\"token\":\"…\"}")
			}
		} else if !loopbackPeer(s.Peer()) {
			return errors.New("the trace stream is open to this machine only (or start the server with -token)")
		}
		// Before the first write to the viewer (the CONNECT's answer):
		// its calls would feed the stream they carry.
		sys.TapExclude(s.FD())
		ts.viewerFDs[s.FD()]++
		return nil
	})
	ns.OnConnection(ts.join)
}

func (ts *traceStream) join(s *server.Socket) {
	fd := s.FD()
	if len(ts.viewers) == 0 {
		ts.pump() // what came while nobody watched: to the redactor, not to a page
	}
	tv := &traceViewer{s: s, v: ts.stream.Subscribe(), lost0: ts.tap.Dropped()}
	ts.viewers[s] = tv
	var auth struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(s.Auth(), &auth) == nil && auth.SID != "" {
		tv.chat = ts.chats[auth.SID]
	}
	ts.tellYou(tv)
	s.OnDisconnect(func(reason string) {
		tv.v.Close()
		delete(ts.viewers, s)
		if ts.viewerFDs[fd]--; ts.viewerFDs[fd] <= 0 {
			delete(ts.viewerFDs, fd)
			// Only /trace was left: the connection goes on, and is
			// watched again. (A closed connection's close(fd) ended
			// its exclusion already.)
			if reason == wire.ReasonClientDisconnect || reason == wire.ReasonServerDisconnect {
				sys.TapInclude(fd)
			}
		}
	})
	if !ts.ticking {
		ts.ticking = true
		ts.srv.AfterFunc(traceInterval, ts.tick)
	}
}

// tellYou tells a viewer its descriptors when they are new: the chat's
// changes when it moves from long-polling to WebSocket.
func (ts *traceStream) tellYou(tv *traceViewer) {
	fd := tv.s.FD()
	you := map[string]any{"fd": fd, "chat": nil, "shared": false}
	if tv.chat != nil && ts.chats[tv.chat.ID()] == tv.chat {
		you["chat"], you["shared"] = tv.chat.FD(), tv.chat.FD() == fd
	}
	if tv.you != nil && tv.you["chat"] == you["chat"] {
		return
	}
	tv.you = you
	tv.s.Emit("you", you)
}

// tick pumps the tap and sends each viewer its batch; it runs again
// while anyone watches.
func (ts *traceStream) tick() {
	ts.pump()
	for _, tv := range ts.viewers {
		ts.tellYou(tv)
		ts.deliver(tv)
	}
	if len(ts.viewers) == 0 {
		ts.ticking = false
		return
	}
	ts.srv.AfterFunc(traceInterval, ts.tick)
}

// pump moves the tap's lines into the stream, leaving out the
// epoll_wait calls that found nothing ready (and their notes).
func (ts *traceStream) pump() {
	ts.buf = ts.tap.Drain(ts.buf[:0], 0)
	for _, l := range ts.buf {
		if !l.Note {
			ts.skipping = (l.Call == "epoll_wait" || l.Call == "epoll_pwait") && l.Ret == 0 && l.Errno == ""
			if ts.skipping {
				ts.idle++
			}
		}
		if !ts.skipping {
			ts.stream.Push(l)
		}
	}
	clear(ts.buf)
}

// describe is -wire's line for a WebSocket frame, with the payload
// redacted first: Describe quotes it, and a quoted "token" is no longer
// JSON the redactor can read. A binary payload is not shown.
func (ts *traceStream) describe(f websocket.Frame) string {
	n := len(f.Payload)
	switch f.Opcode {
	case websocket.OpText, websocket.OpClose:
		f.Payload = []byte(ts.red.Text("", -1, false, string(f.Payload)))
	default:
		f.Payload = nil
	}
	return strings.Replace(websocket.Describe(f), fmt.Sprintf(" len=%d", len(f.Payload)), fmt.Sprintf(" len=%d", n), 1)
}

// wire puts a -wire line in the stream, after the calls before it.
func (ts *traceStream) wire(fd int, sent bool, text string) {
	if len(ts.viewers) == 0 || ts.viewerFDs[fd] > 0 {
		return
	}
	ts.pump()
	arrow := "←"
	if sent {
		arrow = "→"
	}
	ts.stream.Push(sys.TapLine{Time: time.Now(), FD: fd, Text: fmt.Sprintf("fd %d %s %s", fd, arrow, text)})
}

var wireLine = regexp.MustCompile(`^fd \d+ [←→] `)

// traceItem is one item of a batch, as the page gets it.
type traceItem struct {
	Kind   string              `json:"kind"`
	Text   string              `json:"text"`
	Call   string              `json:"call,omitempty"`
	FD     *int                `json:"fd,omitempty"`
	Ret    int                 `json:"ret"`
	Errno  string              `json:"errno,omitempty"`
	Note   bool                `json:"note"`
	N      int                 `json:"n,omitempty"`
	Counts []tracestream.Count `json:"counts,omitempty"`
}

var kinds = map[tracestream.Kind]string{
	tracestream.KindLine:       "line",
	tracestream.KindDropped:    "dropped",
	tracestream.KindSummaryOn:  "summary_on",
	tracestream.KindSummary:    "summary",
	tracestream.KindSummaryOff: "summary_off",
}

// deliver sends tv the items waiting, unless its last batch is not acked.
func (ts *traceStream) deliver(tv *traceViewer) {
	if tv.inFlight {
		return
	}
	d := tv.v.Take(traceBatch)
	if len(d.Items) == 0 {
		return
	}
	items := make([]traceItem, len(d.Items))
	for i, it := range d.Items {
		ti := traceItem{Kind: kinds[it.Kind], Text: it.Text, N: it.N, Counts: it.Counts}
		if l := it.Line; l != nil {
			ti.Call, ti.Ret, ti.Errno, ti.Note = l.Call, l.Ret, l.Errno, l.Note
			if l.FD >= 0 {
				fd := l.FD
				ti.FD = &fd
			}
			if l.Call == "" && !l.Note && wireLine.MatchString(l.Text) {
				ti.Kind = "wire"
			}
		}
		items[i] = ti
	}
	hidden := ts.tap.Hidden()
	counters := map[string]any{
		"hidden":     hidden,
		"idle":       ts.idle,
		"dropped":    d.Dropped,
		"lost":       ts.tap.Dropped() - tv.lost0,
		"summary":    d.Summary,
		"hiddenText": fmt.Sprintf("%d calls of the viewers' own connections not shown", hidden),
	}
	tv.inFlight = true
	tv.s.EmitWithAck("lines", traceAckWait, func([]json.RawMessage, error) { tv.inFlight = false }, items, counters)
}

// loopbackPeer says whether a peer address ("127.0.0.1:51234") is this
// machine.
func loopbackPeer(peer string) bool {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
