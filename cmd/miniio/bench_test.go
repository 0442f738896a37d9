package main

// Tests of `miniio bench`, the load generator: every workload, at tiny
// sizes, against a real `miniio serve` this test starts; and against a
// fake server that loses messages, to prove the completeness check can
// fail. Nothing here is timed: a slow machine passes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"socklab/internal/loadgen"
	"socklab/internal/loadgen/loadgentest"
)

// benchBinary builds this command into the test's temporary folder, so
// the test runs the real program the way scripts/bench does. (Names here
// start with "bench": the other commands' tests share this package.)
func benchBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "miniio")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// benchFreeAddr finds a loopback port nobody listens on right now.
func benchFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// benchStartServe runs `miniio serve -q` on a free port until the test ends,
// and returns its address once it accepts connections.
func benchStartServe(t *testing.T, bin string) string {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		addr := benchFreeAddr(t)
		cmd := exec.Command(bin, "serve", "-q", "-bench-events", "-addr", addr, "-http", "127.0.0.1:0")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			// End it by its own PID, and wait so it leaves no zombie.
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
			<-exited
		})
		for i := 0; i < 100; i++ {
			select {
			case <-exited:
				i = 100 // it died (the port was taken after all?): next attempt
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return addr
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("miniio serve on %s did not start (attempt %d):\n%s", addr, attempt+1, logs.String())
	}
	t.Fatal("miniio serve never started")
	return ""
}

