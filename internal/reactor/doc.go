// Package reactor is socklab's event loop: one goroutine serving many
// connections, by asking the kernel which sockets are ready (epoll on
// Linux, kqueue on macOS and FreeBSD) and doing only the work that will
// not wait. `tcpserver -mode epoll` and the miniio server run on it.
//
// Every system call it makes goes through the traced layer (internal/sys),
// so with tracing on a learner sees the loop at work:
//
//	epoll_wait(4, [{events=EPOLLIN, data={u32=3, u64=3}}], 128, -1) = 1
//	accept4(3, {sa_family=AF_INET, sin_port=htons(40512), …}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 6
//	epoll_ctl(4, EPOLL_CTL_ADD, 6, {events=EPOLLIN, data={u32=6, u64=6}}) = 0
//	accept4(3, 0xc000012345, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)
//	epoll_wait(4, [{events=EPOLLIN, data={u32=6, u64=6}}], 128, -1) = 1
//	read(6, "hello\n", 4096) = 6
//	write(6, "hello\n", 6) = 6
//
// # The API
//
//	type Handler interface {
//		OnOpen(c *Conn)                 // a connection was accepted (may Write, Close)
//		OnData(c *Conn, in []byte) int  // unconsumed input so far; return how many bytes were used
//		OnClose(c *Conn, err error)     // the connection is gone, and why (nil: the peer closed cleanly)
//	}
//
//	type Options struct{ MaxConns, MaxOutput, MaxInput, ReadSize int; CloseTimeout time.Duration }
//
//	func New(h Handler, o Options) (*Loop, error)               // epoll_create1 + eventfd2 (kqueue on BSD)
//	func (l *Loop) Serve(listenFD int) error                     // make it non-blocking, watch it; the loop owns it
//	func (l *Loop) Run() error                                   // the loop; returns after Stop
//	func (l *Loop) Stop()                                        // any goroutine
//	func (l *Loop) Post(f func())                                // any goroutine: run f on the loop soon
//	func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer   // loop goroutine
//	func (l *Loop) NumConns() int                                // loop goroutine
//	func (t *Timer) Stop()                                       // loop goroutine
//
//	func (c *Conn) Write(p []byte) error  // queue p (kept, not copied); ErrOutputFull past MaxOutput
//	func (c *Conn) Close()                // close once what is queued has been sent (bounded by CloseTimeout)
//	func (c *Conn) Abort()                // close now, dropping what is queued
//	func (c *Conn) PauseReading()         // read nothing more from it until ResumeReading
//	func (c *Conn) ResumeReading()
//	func (c *Conn) FD() int
//	func (c *Conn) Peer() unix.Sockaddr
//	func (c *Conn) OutputLen() int
//	func (c *Conn) Loop() *Loop
//	c.Context any                         // the protocol's own per-connection state
//
// # Rules for the code that uses it
//
// The handler's methods, timers and posted functions all run on the loop's
// goroutine, one at a time, as callbacks do in Node: they must not block
// (no sleeping, no blocking reads), or every connection waits. Everything
// in this package except Post and Stop must be called from that goroutine;
// other goroutines hand work over with Post.
//
// OnData's in is only valid during the call: it may be the loop's shared
// read buffer, which the next read overwrites. Use what you need (copy
// it, parse it) and return how many bytes you used. The bytes you did not
// use (half a message) are kept in the connection's own input buffer and
// come back, with whatever arrives next, in the next OnData. If you used
// some but not all, OnData is called again at once with the rest, so a
// handler may take one message per call.
//
// Write keeps p itself, not a copy, until the kernel has taken it: never
// change the bytes after passing them. In return a broadcast can queue the
// same frame to ten thousand connections without ten thousand copies.
//
// # What a turn of the loop does
//
//  1. epoll_wait (or kevent) for up to 128 events; the timeout is the
//     time until the nearest timer, or no limit when there is none.
//  2. For each event: accept new connections on a listening socket; read
//     once from a readable connection and hand the input to OnData; note
//     that a connection can be written to; run posted functions when the
//     wake-up descriptor (an eventfd) fired.
//  3. Run the timers that are due.
//  4. Flush: for every connection with output queued, one write (one
//     buffer) or writev (several) with everything queued. What the kernel
//     did not take stays queued, and only then is EPOLLOUT switched on for
//     that connection; it is switched off again once the queue is empty.
//
// # The traps, and what this loop does about each
//
//   - EINTR: a signal (Go's scheduler signals its own threads) can end
//     epoll_wait early. The wait is printed, then made again with a timeout
//     worked out afresh.
//   - EAGAIN on a partial write: the kernel's send buffer is full. The rest
//     stays queued; the loop asks for EPOLLOUT and carries on with others.
//   - EPOLLOUT left on: with level-triggered epoll an idle socket is
//     always writable, so epoll_wait would return at once forever (100 %
//     CPU). EPOLLOUT is on only while output is queued.
//   - A closed descriptor's number reused in the same batch of events:
//     closing fd 7 and then accepting a new connection can hand out 7
//     again, and an event later in the same batch for the old 7 would be
//     applied to the new one. Each connection remembers the turn it was
//     accepted in; events for a connection born in this turn are stale.
//   - EMFILE in accept: out of descriptors, the waiting connection stays in
//     the queue, the listening socket stays readable, and a naive loop
//     calls accept again at once, forever. This loop stops watching the
//     listening sockets (epoll_ctl MOD, events=0) and looks again when one
//     of its connections closes, or after a second. The clients wait in
//     the kernel's accept queue meanwhile, as they do for a busy iterative
//     server. (The other classic fix keeps a spare descriptor open on
//     /dev/null, closes it to accept and at once close the newcomer, and
//     opens it again: it tells clients "no" instead of making them wait,
//     but it holds a descriptor for nothing and adds three calls per
//     refused client.)
//   - Unbounded output: a client that never reads would make its queue
//     grow without end. Write refuses past MaxOutput (ErrOutputFull), and
//     the loop stops reading from a connection whose queue is at half of
//     MaxOutput until the queue is empty again: an echo client that sends
//     without reading is slowed down by TCP itself (its send buffer fills
//     and its writes block), and costs the server at most MaxOutput.
//   - A peer that resets mid-write: the write fails with EPIPE or
//     ECONNRESET; that connection is closed (OnClose gets the errno) and
//     the loop goes on. Go's runtime ignores the SIGPIPE that comes with
//     EPIPE on a socket, so it does not kill the process.
//
// Level-triggered, not edge-triggered: epoll reports a socket as long as
// it is ready, not once per change. So the loop can read once per turn
// (fair to the other connections) and trust epoll to report the socket
// again if more is waiting. Edge-triggered epoll (EPOLLET) saves some
// wake-ups but then every read and accept must loop until EAGAIN, or data
// is stranded with no further event.
//
// # Memory
//
// One read buffer (ReadSize) is shared by all connections. A connection
// owns an input buffer only while half a message is waiting, and an
// output queue only while output is waiting; an idle connection is a
// small struct (about 200 bytes) plus its slot in a table indexed by
// descriptor. The kernel's socket buffers are kernel memory, not counted
// in the process's RSS.
package reactor
