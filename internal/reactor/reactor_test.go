//go:build linux

package reactor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// The tests talk to a loop in this process with ordinary clients (Go's
// net package). The trace is off unless a test turns it on to look at it.
func TestMain(m *testing.M) {
	if os.Getenv("SOCKLAB_REACTOR_CHILD") != "" {
		straceChild() // strace_test.go
		os.Exit(0)
	}
	sys.SetTracing(false)
	os.Exit(m.Run())
}

// funcs is a Handler made of functions; nil ones do the obvious thing.
type funcs struct {
	open  func(c *Conn)
	data  func(c *Conn, in []byte) int
	close func(c *Conn, err error)
}

func (f *funcs) OnOpen(c *Conn) {
	if f.open != nil {
		f.open(c)
	}
}

func (f *funcs) OnData(c *Conn, in []byte) int {
	if f.data != nil {
		return f.data(c, in)
	}
	c.Write(bytes.Clone(in)) // echo
	return len(in)
}

func (f *funcs) OnClose(c *Conn, err error) {
	if f.close != nil {
		f.close(c, err)
	}
}

// listen makes a non-blocking listening socket on a free loopback port.
func listen(t *testing.T) (int, string) {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := sys.Listen(fd, 1024); err != nil {
		t.Fatal(err)
	}
	sa, err := sys.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sys.Addr(sa)
}

