package main

// -conns N: many clients at once, to see how a server copes (lessons 6
// and 7). Each connection sends one line of its own, "connection 17 of
// 10000\n", checks that exactly that line comes back, and stays open for
// -hold after its echo. At the end one summary: how many connections
// were echoed correctly, how many failed and why, and how many were open
// at the same moment.
//
//	./bin/tcpclient -conns 3                     # the trace of three connections
//	./bin/tcpclient -q -conns 10000 -hold 5s     # C10K: ten thousand at once
//
// The connections are made by a pool of goroutines making blocking calls,
// at most -parallel at a time; a connection stays open (a descriptor and
// a socket in the kernel, no goroutine) while it is held. Holding is what
// makes them concurrent: with -hold 5s every connection is still open
// when the last one gets its echo, if that takes less than five seconds.
// On a slow or busy machine it may take longer, and the first ones close
// before the last ones connect; -together then holds every connection
// until -hold after the last echo, so all N are open at the same moment
// however long they took to set up.
//
// See: lessons/06-many-clients.md, lessons/07-event-loop.md.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

var (
	connsFlag    = flag.Int("conns", 0, "open N connections at once, each sending one line and checking its echo (0: one connection carrying stdin)")
	holdFlag     = flag.Duration("hold", 0, "with -conns: keep each connection open this long after its echo")
	timeoutFlag  = flag.Duration("timeout", 10*time.Second, "with -conns: give up on a connect or an echo after this long")
	togetherFlag = flag.Bool("together", false, "with -conns and -hold: start every connection's hold after the last echo, so that all are open at once")
	parallelFlag = flag.Int("parallel", 100, "with -conns: how many connections are being set up at the same moment")
)

// maxConns is the largest -conns: Linux's default ceiling on one
// process's descriptors (nr_open).
const maxConns = 1 << 20

// manyConns is tcpclient -conns N. It exits: 0 when every echo was
// right, 1 otherwise.
func manyConns(domain int, server unix.Sockaddr) {
	n, hold, timeout, parallel := *connsFlag, *holdFlag, *timeoutFlag, *parallelFlag
	if n < 0 || hold < 0 || timeout <= 0 || parallel < 1 {
		sys.Fatalf("-conns and -hold cannot be negative, and -timeout and -parallel must be positive")
	}
	if *togetherFlag && hold == 0 {
		sys.Fatalf("-together holds the connections together: give it a -hold too")
	}
	if n > maxConns {
		// Each one is a descriptor, and a process may have at most about
		// a million (/proc/sys/fs/nr_open); asking for more is a typo.
		sys.Fatalf("-conns %d: at most %d (one process cannot hold more descriptors than that)", n, maxConns)
	}
	r := results{holding: make(chan held, n)}
	closed := make(chan struct{})
	if *togetherFlag {
		go r.closeTogether(hold, closed)
	} else {
		go r.closeWhenDue(closed)
	}
	jobs := make(chan int)
	var workers sync.WaitGroup
	for range min(parallel, n) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			server := ownCopy(server)
			for i := range jobs {
				r.one(domain, server, i, n, hold, timeout)
			}
		}()
	}
	for i := 1; i <= n; i++ {
		jobs <- i
	}
	close(jobs)
	workers.Wait()
	close(r.holding)
	<-closed // every connection closed after its hold
	os.Exit(r.report(n, server))
}

// results is what the connections share: the counts, and the failures by reason.
type results struct {
	ok, open, peak atomic.Int64
	holding        chan held // connections to close later, in the order they were echoed
	mu             sync.Mutex
	failed         map[string]int
	errnos         map[unix.Errno]bool
}

// one is one connection's life: socket, connect, write a line, read it
// back, then close (after -hold).
func (r *results) one(domain int, server unix.Sockaddr, i, n int, hold, timeout time.Duration) {
	fd, err := sys.Socket(domain, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		r.fail("socket", err) // EMFILE: our own descriptor limit
		return
	}
	r.opened()
	if err := exchange(fd, server, i, n, timeout); err != nil {
		r.fail(err.what, err.err)
		r.close(fd)
		return
	}
	r.ok.Add(1)
	if hold == 0 {
		r.close(fd)
		return
	}
	// Holding needs no goroutine and no thread of its own: one goroutine
	// closes every held connection when its time is up.
	r.holding <- held{fd, time.Now().Add(hold)}
}

// held is a connection kept open until a deadline.
type held struct {
	fd    int
	until time.Time
}

