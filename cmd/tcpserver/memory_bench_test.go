//go:build linux

package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// maxIdleConnBytes is the most user-space memory one idle connection may
// cost the epoll server (a goroutine-per-connection server on Go's net
// package needs about 7.8 KB).
const maxIdleConnBytes = 1024

// BenchmarkIdleConnMemory measures what an idle connection costs each
// server mode in user-space memory: the server's RSS (VmRSS in
// /proc/PID/status, the RSS column of `ps`) with 10,000 connections held
// open and quiet, minus its RSS before they came, divided by 10,000.
// Both modes are measured in the same run, on the same machine:
//
//	go test ./cmd/tcpserver -run '^$' -bench IdleConnMemory -benchtime 1x
//
// It reports bytes/conn per mode (ns/op means nothing here). Kernel
// memory (socket buffers, each thread's kernel stack) is not in RSS and
// not counted. Set SOCKLAB_CONNS to use another number of connections.
func BenchmarkIdleConnMemory(b *testing.B) {
	n := 10000
	if s := os.Getenv("SOCKLAB_CONNS"); s != "" {
		fmt.Sscan(s, &n)
	}
	for _, mode := range []string{"epoll", "threads"} {
		b.Run(mode, func(b *testing.B) {
			var perConn float64
			for range b.N {
				perConn = idleConnMemory(b, mode, n)
			}
			b.ReportMetric(perConn, "bytes/conn")
			b.ReportMetric(0, "ns/op")
			b.Logf("-mode %s: %.0f bytes of RSS per idle connection (%d connections)", mode, perConn, n)
			// The event loop's promise (lesson 7): an idle connection
			// costs it a table entry, not a buffer or a stack. Memory,
			// not time, so the benchmark may hold it to a number.
			if mode == "epoll" && perConn > maxIdleConnBytes {
				b.Errorf("-mode epoll: %.0f bytes per idle connection, more than the %d promised", perConn, maxIdleConnBytes)
			}
		})
	}
}

// idleConnMemory starts tcpserver -mode mode, measures its RSS, holds n
// connections open with tcpclient -conns n -hold, measures again once
// the RSS has settled, and ends both programs.
func idleConnMemory(b *testing.B, mode string, n int) float64 {
	b.Helper()
	raiseFileLimit(b, uint64(n+100))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	srv := startTB(b, prog("tcpserver"), "-q", "-mode", mode, "-addr", addr, "-backlog", "4096")
	pid := srv.Pid
	waitEcho(b, addr)
	time.Sleep(500 * time.Millisecond)
	before := procRSS(b, pid)
	baseFDs := procCount(pid, "fd")

	startTB(b, prog("tcpclient"), "-q", "-addr", addr, "-conns", fmt.Sprint(n), "-hold", "60s", "-timeout", "30s")
	deadline := time.Now().Add(50 * time.Second)
	for procCount(pid, "fd") < baseFDs+n {
		if time.Now().After(deadline) {
			b.Fatalf("-mode %s: only %d of %d connections open after 50 s", mode, procCount(pid, "fd")-baseFDs, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Settled: two readings half a second apart within 1 % of each other.
	after := procRSS(b, pid)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		now := procRSS(b, pid)
		settled := now-after < after/100 && after-now < after/100
		after = now
		if settled {
			break
		}
	}
	b.Logf("-mode %s: RSS %d KiB before, %d KiB with %d idle connections, %d threads",
		mode, before>>10, after>>10, n, procCount(pid, "task"))
	return float64(after-before) / float64(n)
}

// startTB starts a program; the benchmark's cleanup kills it by its PID.
func startTB(b testing.TB, argv ...string) *os.Process {
	b.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process
}

// waitEcho waits until the server at addr echoes a line.
func waitEcho(b testing.TB, addr string) {
	b.Helper()
	for range 500 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("up?\n"))
			_, err = c.Read(make([]byte, 4))
			c.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("no echo from %s", addr)
}
