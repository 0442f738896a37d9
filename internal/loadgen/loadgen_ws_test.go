package loadgen_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"socklab/internal/loadgen"
	"socklab/internal/loadgen/loadgentest"
	"socklab/internal/nodepeer"
)

// Every workload, over WebSocket + Engine.IO v4, against the real socket.io
// server (peers/node/sio-server.js, which answers the benchmark's events),
// with small counts: the load generator speaks the protocol well enough
// that socket.io itself answers every packet.
func TestEveryWorkloadOverWebSocketAgainstSocketIO(t *testing.T) {
	port := nodepeer.StartServer(t, nodepeer.ServerOptions{Transports: []string{"websocket"}})
	url := fmt.Sprintf("ws://127.0.0.1:%d", port)
	cases := []struct {
		name     string
		config   func(c *loadgen.Config)
		workload string
	}{
		{"ack", func(c *loadgen.Config) {}, "ack"},
		{"ack-c8", func(c *loadgen.Config) { c.Clients = 8 }, "ack"},
		{"tput", func(c *loadgen.Config) {}, "tput"},
		{"tput-batch1", func(c *loadgen.Config) { c.Batch = 1 }, "tput"},
		{"bcast", func(c *loadgen.Config) {}, "bcast"},
		{"idle", func(c *loadgen.Config) {}, "idle"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.workload == "bcast" && runtime.GOOS != "linux" {
				t.Skip("bcast is only on Linux")
			}
			c := config("", tc.workload)
			c.URL = url
			tc.config(&c)
			r := loadgen.Run(c)
			if msg := r.Failed(); msg != "" {
				t.Fatalf("%s failed: %s", tc.name, msg)
			}
			if (tc.workload == "ack" || tc.workload == "tput") && !strings.Contains(strings.ToLower(r.Summary()), "websocket") {
				t.Errorf("summary %q does not say it ran over WebSocket", r.Summary())
			}
			switch r := r.(type) {
			case *loadgen.AckResult:
				if r.Envelope != "websocket" || r.Count != 200 || r.Clients != max(1, c.Clients) || r.PerSec <= 0 || r.P50us <= 0 || r.P99us < r.P50us {
					t.Errorf("implausible ack result %+v", r)
				}
			case *loadgen.TputResult:
				if r.Envelope != "websocket" || r.Count != 200 || r.PerSec <= 0 || r.Batch < 1 || (c.Batch == 1 && r.Batch != 1) {
					t.Errorf("implausible tput result %+v", r)
				}
			case *loadgen.BcastResult:
				if r.Envelope != "websocket" || r.Delivered != 35 || r.Expected != 35 || r.PerSec <= 0 {
					t.Errorf("bcast result %+v, want 35 of 35 delivered over websocket", r)
				}
			case *loadgen.IdleResult:
				if r.Envelope != "websocket" || r.N != 20 || r.ServerRSSAfter <= 0 {
					t.Errorf("implausible idle result %+v", r)
				}
			}
		})
	}
}

// ack -c N over miniio's TCP frames: every round trip is counted once, and
// the clients share them out even when N does not divide the count.
func TestAckWithConcurrentClientsOverTCP(t *testing.T) {
	srv := loadgentest.Start(t, loadgentest.Options{})
	c := config(srv.Addr, "ack")
	c.Clients = 7
	r := loadgen.Run(c).(*loadgen.AckResult)
	if r.Error != "" {
		t.Fatalf("ack -c 7 failed: %s", r.Error)
	}
	if r.Envelope != "tcp" || r.Clients != 7 || r.Count != 200 || r.PerSec <= 0 || r.P99us < r.P50us {
		t.Errorf("implausible result %+v", r)
	}
}

// A -url that points at something that is not a WebSocket server (here
// miniio's plain TCP side, which speaks first with a framed OPEN) is a
// clear error about the upgrade, not a hang or a panic.
func TestWebSocketURLAtANonHTTPServerIsAClearError(t *testing.T) {
	srv := loadgentest.Start(t, loadgentest.Options{})
	c := config("", "ack")
	c.URL = "ws://" + srv.Addr
	c.Timeout = 2 * time.Second
	done := make(chan loadgen.Result, 1)
	go func() { done <- loadgen.Run(c) }()
	select {
	case r := <-done:
		if !strings.Contains(r.Failed(), "WebSocket upgrade") {
			t.Fatalf("Failed() = %q, want it to mention the WebSocket upgrade", r.Failed())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no result within 20 s")
	}
}

func TestBadWebSocketConfigIsRefused(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:3000", "ws://"},
		{"wss://127.0.0.1:3000", "TLS"},
		{"ws://127.0.0.1", "port"},
		{"ws://127.0.0.1:3000/?EIO=3", "only ws://HOST:PORT"},
	} {
		c := config("", "ack")
		c.URL = tc.url
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(-url %s) = %v, want an error mentioning %q", tc.url, err, tc.want)
		}
	}
	c := config("127.0.0.1:1", "ack")
	c.Clients = 201 // more clients than the 200 round trips
	if c.Check() == nil {
		t.Error("Check accepted -c 201 with -count 200")
	}
}

// -url with two servers (bcast only): receivers alternate between them and
// the sender sits on the first. Two servers that share nothing lose every
// delivery meant for the second one's receivers, which shows the receivers
// really were spread; the same server named twice delivers them all.
func TestBcastSpreadsReceiversOverSeveralURLs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("bcast is only on Linux")
	}
	a := fmt.Sprintf("ws://127.0.0.1:%d", nodepeer.StartServer(t, nodepeer.ServerOptions{Transports: []string{"websocket"}}))
	b := fmt.Sprintf("ws://127.0.0.1:%d", nodepeer.StartServer(t, nodepeer.ServerOptions{Transports: []string{"websocket"}}))

	c := config("", "bcast")
	c.URL = a + "," + a
	if r := loadgen.Run(c); r.Failed() != "" {
		t.Fatalf("bcast over %s: %s", c.URL, r.Failed())
	}

	c.URL = a + "," + b
	c.Timeout = 2 * time.Second
	r := loadgen.Run(c)
	if r.Failed() == "" {
		t.Fatalf("bcast over two unconnected servers %s succeeded: %+v; the receivers on %s cannot have got anything", c.URL, r, b)
	}

	for _, tc := range []struct{ workload, url, want string }{
		{"ack", a + "," + b, "only -workload bcast"},
		{"bcast", a + ",", "empty entry"},
		{"bcast", a + ",http://x:1", "ws://"},
	} {
		c := config("", tc.workload)
		c.URL = tc.url
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(-workload %s -url %s) = %v, want an error mentioning %q", tc.workload, tc.url, err, tc.want)
		}
	}
}