// closeWhenDue closes the held connections as their time comes. They
// arrive in the order they were echoed, so their deadlines come in order
// too. It waits with select(2), not a Go timer: Go's timers need an
// epoll descriptor of the runtime's own, which it cannot create when
// this process is out of descriptors (its own EMFILE), and then it
// stops the program.
func (r *results) closeWhenDue(done chan struct{}) {
	for h := range r.holding {
		if wait := time.Until(h.until); wait > 0 {
			tv := unix.NsecToTimeval(int64(wait))
			for {
				_, err := unix.Select(0, nil, nil, nil, &tv)
				if err != unix.EINTR {
					break
				}
				// EINTR: a signal cut the wait short; tv holds the rest
			}
		}
		r.close(h.fd)
	}
	close(done)
}

// closeTogether is -together: it keeps every held connection until the
// last one is echoed (or has failed), then holds them all for hold more
// and closes them. Like closeWhenDue it waits with select(2).
func (r *results) closeTogether(hold time.Duration, done chan struct{}) {
	var fds []int
	for h := range r.holding { // closed once every connection is echoed or failed
		fds = append(fds, h.fd)
	}
	tv := unix.NsecToTimeval(int64(hold))
	for {
		_, err := unix.Select(0, nil, nil, nil, &tv)
		if err != unix.EINTR {
			break
		}
		// EINTR: a signal cut the wait short; tv holds the rest
	}
	for _, fd := range fds {
		r.close(fd)
	}
	close(done)
}

// step is a failed call and its error.
type step struct {
	what string
	err  error
}

// exchange connects, sends the line and reads it back.
func exchange(fd int, server unix.Sockaddr, i, n int, timeout time.Duration) *step {
	// SO_SNDTIMEO bounds a blocking connect (and write), SO_RCVTIMEO a
	// blocking read: past it the call fails with EINPROGRESS or EAGAIN
	// instead of waiting on, for a server that never accepts us.
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, timeout); err != nil {
		return &step{"setsockopt SO_SNDTIMEO", err}
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, timeout); err != nil {
		return &step{"setsockopt SO_RCVTIMEO", err}
	}
	if err := sys.Connect(fd, server); err != nil {
		if err == unix.EINPROGRESS || err == unix.EAGAIN {
			err = errTimedOut
		}
		return &step{"connect", err}
	}
	line := []byte(fmt.Sprintf("connection %d of %d\n", i, n))
	if err := writeAll(fd, line); err != nil {
		return &step{"write", err}
	}
	got, err := readLine(fd, len(line))
	if err != nil {
		return &step{"read", err}
	}
	if !bytes.Equal(got, line) {
		return &step{"echo", fmt.Errorf("got %q back", got)}
	}
	return nil
}

var (
	errTimedOut = errors.New("timed out (see -timeout)")
	errClosed   = errors.New("the server closed the connection without answering")
)

// readLine reads until a newline, or max bytes; a line may arrive in
// pieces.
func readLine(fd, max int) ([]byte, error) {
	buf := make([]byte, 0, max)
	for len(buf) < max && bytes.IndexByte(buf, '\n') < 0 {
		n, err := sys.Read(fd, buf[len(buf):max])
		if err == unix.EAGAIN {
			return buf, errTimedOut // SO_RCVTIMEO passed
		}
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, errClosed
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

func (r *results) opened() {
	now := r.open.Add(1)
	for {
		peak := r.peak.Load()
		if now <= peak || r.peak.CompareAndSwap(peak, now) {
			return
		}
	}
}

func (r *results) close(fd int) {
	sys.Close(fd)
	r.open.Add(-1)
}

func (r *results) fail(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == nil {
		r.failed, r.errnos = map[string]int{}, map[unix.Errno]bool{}
	}
	r.failed[what+": "+sys.Describe(err)]++
	var e unix.Errno
	if errors.As(err, &e) {
		r.errnos[e] = true
	}
}

// report prints the summary on stdout and returns the exit status.
func (r *results) report(n int, server unix.Sockaddr) int {
	ok := int(r.ok.Load())
	fmt.Printf("%d connections to %s: %d echoed correctly, %d failed\n", n, sys.Addr(server), ok, n-ok)
	fmt.Printf("at most %d open at the same time\n", r.peak.Load())
	var reasons []string
	for why := range r.failed {
		reasons = append(reasons, why)
	}
	sort.Strings(reasons)
	for _, why := range reasons {
		fmt.Printf("  %d failed at %s\n", r.failed[why], why)
	}
	var hints []string
	for e := range r.errnos {
		if h := sys.Hint(e); h != "" {
			hints = append(hints, "hint: "+sys.ErrnoName(e)+": "+h)
		}
	}
	sort.Strings(hints)
	if len(hints) > 0 {
		fmt.Println(strings.Join(hints, "\n"))
	}
	if ok != n {
		return 1
	}
	return 0
}

// ownCopy copies the server's address for one goroutine: x/sys's connect
// writes the kernel's form of the address into the value it is given, so
// goroutines sharing one would race.
func ownCopy(sa unix.Sockaddr) unix.Sockaddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		c := *a
		return &c
	case *unix.SockaddrInet6:
		c := *a
		return &c
	}
	return sa
}
