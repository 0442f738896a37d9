//go:build linux

package server

// What an idle connection costs the server in Go heap, measured in this
// process on the real event loop:
//
//	go test ./internal/server -run '^$' -bench IdleSocketMemory -benchtime 1x
//
// and where those bytes go, one allocation site at a time:
//
//	SOCKLAB_HEAPPROFILE=/tmp/idle.mem go test ./internal/server -run '^$' \
//	    -bench IdleSocketMemory -benchtime 1x
//	go tool pprof -sample_index inuse_space -top /tmp/idle.mem
//
// (The profile is written while the connections are open; -memprofile
// would write it at the end, when they are gone.)
//
// The clients are bare blocking sockets (x/sys, no net.Conn, no buffers),
// so nearly all the heap in use is the server's. The client and the
// server share the process's descriptors: 4,000 connections take 8,000.
// Set SOCKLAB_CONNS for another number (`ulimit -n` must allow twice it).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

func BenchmarkIdleSocketMemory(b *testing.B) {
	n := 4000
	if s := os.Getenv("SOCKLAB_CONNS"); s != "" {
		fmt.Sscan(s, &n)
	}
	sys.SetTracing(false)
	if os.Getenv("SOCKLAB_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, not a sample
	}
	var perConn float64
	for range b.N {
		perConn = idleSocketMemory(b, n)
	}
	b.ReportMetric(perConn, "heap-bytes/conn")
	b.ReportMetric(0, "ns/op")
	b.Logf("%.0f heap bytes per idle connection (%d connections)", perConn, n)
}

// idleSocketMemory serves with handlers shaped like miniio serve's (ten
// events, closures over the socket), connects n clients, and returns the
// live heap they added, per connection.
func idleSocketMemory(b *testing.B, n int) float64 {
	srv := NewServer(ServerOptions{MaxConns: -1})
	srv.OnConnection(func(s *Socket) {
		counted := 0
		for _, event := range []string{"chat", "shout", "echo", "join", "leave", "count_done", "bcast", "mem", "stats"} {
			s.On(event, func(args []json.RawMessage, ack func(...any) error) {
				ack(s.ID(), event, counted)
			})
		}
		s.On("count", func([]json.RawMessage, func(...any) error) { counted++ })
	})
	fd, err := Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr, err := BoundAddr(fd)
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fd) }()
	sa := inet4(b, addr)

	before := liveHeap()
	clients := make([]int, 0, n)
	defer func() {
		for _, c := range clients {
			unix.Close(c)
		}
		srv.Shutdown(5 * time.Second)
		<-served
	}()
	for i := range n {
		c, err := handshake(sa)
		if err != nil {
			b.Fatalf("client %d of %d: %v", i+1, n, err)
		}
		clients = append(clients, c)
	}
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Connected < n; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d connected", srv.Stats().Connected, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := liveHeap()
	if path := os.Getenv("SOCKLAB_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	// The clients slice is the only client-side memory that grew with n.
	return float64(after-before-uint64(cap(clients))*8) / float64(n)
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func inet4(b *testing.B, addr string) *unix.SockaddrInet4 {
	a, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		b.Fatalf("address %q: %v", addr, err)
	}
	sa := &unix.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa
}

// handshake connects one bare client: reads OPEN, sends CONNECT (`40`),
// reads the server's CONNECT answer. It returns the descriptor.
func handshake(sa *unix.SockaddrInet4) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	var buf [512]byte
	readFrame := func(want string) error {
		if _, err := readFull(fd, buf[:4]); err != nil {
			return err
		}
		size := binary.BigEndian.Uint32(buf[:4])
		if size > uint32(len(buf)) {
			return fmt.Errorf("frame of %d bytes", size)
		}
		if _, err := readFull(fd, buf[:size]); err != nil {
			return err
		}
		if !strings.HasPrefix(string(buf[:size]), want) {
			return fmt.Errorf("got %q, want %s…", buf[:size], want)
		}
		return nil
	}
	if err := readFrame(`0{"sid":`); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if _, err := unix.Write(fd, []byte{0, 0, 0, 2, '4', '0'}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := readFrame(`40{"sid":`); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func readFull(fd int, p []byte) (int, error) {
	got := 0
	for got < len(p) {
		n, err := unix.Read(fd, p[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return got, err
		}
		if n == 0 {
			return got, fmt.Errorf("connection closed after %d of %d bytes", got, len(p))
		}
		got += n
	}
	return got, nil
}