// start runs a loop with h on a new listening socket; the loop is
// stopped (and Run's result checked) when the test ends.
func start(t *testing.T, h Handler, o Options) (*Loop, string) {
	t.Helper()
	l, err := New(h, o)
	if err != nil {
		t.Fatal(err)
	}
	fd, addr := listen(t)
	if err := l.Serve(fd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	t.Cleanup(func() {
		l.Stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after Stop")
		}
	})
	return l, addr
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// onLoop runs f on the loop's goroutine and waits for it.
func onLoop(l *Loop, f func()) {
	done := make(chan struct{})
	l.Post(func() { f(); close(done) })
	<-done
}

func TestEchoManyClients(t *testing.T) {
	_, addr := start(t, &funcs{}, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		c := dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			for j := range 50 {
				line := fmt.Sprintf("client %d line %d\n", i, j)
				if _, err := io.WriteString(c, line); err != nil {
					errs <- err
					return
				}
				got, err := r.ReadString('\n')
				if err != nil || got != line {
					errs <- fmt.Errorf("client %d: got %q, %v; want %q", i, got, err, line)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// lines is a handler that answers each complete line, upper-cased, and
// takes one line per OnData call (the loop calls again for the rest).
func lines(calls *int) *funcs {
	return &funcs{data: func(c *Conn, in []byte) int {
		*calls++
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			return 0 // half a line: keep it
		}
		c.Write(bytes.ToUpper(in[:i+1]))
		return i + 1
	}}
}

func TestPartialMessagesAreKept(t *testing.T) {
	calls := 0
	l, addr := start(t, lines(&calls), Options{})
	c := dial(t, addr)
	for _, part := range []string{"he", "llo\nwor", "ld\nand\nmore\n"} {
		io.WriteString(c, part)
		time.Sleep(50 * time.Millisecond) // let each part arrive on its own
	}
	want := "HELLO\nWORLD\nAND\nMORE\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	onLoop(l, func() {
		for _, conn := range l.conns {
			if conn != nil && !conn.listener && conn.in != nil {
				t.Errorf("fd %d still holds an input buffer (%q) with no partial message", conn.fd, conn.in)
			}
		}
	})
}

func TestInputLimit(t *testing.T) {
	closed := make(chan error, 1)
	calls := 0
	h := lines(&calls)
	h.close = func(c *Conn, err error) { closed <- err }
	_, addr := start(t, h, Options{MaxInput: 100})
	c := dial(t, addr)
	c.Write(bytes.Repeat([]byte("x"), 500)) // no newline: never a whole message
	select {
	case err := <-closed:
		if err != ErrInputFull {
			t.Fatalf("OnClose got %v, want ErrInputFull", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed past MaxInput")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client can still read from a connection the server closed")
	}
}

func TestWriteRefusedPastMaxOutput(t *testing.T) {
	got := make(chan []error, 1)
	h := &funcs{open: func(c *Conn) {
		big := make([]byte, 3000)
		got <- []error{c.Write(big), c.Write(big), c.Write(big[:1000])}
	}}
	_, addr := start(t, h, Options{MaxOutput: 4000})
	dial(t, addr)
	errs := <-got
	if errs[0] != nil || errs[1] != ErrOutputFull || errs[2] != nil {
		t.Fatalf("Write results %v; want nil, ErrOutputFull, nil", errs)
	}
}

// A client that sends and never reads: the server stops reading from it
// once its queue reaches half of MaxOutput; the queue never passes
// MaxOutput; other clients are served meanwhile; and once the client
// reads, everything arrives, in order.
func TestSlowReaderIsBounded(t *testing.T) {
	const maxOutput = 256 << 10
	var mu sync.Mutex
	worst := 0
	h := &funcs{data: func(c *Conn, in []byte) int {
		if err := c.Write(bytes.Clone(in)); err != nil {
			t.Errorf("echo Write: %v", err)
		}
		mu.Lock()
		worst = max(worst, c.OutputLen())
		mu.Unlock()
		return len(in)
	}}
	_, addr := start(t, h, Options{MaxOutput: maxOutput, ReadSize: 16 << 10})
	slow := dial(t, addr)
	const total = 32 << 20
	pattern := make([]byte, total)
	for i := range pattern {
		pattern[i] = byte(i % 251)
	}
	var sent atomic.Int64
	writeDone := make(chan error, 1)
	go func() {
		for off := 0; off < total; off += 64 << 10 {
			n, err := slow.Write(pattern[off : off+64<<10])
			sent.Add(int64(n))
			if err != nil {
				writeDone <- err
				return
			}
		}
		writeDone <- nil
	}()
	// Wait until the slow client's writes are stuck: nothing moves.
	last := int64(-1)
	for range 100 {
		time.Sleep(100 * time.Millisecond)
		if s := sent.Load(); s == last {
			break
		} else {
			last = s
		}
	}
	if s := sent.Load(); s >= total {
		t.Fatalf("the client sent all %d bytes without reading: the server kept reading", s)
	}
	// Others are still served.
	other := dial(t, addr)
	io.WriteString(other, "still there?\n")
	if line, err := bufio.NewReader(other).ReadString('\n'); err != nil || line != "still there?\n" {
		t.Fatalf("other client got %q, %v", line, err)
	}
	// Now read everything back.
	got := make([]byte, total)
	readErr := make(chan error, 1)
	go func() { _, err := io.ReadFull(slow, got); readErr <- err }()
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pattern) {
		t.Fatal("echoed bytes differ from the bytes sent")
	}
	mu.Lock()
	defer mu.Unlock()
	if worst > maxOutput {
		t.Fatalf("output queue reached %d bytes, past MaxOutput %d", worst, maxOutput)
	}
	t.Logf("largest output queue: %d bytes (MaxOutput %d)", worst, maxOutput)
}

// A peer that resets the connection while the server still has megabytes
// to send costs that connection only.
func TestResetMidWrite(t *testing.T) {
	big := make([]byte, 8<<20)
	closed := make(chan error, 4)
	h := &funcs{
		data: func(c *Conn, in []byte) int {
			if string(in) == "flood\n" {
				c.Write(big)
				return len(in)
			}
			c.Write(bytes.Clone(in))
			return len(in)
		},
		close: func(c *Conn, err error) { closed <- err },
	}
	_, addr := start(t, h, Options{MaxOutput: 16 << 20})
	victim := dial(t, addr)
	io.WriteString(victim, "flood\n")
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(victim, buf); err != nil {
		t.Fatal(err)
	}
	// SO_LINGER with a zero timeout: close sends RST instead of FIN.
	victim.(*net.TCPConn).SetLinger(0)
	victim.Close()
	select {
	case err := <-closed:
		if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
			t.Fatalf("OnClose got %v, want ECONNRESET or EPIPE", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not notice the reset")
	}
	other := dial(t, addr)
	io.WriteString(other, "ok?\n")
	if line, err := bufio.NewReader(other).ReadString('\n'); err != nil || line != "ok?\n" {
		t.Fatalf("after the reset another client got %q, %v", line, err)
	}
}

func TestCloseFlushesFirst(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 200_000) // 2 MB: more than the socket buffers
	closed := make(chan error, 1)
	h := &funcs{
		open: func(c *Conn) {
			c.Write(payload)
			c.Close()
			if err := c.Write([]byte("late")); err != ErrClosed {
				t.Errorf("Write after Close: %v, want ErrClosed", err)
			}
		},
		close: func(c *Conn, err error) { closed <- err },
	}
	_, addr := start(t, h, Options{MaxOutput: 4 << 20})
	c := dial(t, addr)
	time.Sleep(200 * time.Millisecond) // the server fills the buffers and waits for room
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes (%v), want the %d queued before Close", len(got), err, len(payload))
	}
	if err := <-closed; err != ErrClosed {
		t.Fatalf("OnClose got %v, want ErrClosed", err)
	}
}

func TestCloseTimeout(t *testing.T) {
	closed := make(chan error, 1)
	h := &funcs{
		open: func(c *Conn) {
			c.Write(make([]byte, 4<<20))
			c.Close()
		},
		close: func(c *Conn, err error) { closed <- err },
	}
	_, addr := start(t, h, Options{MaxOutput: 8 << 20, CloseTimeout: 300 * time.Millisecond})
	dial(t, addr) // never reads
	select {
	case err := <-closed:
		if err != ErrCloseTimeout {
			t.Fatalf("OnClose got %v, want ErrCloseTimeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited forever for a peer that does not read")
	}
}

// The peer's FIN: whatever is queued is still sent, then OnClose(nil).
// Half a message left at the FIN is reported as io.ErrUnexpectedEOF.
func TestPeerCloses(t *testing.T) {
	closed := make(chan error, 2)
	calls := 0
	h := lines(&calls)
	h.close = func(c *Conn, err error) { closed <- err }
	_, addr := start(t, h, Options{})
	for _, tc := range []struct {
		send string
		want error
	}{{"bye\n", nil}, {"bye\nhalf", io.ErrUnexpectedEOF}} {
		c := dial(t, addr)
		io.WriteString(c, tc.send)
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "BYE\n" {
			t.Errorf("after sending %q and FIN, read %q, %v", tc.send, got, err)
		}
		if err := <-closed; err != tc.want {
			t.Errorf("after %q: OnClose got %v, want %v", tc.send, err, tc.want)
		}
	}
}

func TestMaxConns(t *testing.T) {
	_, addr := start(t, &funcs{}, Options{MaxConns: 2})
	a, b := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{a, b} { // make sure both are accepted first
		io.WriteString(c, "hi\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hi\n" {
			t.Fatalf("got %q, %v", line, err)
		}
	}
	third := dial(t, addr)
	if n, err := third.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("third connection: read %d, %v; want EOF (closed at once)", n, err)
	}
}

func TestPostFromManyGoroutines(t *testing.T) {
	l, _ := start(t, &funcs{}, Options{})
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				l.Post(func() { ran.Add(1) })
			}
		}()
	}
	wg.Wait()
	onLoop(l, func() {})
	if n := ran.Load(); n != 4000 {
		t.Fatalf("%d posted functions ran, want 4000", n)
	}
}

