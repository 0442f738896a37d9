package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
	"socklab/internal/wire"
)

// conn is one miniio client connection on a blocking socket: every read
// waits in the kernel until bytes arrive, or until the socket's receive
// timeout (SO_RCVTIMEO) says the server has gone quiet.
type conn struct {
	fd  int
	max int // the server's maxPayload, from its OPEN packet

	in   []byte // bytes read but not yet handed out as packets
	r, w int    // in[r:w] is what is still unread
	out  []byte // scratch space for building outgoing frames

	packet wire.Packet // the last packet next() parsed
	acks   int         // the ack id of the next emit that wants one
	env    envelope    // miniio's TCP frames or WebSocket messages
}

// errQuiet is the error a read gets when the receive timeout runs out.
var errQuiet = errors.New("the server sent nothing")

// Input buffer sizes: a busy connection reads big gulps; the thousands of
// connections of bcast and idle start small and grow only if they must.
const (
	bigBuffer   = 64 << 10
	smallBuffer = 256
)

// dial makes a TCP connection to the server with Nagle's algorithm off;
// over WebSocket it upgrades the connection first (wsUpgrade). Then it
// reads the server's OPEN, joins namespace "/" and waits for the yes.
func dial(t target, timeout time.Duration, bufSize int) (*conn, error) {
	fd, err := connectTCP(t.addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &conn{fd: fd, max: wire.DefaultMaxPayload, in: make([]byte, bufSize), env: tcpEnvelope{}}
	if t.ws {
		c.env = newWSEnvelope()
		err = c.wsUpgrade(t)
	}
	if err == nil {
		err = c.handshake()
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// connectTCP: socket(2), TCP_NODELAY, connect(2), then the timeouts.
func connectTCP(addr string, timeout time.Duration) (int, error) {
	domain, sa, err := sys.ParseAddr(addr)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %s", sys.Describe(err))
	}
	unix.CloseOnExec(fd)
	// TCP_NODELAY: every small frame leaves at once instead of waiting to
	// be merged with the next; a round trip measured with Nagle on would
	// measure Nagle. The batching we want (tput) we do ourselves.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("setsockopt TCP_NODELAY: %s", sys.Describe(err))
	}
	if err := connectBlocking(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect to %s: %s", addr, sys.Describe(err))
	}
	// Set the timeouts only now: with SO_SNDTIMEO set, a signal would cut
	// connect short instead of letting the kernel restart it.
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt timeout: %s", sys.Describe(err))
		}
	}
	return fd, nil
}

// connectBlocking is connect(2) on a blocking socket. If a signal
// interrupts it (EINTR), the handshake goes on in the kernel anyway; we
// wait until the socket is writable and read the outcome from SO_ERROR.
func connectBlocking(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if err != unix.EINTR {
		return err
	}
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

// handshake: OPEN from the server, CONNECT from us, CONNECT back.
func (c *conn) handshake() error {
	p, err := c.next()
	if err != nil {
		return fmt.Errorf("waiting for OPEN: %w", err)
	}
	if p.Engine != wire.Open {
		return fmt.Errorf("expected OPEN first, got %s", p)
	}
	c.max = p.Handshake.MaxPayload

	out, mark := c.env.begin(c.out[:0])
	out, _ = wire.AppendConnect(out, nil)
	c.out = c.env.end(out, mark)
	if err := c.write(c.out); err != nil {
		return fmt.Errorf("sending CONNECT: %w", err)
	}

	p, err = c.next()
	switch {
	case err != nil:
		return fmt.Errorf("waiting for CONNECT: %w", err)
	case p.Engine == wire.Message && p.Socket == wire.ConnectError:
		return fmt.Errorf("server refused the connection: %s", p.Reason)
	case p.Engine != wire.Message || p.Socket != wire.Connect:
		return fmt.Errorf("expected CONNECT, got %s", p)
	}
	return nil
}

// write sends all of p; write(2) on a blocking socket may still take only
// part of it (a signal, a full buffer), so loop.
func (c *conn) write(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(c.fd, p)
		switch {
		case err == unix.EINTR:
			continue // a signal came first: write again
		case err == unix.EAGAIN:
			return errors.New("the server stopped reading (send timeout)")
		case err != nil:
			return fmt.Errorf("write: %s", sys.Describe(err))
		}
		p = p[n:]
	}
	return nil
}

