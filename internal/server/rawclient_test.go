package server

// A client that speaks miniio's TCP frames by hand, for the in-process
// tests on the real loop (not package client: the protocol is checked
// as DESIGN.md writes it, not as our client happens to speak it).

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// connectRaw dials, reads OPEN and completes CONNECT.
func connectRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	open := c.read()
	var h struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(open, "0{") || json.Unmarshal([]byte(open[1:]), &h) != nil {
		t.Fatalf("first frame %q, want OPEN", open)
	}
	c.send("40")
	// The socket's id in the answer is not the session id of OPEN.
	if got := c.read(); !strings.HasPrefix(got, `40{"sid":"`) || got == `40{"sid":"`+h.SID+`"}` {
		t.Fatalf("CONNECT answered %q, want 40{\"sid\":…} with an id other than the session id %q", got, h.SID)
	}
	return c
}

func (c *rawClient) send(text string) {
	c.t.Helper()
	b := binary.BigEndian.AppendUint32(nil, uint32(len(text)))
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(append(b, text...)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawClient) read() string {
	c.t.Helper()
	text, err := c.next()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return text
}

func (c *rawClient) next() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return "", err
	}
	text := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.r, text); err != nil {
		return "", err
	}
	return string(text), nil
}

// readEvent skips PINGs (answering them) and returns the next other frame.
func (c *rawClient) readEvent() string {
	c.t.Helper()
	for {
		if text := c.read(); text != "2" {
			return text
		}
		c.send("3")
	}
}

// expectClose reads up to the CLOSE frame, checks its reason starts with
// prefix, and that the server then closes the connection.
func (c *rawClient) expectClose(prefix string) {
	c.t.Helper()
	var last string
	for !strings.HasPrefix(last, "1") {
		text, err := c.next()
		if err != nil {
			c.t.Fatalf("no CLOSE frame (after %q): %v", last, err)
		}
		last = text
	}
	if !strings.HasPrefix(last, `1{"reason":"`+prefix) {
		c.t.Fatalf("CLOSE %q, want a reason starting %q", last, prefix)
	}
	if _, err := c.next(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("after CLOSE: %v, want the connection closed", err)
	}
}
