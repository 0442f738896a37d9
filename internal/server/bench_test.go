package server

// Benchmarks of the server's dispatch path, the work between the event
// loop's read and its write: cut a frame off the input, parse the packet,
// find and run the handler, encode the answer or the broadcast and queue
// it. No sockets: a stand-in loop and connection (benchLoop, benchConn)
// take the place of package reactor, so what is measured is this
// package's own cost per event, with allocations.
//
//	go test -run '^$' -bench Dispatch -benchmem ./internal/server
//
// The handlers are the benchmark contract's (scripts/bench), written the
// way cmd/miniio/serve.go writes them.

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"socklab/internal/wire"
)

// benchLoop is an event loop that never fires a timer: the benchmarks run
// far shorter than any PING interval.
type benchLoop struct{}

type benchTimer struct{}

func (benchTimer) Stop() {}

func (benchLoop) Post(f func())                           { f() }
func (benchLoop) AfterFunc(time.Duration, func()) stopper { return benchTimer{} }
func (benchLoop) Stop()                                   {}
func (benchLoop) Now() time.Duration                      { return 0 }

// benchConn counts what would be written and keeps nothing, the way a
// connection whose kernel buffer always has room would.
type benchConn struct {
	frames, bytes int
}

func (c *benchConn) Write(p []byte) error {
	c.frames++
	c.bytes += len(p)
	return nil
}
func (c *benchConn) Close()         {}
func (c *benchConn) Abort()         {}
func (c *benchConn) PauseReading()  {}
func (c *benchConn) ResumeReading() {}
func (c *benchConn) OutputLen() int { return 0 }

// benchServer is a server with the contract's handlers and n connected
// sockets.
func benchServer(b *testing.B, n int) (*Server, []*Socket, []*benchConn) {
	b.Helper()
	srv := NewServer(ServerOptions{MaxConns: -1})
	srv.attach(benchLoop{})
	srv.OnConnection(func(s *Socket) {
		counted := 0
		s.On("echo", func(args []json.RawMessage, ack func(...any) error) {
			out := make([]any, len(args))
			for i, a := range args {
				out[i] = a
			}
			ack(out...)
		})
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
	})
	sockets := make([]*Socket, n)
	conns := make([]*benchConn, n)
	for i := range n {
		conns[i] = &benchConn{}
		sockets[i] = openFake(srv, conns[i], 100+i, "127.0.0.1:"+strconv.Itoa(10000+i))
		connect := benchFrames("40")
		if used := srv.handleData(sockets[i], connect); used != len(connect) || !sockets[i].Connected() {
			b.Fatalf("socket %d did not connect", i)
		}
	}
	return srv, sockets, conns
}

// benchFrames frames each packet text, one after the other.
func benchFrames(texts ...string) []byte {
	var out []byte
	for _, t := range texts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(t)))
		out = append(out, t...)
	}
	return out
}

var benchPayload = `"` + strings.Repeat("x", 64) + `"`

// dispatch feeds in to s as the loop would (the input buffer is the
// caller's; the server must not keep it) and checks it was all used.
func dispatch(b *testing.B, srv *Server, s *Socket, in []byte) {
	if used := srv.handleData(s, in); used != len(in) {
		b.Fatalf("used %d of %d bytes", used, len(in))
	}
}

// One emit-with-ack round trip's server half: EVENT in, ACK queued.
func BenchmarkDispatchEcho(b *testing.B) {
	srv, sockets, conns := benchServer(b, 1)
	in := benchFrames(`4217["echo",` + benchPayload + `]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	before := conns[0].frames
	for b.Loop() {
		dispatch(b, srv, sockets[0], in)
	}
	if conns[0].frames-before != b.N {
		b.Fatalf("%d acks for %d events", conns[0].frames-before, b.N)
	}
}

// One event of the tput workload: parsed, counted, nothing sent.
func BenchmarkDispatchCount(b *testing.B) {
	srv, sockets, _ := benchServer(b, 1)
	in := benchFrames(`42["count",` + benchPayload + `]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		dispatch(b, srv, sockets[0], in)
	}
}

// The same, 800 events per call, as they come when the loop reads 64 KiB
// of a tput stream at once; ns/event is the number to look at.
func BenchmarkDispatchCountBatch(b *testing.B) {
	const batch = 800
	srv, sockets, _ := benchServer(b, 1)
	texts := make([]string, batch)
	for i := range texts {
		texts[i] = `42["count",` + benchPayload + `]`
	}
	in := benchFrames(texts...)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		dispatch(b, srv, sockets[0], in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}

// One bcast from one socket to 1000 others: parse once, encode once,
// queue the same frame 1000 times.
func BenchmarkDispatchBroadcast1000(b *testing.B) {
	const receivers = 1000
	srv, sockets, conns := benchServer(b, receivers+1)
	sender := sockets[receivers]
	in := benchFrames(`42["bcast",` + benchPayload + `]`)
	before := conns[0].frames
	b.ReportAllocs()
	for b.Loop() {
		dispatch(b, srv, sender, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*receivers), "ns/delivery")
	// Besides OPEN and CONNECT's answer, every receiver got each
	// broadcast and the sender none.
	if got := conns[0].frames - before; got != b.N || conns[receivers].frames != 2 {
		b.Fatalf("receiver 0 got %d of %d broadcasts; the sender %d frames, want 2", got, b.N, conns[receivers].frames)
	}
}

// The encoders alone, for comparison with the dispatch numbers above.
func BenchmarkAppendAckArgs(b *testing.B) {
	arg := json.RawMessage(benchPayload)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = wire.AppendAckArgs(buf[:0], 17, arg); err != nil {
			b.Fatal(err)
		}
	}
}
