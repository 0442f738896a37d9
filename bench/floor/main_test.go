package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"socklab/internal/proctest"
)

// buildFloor compiles this command once per test into a temporary folder,
// so the tests run the real program the way scripts/bench does.
func buildFloor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "floor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type floorResult struct {
	Workload string   `json:"workload"`
	Count    int      `json:"count"`
	Seconds  float64  `json:"seconds"`
	PerSec   float64  `json:"per_sec"`
	P50us    *float64 `json:"p50_us"`
	P99us    *float64 `json:"p99_us"`
}

// runFloor runs the program and decodes its one line of JSON.
func runFloor(t *testing.T, bin string, args ...string) floorResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("floor %v: %v\nstderr: %s", args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("floor %v printed %d lines, want one JSON line:\n%s", args, len(lines), out)
	}
	var r floorResult
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("floor %v: not the expected JSON: %v\n%s", args, err, lines[0])
	}
	if r.Seconds <= 0 || r.PerSec <= 0 {
		t.Errorf("floor %v: seconds %v, per_sec %v; want both > 0", args, r.Seconds, r.PerSec)
	}
	return r
}

func TestPingPongPrintsAckShape(t *testing.T) {
	bin := buildFloor(t)
	r := runFloor(t, bin, "-count", "300", "-size", "64")
	if r.Workload != "floor" || r.Count != 300 {
		t.Errorf("workload %q count %d, want \"floor\" 300", r.Workload, r.Count)
	}
	if r.P50us == nil || r.P99us == nil {
		t.Fatalf("p50_us or p99_us missing")
	}
	if *r.P50us <= 0 || *r.P50us > *r.P99us {
		t.Errorf("p50 %v µs, p99 %v µs: want 0 < p50 ≤ p99", *r.P50us, *r.P99us)
	}
}

func TestOneWayPrintsTputShape(t *testing.T) {
	bin := buildFloor(t)
	// A size that is not a divisor of the server's 64 KiB read buffer, so
	// the server's byte count has to add up across uneven reads.
	r := runFloor(t, bin, "-workload", "tput", "-count", "5000", "-size", "100")
	if r.Workload != "floor_tput" || r.Count != 5000 {
		t.Errorf("workload %q count %d, want \"floor_tput\" 5000", r.Workload, r.Count)
	}
	if r.P50us != nil {
		t.Errorf("tput shape carries p50_us; it should not")
	}
}

func TestBadFlagsSayWhy(t *testing.T) {
	bin := buildFloor(t)
	for _, args := range [][]string{
		{"-workload", "bogus"},
		{"-count", "0"},
		{"-size", "0"},
		{"-size", "2000000"},
		{"stray"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Errorf("floor %v succeeded; want an error", args)
			continue
		}
		text := string(out)
		if !strings.HasPrefix(text, "floor: ") || strings.Contains(text, "goroutine") {
			t.Errorf("floor %v: want one plain \"floor: …\" line, got:\n%s", args, text)
		}
	}
}

// Both ends turn Nagle's algorithm off; strace shows it as a learner would see it.
func TestBothEndsSetNodelay(t *testing.T) {
	strace := proctest.NeedTool(t, "strace")
	bin := buildFloor(t)
	out, err := exec.Command(strace, "-f", "-e", "trace=setsockopt", bin, "-count", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("strace floor: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "TCP_NODELAY, [1]"); n != 2 {
		t.Errorf("saw TCP_NODELAY set %d times, want 2 (client and server):\n%s", n, out)
	}
}
