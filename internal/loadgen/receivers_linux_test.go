//go:build linux

package loadgen

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
	"socklab/internal/wire"
)

// BenchmarkReceivers measures bcast's receiving side alone: how many
// deliveries per second one epoll loop takes in from 1000 connections.
// Each round's bytes are written (untimed) before the clock starts, so the
// time is the receivers' reading and counting only. If this is far above
// what any server reaches, the generator is not what limits a bcast
// result.
//
//	go test -run '^$' -bench Receivers ./internal/loadgen
func BenchmarkReceivers(b *testing.B) {
	const n, m = 1000, 100
	arg := payload(64)
	want, _ := wire.AppendEvent(nil, wire.NoAck, "msg", arg)
	burst := make([]byte, 0, m*(len(want)+wire.HeaderLen))
	for range m {
		burst = wire.AppendFrame(burst, want)
	}
	proctest.Need(b, "nofile", raiseFileLimit(2*n+64))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	set, err := newReceiverSet(want, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer set.close()
	senders := make([]*os.File, 0, n)
	for range n {
		fd, err := connectTCP(ln.Addr().String(), 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := set.add(&conn{fd: fd, max: wire.DefaultMaxPayload}); err != nil {
			b.Fatal(err)
		}
		peer, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		f, err := peer.(*net.TCPConn).File() // a blocking fd of its own
		peer.Close()
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		senders = append(senders, f)
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		set.expect(m)
		for _, f := range senders {
			if _, err := syscall.Write(int(f.Fd()), burst); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := set.wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n*m)/b.Elapsed().Seconds(), "deliveries/s")
}