// frame returns the next frame's packet text, reading more when a whole
// frame is not buffered yet. The text is valid until the next call. A
// WebSocket ping on the way is answered here.
func (c *conn) frame() ([]byte, error) {
	for {
		text, reply, n, err := c.env.split(c.in[c.r:c.w], c.max)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			c.r += n
			if text == nil {
				if err := c.write(reply); err != nil {
					return nil, err
				}
				continue
			}
			return text, nil
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads once more into the input buffer, first sliding the partial
// frame to the front and growing the buffer if one frame would not fit.
func (c *conn) fill() error {
	if c.r > 0 {
		c.w = copy(c.in, c.in[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.in) {
		c.in = append(c.in, make([]byte, len(c.in))...)
	}
	for {
		n, err := unix.Read(c.fd, c.in[c.w:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return errQuiet
		case err != nil:
			return fmt.Errorf("read: %s", sys.Describe(err))
		case n == 0:
			return errors.New("the server closed the connection")
		}
		c.w += n
		return nil
	}
}

// next reads and parses the next packet, answering PINGs on the way (a
// client that stays silent past pingTimeout is dropped by the server).
// A CLOSE or DISCONNECT from the server is an error: the run is over.
func (c *conn) next() (*wire.Packet, error) {
	for {
		text, err := c.frame()
		if err != nil {
			return nil, err
		}
		if err := c.packet.Parse(text); err != nil {
			return nil, fmt.Errorf("the server sent a bad packet %q: %v", clip(text), err)
		}
		p := &c.packet
		switch {
		case p.Engine == wire.Ping:
			if err := c.pong(); err != nil {
				return nil, err
			}
			continue
		case p.Engine == wire.Close:
			return nil, fmt.Errorf("the server closed the session: %q", p.Reason)
		case p.Engine == wire.Message && p.Socket == wire.Disconnect:
			return nil, errors.New("the server disconnected this client")
		}
		return p, nil
	}
}

func (c *conn) pong() error { return c.write(c.env.pong()) }

// call emits event with args and an ack id, and returns the ACK's
// arguments. Events that arrive in between are skipped, as a socket.io
// client with no handler for them would.
func (c *conn) call(event string, args ...json.RawMessage) ([]json.RawMessage, error) {
	id := c.acks
	c.acks++
	out, mark := c.env.begin(c.out[:0])
	out, err := wire.AppendEvent(out, id, event, args...)
	if err != nil {
		return nil, err
	}
	c.out = c.env.end(out, mark)
	if err := c.write(c.out); err != nil {
		return nil, err
	}
	for {
		p, err := c.next()
		if err != nil {
			return nil, fmt.Errorf("waiting for the ack of %q: %w", event, err)
		}
		if p.Socket == wire.Ack && p.AckID == id {
			return p.Args, nil
		}
		if p.Socket != wire.Event {
			return nil, fmt.Errorf("waiting for the ack of %q: got %s", event, p)
		}
	}
}

// countDone asks count_done and returns the server's count.
func (c *conn) countDone() (int, error) {
	args, err := c.call("count_done")
	if err != nil {
		return 0, err
	}
	var n int
	if len(args) != 1 || json.Unmarshal(args[0], &n) != nil {
		return 0, fmt.Errorf("count_done: expected one whole number, got %s", bytes.Join(rawBytes(args), []byte(",")))
	}
	return n, nil
}

// memory is the server's answer to `mem`.
type memory struct {
	RSS  int64 `json:"rss"`
	Heap int64 `json:"heap"`
}

func (c *conn) mem() (memory, error) {
	var m memory
	args, err := c.call("mem")
	if err != nil {
		return m, err
	}
	if len(args) != 1 || json.Unmarshal(args[0], &m) != nil || m.RSS <= 0 {
		return m, fmt.Errorf(`mem: expected {"rss":…,"heap":…}, got %s`, bytes.Join(rawBytes(args), []byte(",")))
	}
	return m, nil
}

func rawBytes(args []json.RawMessage) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// clip shortens packet text for an error message.
func clip(text []byte) string {
	if len(text) > 80 {
		return string(text[:80]) + "…"
	}
	return string(text)
}

// closeFD closes a socket we are done with. The error is of no use here:
// the run is over either way.
func closeFD(fd int) { _ = unix.Close(fd) }