func TestTimers(t *testing.T) {
	l, _ := start(t, &funcs{}, Options{})
	var mu sync.Mutex
	var order []string
	fired := make(chan struct{})
	record := func(s string) func() {
		return func() {
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
		}
	}
	began := time.Now()
	onLoop(l, func() {
		l.AfterFunc(150*time.Millisecond, record("c"))
		l.AfterFunc(50*time.Millisecond, record("a"))
		cancelled := l.AfterFunc(100*time.Millisecond, record("never"))
		l.AfterFunc(100*time.Millisecond, record("b"))
		l.AfterFunc(200*time.Millisecond, func() { close(fired) })
		cancelled.Stop()
	})
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("timers did not fire")
	}
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Fatalf("a 200 ms timer fired after %v", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(order, ","); got != "a,b,c" {
		t.Fatalf("timers ran in order %s, want a,b,c", got)
	}
}

func TestStopClosesEverything(t *testing.T) {
	closed := make(chan error, 1)
	l, err := New(&funcs{close: func(c *Conn, err error) { closed <- err }}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fd, addr := listen(t)
	l.Serve(fd)
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	c := dial(t, addr)
	io.WriteString(c, "x")
	c.Read(make([]byte, 1))
	l.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-closed; err != ErrStopped {
		t.Fatalf("OnClose got %v, want ErrStopped", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read %v after Stop, want EOF", err)
	}
	l.Post(func() { t.Error("posted function ran after Run returned") })
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the listening socket is still open after Run returned")
	}
}

// traced turns the trace on into a buffer for one test. Call it before
// starting the loop (the setting is a plain variable, read on every call).
func traced(t *testing.T) *lockedBuffer {
	t.Helper()
	var buf lockedBuffer
	sys.SetOutput(&buf)
	sys.SetTracing(true)
	t.Cleanup(func() {
		sys.SetTracing(false)
		sys.SetOutput(os.Stderr)
	})
	return &buf
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Closing a descriptor and accepting a new connection in the same batch
// of events hands the new connection the old number. An event later in
// that batch was about the old connection and must not touch the new one.
//
// The batch is arranged while the loop is held inside a posted function:
// client B sends "kill" (B is ready), client C connects (the listening
// socket is ready), client A sends a byte (A is ready). epoll reports
// them in that order. B's data makes the handler abort A, freeing its
// number; the accept gives C that number; A's event comes last.
//
// The arrangement depends on timing (the three events must land in one
// batch, in that order), so a run where C did not get A's number is tried
// again, a bounded number of times, and then fails.
func TestFDReuseWithinOneBatch(t *testing.T) {
	const attempts = 5
	for i := 1; i <= attempts; i++ {
		lined := false
		t.Run(fmt.Sprintf("attempt %d", i), func(t *testing.T) { lined = fdReuseInOneBatch(t) })
		if lined || t.Failed() {
			return
		}
	}
	t.Fatalf("in %d attempts the batch never lined up (C never got A's old descriptor number): the test could not check anything", attempts)
}

// fdReuseInOneBatch is one attempt of TestFDReuseWithinOneBatch. It
// reports whether the batch lined up, so that the checks could be made.
func fdReuseInOneBatch(t *testing.T) (lined bool) {
	var mu sync.Mutex
	conns := map[string]*Conn{}
	names := map[*Conn]string{}
	opened := make(chan *Conn, 4)
	h := &funcs{
		open: func(c *Conn) { opened <- c },
		data: func(c *Conn, in []byte) int {
			mu.Lock()
			defer mu.Unlock()
			if string(in) == "kill" {
				conns["A"].Abort()
			} else {
				t.Errorf("OnData(%s, %q): the stale event reached a connection", names[c], in)
			}
			return len(in)
		},
	}
	buf := traced(t) // before the loop starts: the setting is not for changing under it
	l, addr := start(t, h, Options{})
	a := dial(t, addr)
	ca := <-opened
	b := dial(t, addr)
	cb := <-opened
	mu.Lock()
	conns["A"], conns["B"], names[ca], names[cb] = ca, cb, "A", "B"
	mu.Unlock()

	hold, release := make(chan struct{}), make(chan struct{})
	l.Post(func() { close(hold); <-release })
	<-hold
	io.WriteString(b, "kill")
	time.Sleep(50 * time.Millisecond)
	dial(t, addr) // C: the kernel completes the handshake without the loop
	time.Sleep(50 * time.Millisecond)
	io.WriteString(a, "x")
	time.Sleep(50 * time.Millisecond)
	close(release)
	cc := <-opened
	onLoop(l, func() {})
	if cc.FD() != ca.FD() {
		t.Logf("C got fd %d, not A's old %d; the batch did not line up: trying again", cc.FD(), ca.FD())
		return false
	}
	trace := buf.String()
	if want := fmt.Sprintf("read(%d, ", cc.FD()); strings.Contains(trace, want) {
		t.Fatalf("the stale event for the old fd %d made the loop read from the new connection:\n%s", cc.FD(), trace)
	}
	if !strings.Contains(trace, fmt.Sprintf("close(%d) = 0", ca.FD())) {
		t.Fatalf("A was not closed:\n%s", trace)
	}
	return true
}

// A signal that interrupts epoll_wait shows as EINTR in the trace, and
// the loop waits again.
func TestEINTRIsRetriedVisibly(t *testing.T) {
	buf := traced(t)
	l, addr := start(t, &funcs{}, Options{})
	var tid int
	onLoop(l, func() {
		runtime.LockOSThread() // keep the loop on this thread, so the signal finds it in epoll_wait
		tid = unix.Gettid()
	})
	notify := make(chan os.Signal, 1)
	signalNotify(notify)
	defer signalStop(notify)
	for range 50 {
		unix.Tgkill(os.Getpid(), tid, unix.SIGUSR1)
		time.Sleep(20 * time.Millisecond)
		if strings.Contains(buf.String(), "EINTR") {
			break
		}
	}
	c := dial(t, addr)
	io.WriteString(c, "after\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "after\n" {
		t.Fatalf("after the signal: %q, %v", line, err)
	}
	trace := buf.String()
	if !strings.Contains(trace, "= -1 EINTR (Interrupted system call)\n# interrupted by a signal") {
		t.Fatalf("no visible EINTR retry in the trace:\n%s", trace)
	}
}

// With tracing off, a round trip through the loop allocates nothing on
// the server side when the handler does not (the events, the read buffer
// and the write list are all reused).
func TestNoAllocationsPerMessage(t *testing.T) {
	reply := []byte("pong\n")
	h := &funcs{data: func(c *Conn, in []byte) int {
		c.Write(reply)
		return len(in)
	}}
	_, addr := start(t, h, Options{})
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	_, sa, _ := sys.ParseAddr(addr)
	if err := unix.Connect(fd, sa); err != nil {
		t.Fatal(err)
	}
	ping, got := []byte("ping\n"), make([]byte, 16)
	roundTrip := func() {
		unix.Write(fd, ping)
		unix.Read(fd, got)
	}
	for range 100 {
		roundTrip() // warm up: grow every reused slice to its size
	}
	allocs := testing.AllocsPerRun(1000, roundTrip)
	if allocs > 0.1 {
		t.Fatalf("%.2f allocations per round trip, want none", allocs)
	}
}

// Many Writes in one turn leave in one writev, in order; a queue longer
// than the kernel takes at once is sent over several turns, in order.
func TestWritevKeepsOrder(t *testing.T) {
	var frames [][]byte
	var want bytes.Buffer
	for i := range 3000 {
		f := []byte(fmt.Sprintf("frame %d %s\n", i, strings.Repeat("z", i%700)))
		frames = append(frames, f)
		want.Write(f)
	}
	buf := traced(t)
	h := &funcs{data: func(c *Conn, in []byte) int {
		for _, f := range frames {
			if err := c.Write(f); err != nil {
				t.Errorf("Write: %v", err)
			}
		}
		return len(in)
	}}
	_, addr := start(t, h, Options{MaxOutput: 8 << 20})
	c := dial(t, addr)
	io.WriteString(c, "go\n")
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the frames arrived changed or out of order")
	}
	trace := buf.String()
	if !strings.Contains(trace, `writev(`) || !strings.Contains(trace, `{iov_base="frame 0 \n", iov_len=9}, {iov_base="frame 1 z\n", iov_len=10}`) {
		t.Fatalf("no writev with the frames in the trace:\n%.2000s", trace)
	}
	if !strings.Contains(trace, ", ...], 1024) = ") {
		t.Errorf("the first writev did not carry IOVMax (1024) buffers:\n%.2000s", trace)
	}
}

// advance drops what the kernel took, across buffer boundaries.
func TestAdvance(t *testing.T) {
	c := &Conn{}
	for _, s := range []string{"abc", "de", "fghi"} {
		c.out = append(c.out, []byte(s))
		c.outLen += len(s)
	}
	check := func(n int, want string) {
		t.Helper()
		c.advance(n)
		var got []byte
		for _, b := range c.out {
			got = append(got, b...)
		}
		if string(got) != want || c.outLen != len(want) {
			t.Fatalf("after advance(%d): %q (outLen %d), want %q", n, got, c.outLen, want)
		}
	}
	check(0, "abcdefghi")
	check(2, "cdefghi")
	check(1, "defghi")
	check(3, "ghi")
	check(3, "")
	if len(c.out) != 0 {
		t.Fatalf("%d buffers left in an empty queue", len(c.out))
	}
}

// BenchmarkEchoRoundTrip: one client, one small message and its answer,
// through the loop with the trace off.
func BenchmarkEchoRoundTrip(b *testing.B) {
	reply := []byte("pong\n")
	l, err := New(&funcs{data: func(c *Conn, in []byte) int { c.Write(reply); return len(in) }}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		b.Fatal(err)
	}
	unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	unix.Listen(fd, 16)
	sa, _ := unix.Getsockname(fd)
	l.Serve(fd)
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	defer func() { l.Stop(); <-done }()
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, sa); err != nil {
		b.Fatal(err)
	}
	ping, got := []byte("ping\n"), make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		unix.Write(cfd, ping)
		unix.Read(cfd, got)
	}
}