// runBenchCmd runs `miniio bench` with args and returns its stdout, stderr and
// exit status.
func runBenchCmd(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"bench"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("miniio bench %v did not finish in 2 minutes\nstderr: %s", args, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// benchContractFields are the fields scripts/bench's contract promises, by
// workload.
var benchContractFields = map[string][]string{
	"ack":   {"workload", "count", "seconds", "per_sec", "p50_us", "p99_us"},
	"tput":  {"workload", "count", "seconds", "per_sec"},
	"bcast": {"workload", "receivers", "messages", "delivered", "expected", "seconds", "per_sec"},
	"idle": {"workload", "n", "server_rss_before", "server_rss_after", "bytes_per_conn",
		"server_heap_before", "server_heap_after", "heap_bytes_per_conn"},
}

// benchJSONLine checks that stdout is exactly one line of one JSON object
// and returns it.
func benchJSONLine(t *testing.T, stdout string) map[string]any {
	t.Helper()
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout is not exactly one line:\n%s", stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	return m
}

var benchTiny = []string{"-count", "300", "-size", "64", "-receivers", "10", "-messages", "5", "-n", "50"}

func TestBenchEveryWorkloadAgainstMiniioServe(t *testing.T) {
	bin := benchBinary(t)
	addr := benchStartServe(t, bin)
	for _, w := range loadgen.Workloads {
		t.Run(w, func(t *testing.T) {
			if w == "bcast" && runtime.GOOS != "linux" {
				t.Skip("bcast is only on Linux")
			}
			stdout, stderr, code := runBenchCmd(t, bin, append([]string{"-addr", addr, "-workload", w, "-json"}, benchTiny...)...)
			if code != 0 {
				t.Fatalf("exit status %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			m := benchJSONLine(t, stdout)
			for _, f := range benchContractFields[w] {
				if _, ok := m[f]; !ok {
					t.Errorf("field %q missing from %s", f, stdout)
				}
			}
			if m["workload"] != w || m["error"] != nil {
				t.Errorf("workload %v, error %v; want %q and none", m["workload"], m["error"], w)
			}
			num := func(f string) float64 { v, _ := m[f].(float64); return v }
			positive := map[string][]string{
				"ack":   {"count", "seconds", "per_sec", "p50_us", "p99_us"},
				"tput":  {"count", "seconds", "per_sec"},
				"bcast": {"seconds", "per_sec"},
				"idle":  {"server_rss_before", "server_rss_after", "server_heap_after"},
			}[w]
			for _, f := range positive {
				if num(f) <= 0 {
					t.Errorf("%s = %v, want more than 0", f, m[f])
				}
			}
			switch w {
			case "ack":
				if num("count") != 300 || num("p99_us") < num("p50_us") {
					t.Errorf("implausible: %s", stdout)
				}
			case "tput":
				if num("count") != 300 {
					t.Errorf("count %v, want 300", m["count"])
				}
			case "bcast":
				if num("receivers") != 10 || num("messages") != 5 || num("delivered") != 50 || num("expected") != 50 {
					t.Errorf("want 10 receivers × 5 messages = 50 delivered: %s", stdout)
				}
			case "idle":
				if num("n") != 50 {
					t.Errorf("n %v, want 50", m["n"])
				}
			}
		})
	}
}

func TestBenchWithoutJSONPrintsASummary(t *testing.T) {
	bin := benchBinary(t)
	addr := benchStartServe(t, bin)
	stdout, stderr, code := runBenchCmd(t, bin, "-addr", addr, "-workload", "ack", "-count", "100")
	if code != 0 {
		t.Fatalf("exit status %d\nstderr: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "ack: 100 round trips in ") || !strings.Contains(stdout, "p50") {
		t.Errorf("summary = %q", stdout)
	}
}

// A server that loses messages: the run must fail (exit 1) and say why in
// the JSON line's error field, with the fields it has.
func TestBenchFailsWhenTheServerLosesMessages(t *testing.T) {
	bin := benchBinary(t)
	cases := []struct {
		workload string
		opts     loadgentest.Options
		want     string
	}{
		{"tput", loadgentest.Options{Drop: 100}, "counted"},
		{"ack", loadgentest.Options{Drop: 100}, "round trip"},
		{"bcast", loadgentest.Options{Drop: 7}, "receivers have all"},
	}
	for _, tc := range cases {
		t.Run(tc.workload, func(t *testing.T) {
			if tc.workload == "bcast" && runtime.GOOS != "linux" {
				t.Skip("bcast is only on Linux")
			}
			fake := loadgentest.Start(t, tc.opts)
			stdout, stderr, code := runBenchCmd(t, bin, append([]string{"-addr", fake.Addr, "-workload", tc.workload,
				"-timeout", "1s", "-json"}, benchTiny...)...)
			if code != 1 {
				t.Fatalf("exit status %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			var r struct {
				Workload string `json:"workload"`
				Error    string `json:"error"`
			}
			if strings.Count(stdout, "\n") != 1 || json.Unmarshal([]byte(stdout), &r) != nil {
				t.Fatalf("stdout is not one JSON line:\n%s", stdout)
			}
			if r.Workload != tc.workload || !strings.Contains(r.Error, tc.want) {
				t.Errorf("JSON line %s: want workload %q and an error mentioning %q", stdout, tc.workload, tc.want)
			}
			if !strings.Contains(stderr, r.Error) {
				t.Errorf("stderr does not repeat the error:\n%s", stderr)
			}
		})
	}
}

func TestBenchCommandLine(t *testing.T) {
	bin := benchBinary(t)
	// scripts/bench asks `bench -h` to find out whether the subcommand
	// exists: it must exit 0.
	if _, stderr, code := runBenchCmd(t, bin, "-h"); code != 0 || !strings.Contains(stderr, "-workload") {
		t.Errorf("bench -h: exit %d, stderr %q; want 0 and the flags", code, stderr)
	}
	for _, args := range [][]string{
		{"-workload", "nope"},
		{"-count", "0"},
		{"-size", strconv.Itoa(loadgen.MaxSize + 1)},
		{"-bogus"},
		{"extra-argument"},
	} {
		stdout, stderr, code := runBenchCmd(t, bin, args...)
		if code != 2 || stdout != "" || stderr == "" || strings.Contains(stderr, "goroutine") {
			t.Errorf("bench %v: exit %d, stdout %q, stderr %q; want exit 2 and a one-line reason", args, code, stdout, stderr)
		}
	}
	// Nothing listening: exit 1 with the errno, no stack trace.
	stdout, stderr, code := runBenchCmd(t, bin, "-addr", benchFreeAddr(t), "-json")
	if code != 1 || !strings.Contains(stdout, "ECONNREFUSED") || strings.Contains(stderr, "goroutine") {
		t.Errorf("no server: exit %d, stdout %q, stderr %q; want 1 and ECONNREFUSED", code, stdout, stderr)
	}
}
