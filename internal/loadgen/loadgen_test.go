package loadgen_test

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"socklab/internal/loadgen"
	"socklab/internal/loadgen/loadgentest"
)

func config(addr, workload string) loadgen.Config {
	return loadgen.Config{Addr: addr, Workload: workload, Count: 200, Size: 64,
		Receivers: 5, Messages: 7, N: 20, Timeout: 10 * time.Second}
}

func TestEveryWorkloadCompletesAgainstAnHonestServer(t *testing.T) {
	srv := loadgentest.Start(t, loadgentest.Options{})
	for _, w := range loadgen.Workloads {
		t.Run(w, func(t *testing.T) {
			if w == "bcast" && runtime.GOOS != "linux" {
				t.Skip("bcast is only on Linux")
			}
			r := loadgen.Run(config(srv.Addr, w))
			if msg := r.Failed(); msg != "" {
				t.Fatalf("%s failed: %s", w, msg)
			}
			if !strings.HasPrefix(r.Summary(), w+":") {
				t.Errorf("summary %q does not start with %q", r.Summary(), w+":")
			}
			switch r := r.(type) {
			case *loadgen.AckResult:
				if r.Count != 200 || r.PerSec <= 0 || r.P50us <= 0 || r.P99us < r.P50us {
					t.Errorf("implausible ack result %+v", r)
				}
			case *loadgen.TputResult:
				if r.Count != 200 || r.PerSec <= 0 || r.Batch < 1 {
					t.Errorf("implausible tput result %+v", r)
				}
			case *loadgen.BcastResult:
				if r.Delivered != 35 || r.Expected != 35 || r.PerSec <= 0 {
					t.Errorf("bcast result %+v, want 35 of 35 delivered", r)
				}
			case *loadgen.IdleResult:
				if r.N != 20 || r.ServerRSSAfter <= 0 {
					t.Errorf("implausible idle result %+v", r)
				}
			}
		})
	}
}

// A server that loses messages must make every workload fail, each with
// a reason that says what was missing. Losses that leave the generator
// waiting end with the (short) timeout.
func TestLostMessagesFailTheRun(t *testing.T) {
	cases := []struct {
		workload string
		opts     loadgentest.Options
		want     string
	}{
		{"ack", loadgentest.Options{Drop: 50}, "round trip"},
		{"tput", loadgentest.Options{Drop: 50}, "counted"},
		{"bcast", loadgentest.Options{Drop: 11}, "receivers have all"},
		{"bcast", loadgentest.Options{EchoToSender: true}, "sender got"},
	}
	for _, tc := range cases {
		t.Run(tc.workload, func(t *testing.T) {
			if tc.workload == "bcast" && runtime.GOOS != "linux" {
				t.Skip("bcast is only on Linux")
			}
			srv := loadgentest.Start(t, tc.opts)
			c := config(srv.Addr, tc.workload)
			c.Timeout = 500 * time.Millisecond
			r := loadgen.Run(c)
			if !strings.Contains(r.Failed(), tc.want) {
				t.Fatalf("Failed() = %q, want it to mention %q", r.Failed(), tc.want)
			}
		})
	}
}

func TestNoServerIsAClearError(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	r := loadgen.Run(config(freePortAddr(t), "ack"))
	if !strings.Contains(r.Failed(), "ECONNREFUSED") {
		t.Fatalf("Failed() = %q, want ECONNREFUSED", r.Failed())
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	for _, c := range []loadgen.Config{
		{Workload: "nope", Count: 1, Size: 1, Receivers: 1, Messages: 1, N: 1, Timeout: time.Second},
		{Workload: "ack", Count: 0, Size: 1, Receivers: 1, Messages: 1, N: 1, Timeout: time.Second},
		{Workload: "ack", Count: 1, Size: 0, Receivers: 1, Messages: 1, N: 1, Timeout: time.Second},
		{Workload: "ack", Count: 1, Size: 1, Receivers: 1, Messages: 1, N: 1},
	} {
		if c.Check() == nil {
			t.Errorf("Check(%+v) = nil, want an error", c)
		}
	}
}

func freePortAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
