// Package loadgentest is a stand-in miniio server for testing the load
// generator: it answers the benchmark contract's events (echo, count,
// count_done, bcast, mem; see scripts/bench) and can be told to lose some
// of them, so a test can prove that `miniio bench` notices.
//
// It is deliberately plain (Go's net package, a goroutine per connection,
// a mutex around every write) and nothing like fast: it is for checking
// that the generator counts right, never for timing.
package loadgentest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"socklab/internal/wire"
)

// Options say what the server gets wrong on purpose. The zero value is a
// server that follows the contract.
type Options struct {
	// Drop loses every Drop-th message of each kind: a `count` event goes
	// uncounted, an `echo` gets no ack, a broadcast delivery is skipped.
	// 0 loses nothing.
	Drop int
	// EchoToSender makes bcast reach the sender too (the contract says
	// "everyone but the sender").
	EchoToSender bool
}

// Server is a running fake. Addr is where it listens.
type Server struct {
	Addr string
	opts Options
	ln   net.Listener

	mu     sync.Mutex
	conns  map[*client]bool
	counts map[string]int // messages seen per kind, for Drop
}

type client struct {
	nc net.Conn
	mu sync.Mutex // one frame at a time, whoever writes it
}

// Start listens on a free loopback port and serves until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loadgentest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln,
		conns: map[*client]bool{}, counts: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.accept()
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
	})
	return s
}

func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return // the listener was closed: the test is over
		}
		go s.serve(&client{nc: nc})
	}
}

// lose says whether this message of this kind is one to drop.
func (s *Server) lose(kind string) bool {
	if s.opts.Drop <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
	return s.counts[kind]%s.opts.Drop == 0
}

func (s *Server) serve(c *client) {
	defer c.nc.Close()
	open, _ := wire.AppendOpen(nil, wire.Handshake{SID: "fake", PingInterval: 25 * time.Second,
		PingTimeout: 20 * time.Second, MaxPayload: wire.DefaultMaxPayload})
	if c.send(open) != nil {
		return
	}
	var counted int
	joined := false
	for {
		text, err := readFrame(c.nc)
		if err != nil {
			break
		}
		p, err := wire.ParsePacket(text)
		if err != nil || p.Engine != wire.Message {
			continue
		}
		switch {
		case p.Socket == wire.Connect && !joined:
			joined = true
			reply, _ := wire.AppendConnect(nil, json.RawMessage(`{"sid":"fake"}`))
			c.send(reply)
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
		case p.Socket == wire.Event:
			s.event(c, &p, &counted)
		}
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) event(c *client, p *wire.Packet, counted *int) {
	ack := func(args ...json.RawMessage) {
		if p.HasAck {
			text, _ := wire.AppendAck(nil, p.AckID, args...)
			c.send(text)
		}
	}
	switch p.Event {
	case "echo":
		if !s.lose("echo") {
			ack(p.Args...)
		}
	case "count":
		if !s.lose("count") {
			*counted++
		}
	case "count_done":
		ack(json.RawMessage(strconv.Itoa(*counted)))
		*counted = 0
	case "bcast":
		text, _ := wire.AppendEvent(nil, wire.NoAck, "msg", p.Args...)
		s.mu.Lock()
		targets := make([]*client, 0, len(s.conns))
		for t := range s.conns {
			if t != c || s.opts.EchoToSender {
				targets = append(targets, t)
			}
		}
		s.mu.Unlock()
		for _, t := range targets {
			if !s.lose("delivery") {
				t.send(text)
			}
		}
	case "mem":
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		arg, _ := json.Marshal(map[string]uint64{"rss": m.Sys, "heap": m.HeapAlloc})
		ack(arg)
	}
}

// send writes one packet as one frame.
func (c *client) send(text []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.nc.Write(wire.AppendFrame(nil, text))
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var head [wire.HeaderLen]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > wire.DefaultMaxPayload {
		return nil, errors.New("bad frame length")
	}
	text := make([]byte, n)
	_, err := io.ReadFull(r, text)
	return text, err
}
