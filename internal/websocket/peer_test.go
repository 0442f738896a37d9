package websocket

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"socklab/internal/httpwire"
	"socklab/internal/proctest"
)

// These tests hold the codec against WebSocket implementations we did not
// write: Node's built-in client (undici) talks to a server made of this
// package, and a Python server written from the RFC talks to a client made
// of it. The Go side uses the standard net package for its one socket; the
// point here is the bytes, not the syscalls.

// conn reads with a bounded deadline and keeps the bytes not yet parsed.
type peerConn struct {
	t    *testing.T
	c    net.Conn
	in   []byte
	read [64 << 10]byte
}

func (p *peerConn) fill() {
	p.t.Helper()
	n, err := p.c.Read(p.read[:])
	if err != nil {
		p.t.Fatalf("read: %v (with %d bytes unparsed: %q)", err, len(p.in), p.in)
	}
	p.in = append(p.in, p.read[:n]...)
}

func (p *peerConn) write(b []byte) {
	p.t.Helper()
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// nextMessage parses frames until the Assembler hands back a message.
// Payloads are copied, since the input buffer moves on.
func (p *peerConn) nextMessage(a *Assembler, isServer bool) Message {
	p.t.Helper()
	for {
		f, n, err := ParseFrame(p.in, isServer, 0)
		if err != nil {
			p.t.Fatalf("peer sent a bad frame: %v", err)
		}
		if n == 0 {
			p.fill()
			continue
		}
		p.t.Logf("← %s", Describe(f))
		msg, ok, err := a.Push(f)
		if err != nil {
			p.t.Fatalf("peer broke the message rules: %v", err)
		}
		if ok {
			msg.Payload = bytes.Clone(msg.Payload)
		}
		p.in = p.in[n:]
		if ok {
			return msg
		}
	}
}

func byteSum(b []byte) int {
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	return sum
}

// Node's WebSocket client against a server made of this package: the
// handshake (Node offers permessage-deflate; we decline by silence), masked
// client frames of all three length sizes unmasked and echoed, a text
// message we send in fragments cut inside a character with a ping between
// them (Node must answer the ping and join the text), and the close
// handshake with Node's code and UTF-8 reason.
func TestNodeClientAgainstOurServer(t *testing.T) {
	node := proctest.NeedTool(t, "node")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	url := "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"
	proc := proctest.Start(t, exec.Command(node, "--experimental-websocket", "testdata/node_client.mjs", url))

	ln.(*net.TCPListener).SetDeadline(time.Now().Add(proctest.Limit))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v\nnode said: %s%s", err, proc.Stdout.String(), proc.Stderr.String())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(proctest.Limit))
	p := &peerConn{t: t, c: c}

	// The handshake.
	var req httpwire.Request
	for {
		var n int
		req, n, err = httpwire.ParseRequest(p.in, httpwire.Limits{})
		if err != nil {
			t.Fatalf("node's request: %v", err)
		}
		if n > 0 {
			p.in = p.in[n:]
			break
		}
		p.fill()
	}
	t.Logf("node's handshake: %s %s %v", req.Method, req.Target, req.Headers)
	key, herr := CheckRequest(&req)
	if herr != nil {
		t.Fatalf("node's handshake refused: %v", herr)
	}
	p.write(AppendAccept(nil, key, nil))

	// Our fragmented text, with a ping in the middle.
	text := []byte("frag: €")
	cut := len(text) - 2
	var out []byte
	out = AppendFrame(out, false, OpText, text[:cut])
	out = AppendFrame(out, true, OpPing, []byte("are you there?"))
	out = AppendFrame(out, true, OpContinuation, text[cut:])
	p.write(out)

	var a Assembler
	var sawPong bool
	for echoed := 0; echoed < 3; {
		msg := p.nextMessage(&a, true)
		switch msg.Opcode {
		case OpPong:
			if string(msg.Payload) != "are you there?" {
				t.Errorf("pong %q", msg.Payload)
			}
			sawPong = true
		case OpText, OpBinary:
			p.write(AppendFrame(nil, true, msg.Opcode, msg.Payload))
			echoed++
		default:
			t.Fatalf("unexpected %s", msg.Opcode)
		}
	}
	// Node closes after the fourth message it gets (ours plus 3 echoes).
	msg := p.nextMessage(&a, true)
	if msg.Opcode == OpPong && !sawPong {
		sawPong = true
		msg = p.nextMessage(&a, true)
	}
	if !sawPong {
		t.Error("node never answered the ping")
	}
	if msg.Opcode != OpClose {
		t.Fatalf("got %s, want close", msg.Opcode)
	}
	code, reason, err := ParseClose(msg.Payload)
	if err != nil || code != 4000 || string(reason) != "bye ✓" {
		t.Fatalf("close %d %q %v", code, reason, err)
	}
	// Answer the close with the same code, then the server closes TCP first,
	// as RFC 6455 7.1.1 asks.
	p.write(AppendCloseFrame(nil, code, string(reason)))
	c.Close()

	if status := proc.ExitCode(t); status != 0 {
		t.Fatalf("node exited %d\n%s%s", status, proc.Stdout.String(), proc.Stderr.String())
	}
	want := []string{
		"open",
		`text "frag: €"`,
		`text "héllo €uro 𝄞"`,
		`text "` + strings.Repeat("a", 300) + `é"`,
		fmt.Sprintf("binary 70000 %d", bigSum()),
		"close 4000 bye ✓ true",
	}
	got := strings.Split(strings.TrimSpace(proc.Stdout.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("node printed:\n%s\nwant:\n%s\nstderr: %s", proc.Stdout.String(), strings.Join(want, "\n"), proc.Stderr.String())
	}
}

// bigSum is the byte sum of node_client.mjs's 70000-byte message.
func bigSum() int {
	sum := 0
	for i := range 70000 {
		sum += i % 251
	}
	return sum
}

// Our client side against a Python server written from the RFC: our
// request and key, its Accept checked by CheckResponse, its fragmented
// text with a ping between the fragments (we answer with a masked pong),
// its 16-bit binary, our masked frames of all three sizes echoed, and the
// close handshake.
func TestOurClientAgainstPythonServer(t *testing.T) {
	python := proctest.NeedTool(t, "python3")
	proc := proctest.Start(t, exec.Command(python, "testdata/peer_server.py"))
	port := proc.WaitMatch(t, &proc.Stdout, regexp.MustCompile(`port (\d+)`))[1]

	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, proctest.Limit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(proctest.Limit))
	p := &peerConn{t: t, c: c}

	key := NewKey()
	p.write(AppendClientRequest(nil, "127.0.0.1:"+port, "/chat", key, nil))
	for {
		resp, n, err := httpwire.ParseResponse(p.in, httpwire.Limits{})
		if err != nil {
			t.Fatalf("python's answer: %v", err)
		}
		if n > 0 {
			if err := CheckResponse(&resp, key); err != nil {
				t.Fatal(err)
			}
			p.in = p.in[n:] // frames may have come in the same read
			break
		}
		p.fill()
	}

	var a Assembler
	var got []string
	for len(got) < 3 {
		msg := p.nextMessage(&a, false)
		switch msg.Opcode {
		case OpPing:
			p.write(AppendMaskedFrame(nil, true, OpPong, NewMaskKey(), msg.Payload))
			got = append(got, "ping "+string(msg.Payload))
		case OpText:
			got = append(got, "text "+string(msg.Payload))
		case OpBinary:
			got = append(got, fmt.Sprintf("binary %d %d", len(msg.Payload), byteSum(msg.Payload)))
		default:
			t.Fatalf("unexpected %s", msg.Opcode)
		}
	}
	want300 := 0
	for i := range 300 {
		want300 += i % 256
	}
	if w := []string{"ping are you there?", "text frag: €", fmt.Sprintf("binary 300 %d", want300)}; strings.Join(got, "|") != strings.Join(w, "|") {
		t.Fatalf("got %q, want %q", got, w)
	}

	// Our masked frames, one of each length size, come back unchanged.
	payloads := [][]byte{[]byte("héllo"), bytes.Repeat([]byte("€"), 100), bytes.Repeat([]byte{7}, 70000)}
	for i, payload := range payloads {
		op := OpText
		if i == 2 {
			op = OpBinary
		}
		p.write(AppendMaskedFrame(nil, true, op, NewMaskKey(), payload))
		msg := p.nextMessage(&a, false)
		if msg.Opcode != op || !bytes.Equal(msg.Payload, payload) || (op == OpText && !utf8.Valid(msg.Payload)) {
			t.Fatalf("echo %d: %s of %d bytes", i, msg.Opcode, len(msg.Payload))
		}
	}

	p.write(AppendMaskedCloseFrame(nil, NewMaskKey(), CloseNormal, "done"))
	msg := p.nextMessage(&a, false)
	if code, _, err := ParseClose(msg.Payload); msg.Opcode != OpClose || code != CloseNormal || err != nil {
		t.Fatalf("close answer %s %d %v", msg.Opcode, code, err)
	}
	// The server closes the TCP connection first.
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the close handshake: %v, want EOF", err)
	}
	if status := proc.ExitCode(t); status != 0 {
		t.Fatalf("python exited %d\n%s%s", status, proc.Stdout.String(), proc.Stderr.String())
	}
	out := proc.Stdout.String()
	for _, line := range []string{"pong are you there?", "echo 1 6", "echo 1 300", "echo 2 70000", "close 1000 done"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("python did not print %q:\n%s", line, out)
		}
	}
}
