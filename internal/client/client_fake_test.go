package client

// A fake miniio server for the client's tests, written with nothing but a
// TCP listener and bytes typed out by hand. It does not use package wire
// or the real server, so these tests pin the protocol as DESIGN.md states
// it, not as our own encoder happens to write it: if either side drifts,
// they fail.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// ioTimeout bounds every wait in these tests.
const ioTimeout = 5 * time.Second

type fakeIO struct {
	t     *testing.T
	ln    net.Listener
	conns chan net.Conn
	// The timers announced in OPEN, in milliseconds.
	pingInterval, pingTimeout, maxPayload int
}

// startFakeIO listens on a free loopback port. Connections queue up in the
// kernel until a test accepts them with accept or handshake.
func startFakeIO(t *testing.T) *fakeIO {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeIO{t: t, ln: ln, conns: make(chan net.Conn, 16),
		pingInterval: 25000, pingTimeout: 20000, maxPayload: 1048576}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(fs.conns)
				return
			}
			fs.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range fs.conns {
			c.Close()
		}
	})
	return fs
}

func (fs *fakeIO) addr() string { return fs.ln.Addr().String() }

// accept takes the next TCP connection, without saying anything yet.
func (fs *fakeIO) accept() *fakeIOConn {
	fs.t.Helper()
	select {
	case c, ok := <-fs.conns:
		if !ok {
			fs.t.Fatal("listener closed")
		}
		fc := &fakeIOConn{t: fs.t, c: c, r: bufio.NewReader(c)}
		fs.t.Cleanup(func() { c.Close() })
		return fc
	case <-time.After(ioTimeout):
		fs.t.Fatal("no client connected within", ioTimeout)
	}
	return nil
}

// noConnection checks that no client connects within d.
func (fs *fakeIO) noConnection(d time.Duration) {
	fs.t.Helper()
	select {
	case c := <-fs.conns:
		c.Close()
		fs.t.Fatal("the client connected again, but it should not have")
	case <-time.After(d):
	}
}

// handshake accepts a connection and runs the server's half of the
// session start: OPEN, read CONNECT (which must be want), answer it.
func (fs *fakeIO) handshake(sid, want string) *fakeIOConn {
	fs.t.Helper()
	fc := fs.accept()
	fc.send(fmt.Sprintf(`0{"sid":"%s","pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}`,
		sid, fs.pingInterval, fs.pingTimeout, fs.maxPayload))
	fc.expect(want)
	fc.send(`40{"sid":"` + sid + `"}`)
	return fc
}

type fakeIOConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// frame is the wire format, written out: 4 bytes of big-endian length,
// then the packet text.
func ioFrame(text string) []byte {
	b := make([]byte, 4, 4+len(text))
	binary.BigEndian.PutUint32(b, uint32(len(text)))
	return append(b, text...)
}

func (fc *fakeIOConn) send(text string) {
	fc.t.Helper()
	fc.sendRaw(ioFrame(text))
}

func (fc *fakeIOConn) sendRaw(b []byte) {
	fc.t.Helper()
	if _, err := fc.c.Write(b); err != nil {
		fc.t.Fatalf("fake server: write: %v", err)
	}
}

// recv reads one frame and returns its text, or the error (io.EOF when
// the client closed).
func (fc *fakeIOConn) recv() (string, error) {
	fc.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var head [4]byte
	if _, err := io.ReadFull(fc.r, head[:]); err != nil {
		return "", err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > 1<<20 {
		return "", fmt.Errorf("bad frame length %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(fc.r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// expect reads the next frame and checks its text.
func (fc *fakeIOConn) expect(want string) {
	fc.t.Helper()
	got, err := fc.recv()
	if err != nil {
		fc.t.Fatalf("fake server: waiting for %s: %v", want, err)
	}
	if got != want {
		fc.t.Fatalf("fake server got %s, want %s", got, want)
	}
}

// expectEOF checks that the client closes its side next.
func (fc *fakeIOConn) expectEOF() {
	fc.t.Helper()
	got, err := fc.recv()
	if err != io.EOF {
		fc.t.Fatalf("fake server: want EOF, got %q, %v", got, err)
	}
}

// recvEvent skips PONGs, which the client may send at any time.
func (fc *fakeIOConn) recvEvent() string {
	fc.t.Helper()
	for {
		got, err := fc.recv()
		if err != nil {
			fc.t.Fatalf("fake server: %v", err)
		}
		if got != "3" {
			return got
		}
	}
}

// ackID pulls the id out of `42<id>[…]`.
func ioAckID(t *testing.T, text string) string {
	t.Helper()
	if !strings.HasPrefix(text, "42") {
		t.Fatalf("not an event: %s", text)
	}
	i := strings.IndexByte(text, '[')
	if i <= 2 {
		t.Fatalf("event without ack id: %s", text)
	}
	return text[2:i]
}
