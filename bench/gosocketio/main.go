// gosocketio: the Go socket.io server of scripts/bench, built on
// github.com/zishang520/socket.io v3, the server a Go developer would most
// likely pick to speak socket.io. It answers the same workload contract as
// bench/socketio/server.js and `miniio serve` (the contract is written out
// at the top of scripts/bench): echo, count, count_done, bcast and mem.
//
// Run it from bench/gosocketio with `go run . PORT` (PORT 0 lets the
// kernel pick). It prints "ready PORT" on stdout once it listens on
// 127.0.0.1:PORT; SIGTERM or SIGINT ends it.
//
// It lives in a module of its own so that socklab's main module keeps
// golang.org/x/sys and fatih/color as its only dependencies. Options are
// the library's defaults except the transports: WebSocket only, as
// server.js has it, so every client holds one long-lived connection.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

func main() {
	port, err := strconv.Atoi(lastArg())
	if len(os.Args) != 2 || err != nil || port < 0 || port > 65535 {
		fmt.Fprintln(os.Stderr, "usage: gosocketio PORT   (0..65535; 0 picks a free port)")
		os.Exit(2)
	}

	opts := socket.DefaultServerOptions()
	opts.SetTransports(types.NewSet(engine.WebSocket))
	io := socket.NewServer(nil, opts)
	io.On("connection", func(clients ...any) {
		s := clients[0].(*socket.Socket)
		handle(s)
	})

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosocketio: %v\n", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(opts))
	go func() {
		// Serve returns only when the listener fails; say so and stop.
		err := http.Serve(ln, mux)
		fmt.Fprintf(os.Stderr, "gosocketio: %v\n", err)
		os.Exit(1)
	}()
	fmt.Printf("ready %d\n", ln.Addr().(*net.TCPAddr).Port)

	// Exit at once on a signal, as server.js does: the kernel closes every
	// socket when the process ends.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func lastArg() string { return os.Args[len(os.Args)-1] }

// handle answers the contract's events for one connection.
func handle(s *socket.Socket) {
	// `count` events since connect or the last count_done. The library
	// hands one connection's events over in order, so when count_done
	// arrives every earlier count has been counted; atomic only because
	// nothing in its documentation promises the same goroutine each time.
	var counted atomic.Int64

	s.On("echo", func(args ...any) {
		if ack, rest := splitAck(args); ack != nil {
			ack(rest, nil)
		}
	})
	s.On("count", func(...any) { counted.Add(1) })
	s.On("count_done", func(args ...any) {
		total := counted.Swap(0)
		if ack, _ := splitAck(args); ack != nil {
			ack([]any{total}, nil)
		}
	})
	s.On("bcast", func(args ...any) {
		if len(args) > 0 {
			_ = s.Broadcast().Emit("msg", args[0])
		}
	})
	s.On("mem", func(args ...any) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ack, _ := splitAck(args); ack != nil {
			ack([]any{map[string]any{"rss": rss(), "heap": ms.HeapAlloc}}, nil)
		}
	})
}

// splitAck: when the client asked for an ack, the library passes the
// callback as the last argument.
func splitAck(args []any) (socket.Ack, []any) {
	if len(args) == 0 {
		return nil, args
	}
	if ack, ok := args[len(args)-1].(socket.Ack); ok {
		return ack, args[:len(args)-1]
	}
	if ack, ok := args[len(args)-1].(func([]any, error)); ok {
		return ack, args[:len(args)-1]
	}
	return nil, args
}

// rss is this process's resident set size in bytes, from /proc/self/statm
// (its second field, in pages).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
