// Command floor measures the fastest this machine moves small messages over
// loopback TCP with nothing on top: no event loop, no framing, no JSON.
// scripts/bench prints it beside miniio and socket.io so their numbers have a
// floor to be read against ("miniio's round trip is 4× the bare socket's").
//
// Two plain blocking sockets, one per side, each side on its own OS thread
// (runtime.LockOSThread), every call straight through golang.org/x/sys/unix:
//
//	server: socket → setsockopt(SO_REUSEADDR) → bind(127.0.0.1:0) → listen → accept → read/write …
//	client: socket → setsockopt(TCP_NODELAY) → connect → write/read …
//
// Two workloads, the same shapes as the ack and tput rows of scripts/bench:
//
//	-workload ack   ping-pong: write -size bytes, read them back, -count times;
//	                each round trip timed.
//	                {"workload":"floor","count":…,"seconds":…,"per_sec":…,"p50_us":…,"p99_us":…}
//	-workload tput  one-way: -count writes of -size bytes each, then wait for
//	                the server's one-byte "got them all".
//	                {"workload":"floor_tput","count":…,"seconds":…,"per_sec":…}
//
// The tput floor is the cost of one write(2) per message. A protocol that
// queues messages and sends many in one write (miniio's event loop does)
// pays that cost once per batch, and so can go past this "floor"; the
// ack floor it cannot beat, since each round trip needs its own writes.
//
// Run:   go run ./bench/floor -count 50000 -size 64
//
//	go run ./bench/floor -workload tput -count 200000 -size 64
//
// Watch: strace -f -e trace=network,read,write go run ./bench/floor -count 3
//
// See: scripts/bench; man 2 socket, bind, listen, accept, connect, read, write; man 7 tcp (TCP_NODELAY).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	workload := flag.String("workload", "ack", "ack (ping-pong round trips) or tput (one-way writes)")
	count := flag.Int("count", 50000, "round trips (ack) or writes (tput), after a warm-up of count/10")
	size := flag.Int("size", 64, "bytes per message")
	flag.Parse()
	if flag.NArg() != 0 {
		fail("unexpected argument %q", flag.Arg(0))
	}
	if *workload != "ack" && *workload != "tput" {
		fail("-workload must be ack or tput, not %q", *workload)
	}
	if *count < 1 || *size < 1 || *size > 1<<20 {
		fail("-count must be ≥ 1 and -size between 1 and 1048576")
	}
	warmup := max(1, *count/10)

	// socket(2), bind(2) to port 0 so the kernel picks a free one, listen(2).
	listenFD, port := listenLoopback()

	// The server side runs on its own goroutine, pinned to its own thread, so
	// each blocking read parks one kernel thread and wakes it, nothing more.
	serverErr := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if *workload == "ack" {
			serverErr <- serveEcho(listenFD, *size)
		} else {
			serverErr <- serveCount(listenFD, (warmup+*count)*(*size))
		}
	}()

	runtime.LockOSThread()
	fd := dialLoopback(port)
	var result any
	if *workload == "ack" {
		result = pingPong(fd, *size, warmup, *count)
	} else {
		result = oneWay(fd, *size, warmup, *count)
	}
	check(unix.Close(fd), "close")
	if err := <-serverErr; err != nil {
		fail("server: %v", err)
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

type ackResult struct {
	Workload string  `json:"workload"`
	Count    int     `json:"count"`
	Seconds  float64 `json:"seconds"`
	PerSec   int64   `json:"per_sec"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
}

type tputResult struct {
	Workload string  `json:"workload"`
	Count    int     `json:"count"`
	Seconds  float64 `json:"seconds"`
	PerSec   int64   `json:"per_sec"`
}

// pingPong writes one message and reads the echo, one at a time.
func pingPong(fd, size, warmup, count int) ackResult {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'x'
	}
	reply := make([]byte, size)
	for range warmup {
		writeAll(fd, msg)
		readFull(fd, reply)
	}
	latency := make([]time.Duration, count)
	start := time.Now()
	for i := range count {
		t := time.Now()
		writeAll(fd, msg)
		readFull(fd, reply)
		latency[i] = time.Since(t)
	}
	elapsed := time.Since(start)
	slices.Sort(latency)
	return ackResult{
		Workload: "floor",
		Count:    count,
		Seconds:  round(elapsed.Seconds(), 6),
		PerSec:   int64(float64(count) / elapsed.Seconds()),
		P50us:    round(float64(percentile(latency, 0.50))/1e3, 1),
		P99us:    round(float64(percentile(latency, 0.99))/1e3, 1),
	}
}

// oneWay writes warm-up messages, then `count` timed ones, each its own
// write(2); the server answers one byte once it has read every byte.
func oneWay(fd, size, warmup, count int) tputResult {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'x'
	}
	for range warmup {
		writeAll(fd, msg)
	}
	start := time.Now()
	for range count {
		writeAll(fd, msg)
	}
	done := make([]byte, 1)
	readFull(fd, done)
	elapsed := time.Since(start)
	return tputResult{
		Workload: "floor_tput",
		Count:    count,
		Seconds:  round(elapsed.Seconds(), 6),
		PerSec:   int64(float64(count) / elapsed.Seconds()),
	}
}

// Nearest rank: the smallest value with at least p of all values at or
// below it (the same rule client.js and miniio bench use).
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(1, rank)-1]
}

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}

// listenLoopback makes the listening socket on 127.0.0.1 and an
// ephemeral port, and returns the fd and the port the kernel chose.
func listenLoopback() (int, int) {
	// socket(2): a blocking TCP socket; no SOCK_NONBLOCK, so a read just
	// waits. No SOCK_CLOEXEC either: this program starts no other, and the
	// plain call builds on macOS and the BSDs too.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	check(err, "socket")
	// setsockopt(2) SO_REUSEADDR: a rerun is not refused by the last run's TIME_WAIT.
	check(unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1), "setsockopt SO_REUSEADDR")
	// bind(2): port 0 asks the kernel for any free port.
	check(unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}), "bind")
	check(unix.Listen(fd, 1), "listen")
	// getsockname(2): which port did we get?
	sa, err := unix.Getsockname(fd)
	check(err, "getsockname")
	return fd, sa.(*unix.SockaddrInet4).Port
}

// dialLoopback connects a blocking client socket with Nagle's algorithm off.
func dialLoopback(port int) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	check(err, "socket")
	// TCP_NODELAY (man 7 tcp): send each small write now instead of holding
	// it back to merge with the next one. A ping-pong needs that, and both
	// miniio and socket.io set it too.
	check(unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1), "setsockopt TCP_NODELAY")
	for {
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		if err == unix.EINTR {
			continue // interrupted by a signal before it finished: ask again
		}
		check(err, "connect")
		return fd
	}
}

// acceptOne takes the single connection the client makes and closes the
// listening socket, which has nothing more to do.
func acceptOne(listenFD int) (int, error) {
	for {
		// accept(2); on Linux x/sys makes it accept4(fd, …, 0), which is
		// the name strace shows.
		fd, _, err := unix.Accept(listenFD)
		if err == unix.EINTR {
			continue
		}
		unix.Close(listenFD)
		if err != nil {
			return -1, fmt.Errorf("accept: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return -1, fmt.Errorf("setsockopt TCP_NODELAY: %w", err)
		}
		return fd, nil
	}
}

// serveEcho reads exactly one message at a time and writes it back, until
// the client closes (read returns 0).
func serveEcho(listenFD, size int) error {
	fd, err := acceptOne(listenFD)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, size)
	for {
		if err := readFullErr(fd, buf); err != nil {
			if errors.Is(err, errEOF) {
				return nil
			}
			return err
		}
		if err := writeAllErr(fd, buf); err != nil {
			return err
		}
	}
}

// serveCount reads until it has seen `total` bytes, then answers one byte.
func serveCount(listenFD, total int) error {
	fd, err := acceptOne(listenFD)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	for seen := 0; seen < total; {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case n == 0:
			return fmt.Errorf("client closed after %d of %d bytes", seen, total)
		}
		seen += n
	}
	return writeAllErr(fd, []byte{'!'})
}

var errEOF = errors.New("peer closed the connection")

// readFullErr reads until buf is full: TCP is a byte stream, and one read
// may return part of a message.
func readFullErr(fd int, buf []byte) error {
	for got := 0; got < len(buf); {
		n, err := unix.Read(fd, buf[got:])
		switch {
		case err == unix.EINTR:
			continue // a signal arrived first: read again
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case n == 0:
			return errEOF
		}
		got += n
	}
	return nil
}

// writeAllErr writes until all of buf is sent: write may take only part.
func writeAllErr(fd int, buf []byte) error {
	for sent := 0; sent < len(buf); {
		n, err := unix.Write(fd, buf[sent:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		sent += n
	}
	return nil
}

func readFull(fd int, buf []byte) { check(readFullErr(fd, buf), "client") }

func writeAll(fd int, buf []byte) { check(writeAllErr(fd, buf), "client") }

// check ends the program with what failed and the errno's name, spelled
// the way strace and the man pages spell it: "connect: [ECONNREFUSED connection refused]".
func check(err error, what string) {
	if err == nil {
		return
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if err == errno {
			fail("%s: [%s %v]", what, unix.ErrnoName(errno), errno)
		}
		fail("%s: %v [%s]", what, err, unix.ErrnoName(errno))
	}
	fail("%s: %v", what, err)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "floor: "+format+"\n", args...)
	os.Exit(1)
}
