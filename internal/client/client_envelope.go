package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"socklab/internal/httpwire"
	"socklab/internal/sys"
	"socklab/internal/websocket"
)

// The envelope around each packet: miniio's 4-byte TCP frame, or, for an
// address written ws://host:port, a WebSocket message after an HTTP
// Upgrade, the way socket.io-client talks to a socket.io server. The rest
// of the client reads and writes packet texts (readPacket, writePackets)
// and does not know which.

// wsPath is where socket.io serves Engine.IO v4 over WebSocket.
const wsPath = "/socket.io/?EIO=4&transport=websocket"

// SplitAddr reads a client's address: "127.0.0.1:7070" (TCP frames), or
// "ws://127.0.0.1:3000" with an optional path "/socket.io/" (WebSocket).
func SplitAddr(addr string) (hostPort string, ws bool, err error) {
	rest, ws := strings.CutPrefix(addr, "ws://")
	if !ws {
		if strings.Contains(addr, "://") {
			return "", false, fmt.Errorf("address %q: only ws:// URLs, or HOST:PORT for miniio's TCP frames", addr)
		}
		return addr, false, nil
	}
	hostPort, path, _ := strings.Cut(rest, "/")
	if path != "" && strings.TrimSuffix(path, "/") != "socket.io" {
		return "", false, fmt.Errorf("address %q: the path is /socket.io/, socket.io's", addr)
	}
	return hostPort, true, nil
}

// clientWS is a connection's WebSocket state.
type clientWS struct {
	in  []byte // bytes read and not yet a whole frame
	asm websocket.Assembler
}

// upgrade asks the server to switch the connection to WebSocket:
//
//	write GET /socket.io/?EIO=4&transport=websocket + Upgrade headers
//	read  HTTP/1.1 101 Switching Protocols (Sec-WebSocket-Accept checked)
func (cn *clientConn) upgrade(host string) error {
	key := websocket.NewKey()
	if err := cn.writeAll(websocket.AppendClientRequest(nil, host, wsPath, key, nil)); err != nil {
		return err
	}
	var head []byte
	for {
		n, err := sys.Read(cn.fd, cn.rbuf)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("the server closed the connection before answering the WebSocket request")
		}
		head = append(head, cn.rbuf[:n]...)
		resp, used, err := httpwire.ParseResponse(head, httpwire.Limits{})
		if err != nil {
			return err
		}
		if used == 0 {
			continue
		}
		if err := websocket.CheckResponse(&resp, key); err != nil {
			// A refusal usually says why in its body (socket.io's
			// {"code":…,"message":…}): show what of it came with the head.
			body := head[used:]
			if resp.ContentLength >= 0 && int64(len(body)) > resp.ContentLength {
				body = body[:resp.ContentLength]
			}
			if b := strings.TrimSpace(string(body)); b != "" && len(b) <= 200 {
				return fmt.Errorf("%v: %s", err, b)
			}
			return err
		}
		cn.ws.in = append(cn.ws.in, head[used:]...) // frames that came right behind the 101
		return nil
	}
}

// readPacket returns the next packet's text from the server, reading
// from the socket as often as it takes. The text is valid until the next
// call.
func (cn *clientConn) readPacket() ([]byte, error) {
	if cn.ws == nil {
		for {
			text, ok, err := cn.dec.Next()
			if err != nil {
				return nil, &clientParseError{err}
			}
			if ok {
				return text, nil
			}
			if err := cn.fill(func(b []byte) { cn.dec.Feed(b) }); err != nil {
				return nil, err
			}
		}
	}
	ws := cn.ws
	for {
		f, n, err := websocket.ParseFrame(ws.in, false, cn.dec.MaxPayload)
		if err != nil {
			return nil, &clientParseError{err}
		}
		if n == 0 {
			if err := cn.fill(func(b []byte) { ws.in = append(ws.in, b...) }); err != nil {
				return nil, err
			}
			continue
		}
		msg, ok, err := ws.asm.Push(f)
		if err != nil {
			return nil, &clientParseError{err}
		}
		// The frame's bytes stay in ws.in until the next call: msg points
		// into them.
		payload := msg.Payload
		ws.in = ws.in[n:]
		if !ok {
			continue
		}
		switch msg.Opcode {
		case websocket.OpText:
			return payload, nil
		case websocket.OpBinary:
			return nil, &clientParseError{errors.New("binary message: not supported yet")}
		case websocket.OpPing:
			cn.wmu.Lock()
			err := cn.writeAll(websocket.AppendMaskedFrame(nil, true, websocket.OpPong, websocket.NewMaskKey(), payload))
			cn.wmu.Unlock()
			if err != nil {
				return nil, err
			}
		case websocket.OpClose:
			code, reason, _ := websocket.ParseClose(payload)
			cn.wmu.Lock()
			cn.writeAll(websocket.AppendMaskedCloseFrame(nil, websocket.NewMaskKey(), code, ""))
			cn.wmu.Unlock()
			return nil, &wsClosed{code: code, reason: string(reason)}
		}
	}
}

// fill reads once from the socket and hands the bytes to keep.
func (cn *clientConn) fill(keep func([]byte)) error {
	// read(2): blocks until bytes arrive, the server closes (0), or
	// end() shuts the socket down from another goroutine (also 0).
	n, err := sys.Read(cn.fd, cn.rbuf)
	if err != nil {
		return err
	}
	if n == 0 {
		return io.EOF
	}
	keep(cn.rbuf[:n])
	return nil
}

// wsClosed is the server's close frame: the session is over, for the
// reason it gives.
type wsClosed struct {
	code   uint16
	reason string
}

func (e *wsClosed) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("close %d", e.code)
	}
	return e.reason
}

// writePackets writes packet texts in this connection's envelope, with
// one write(2) when it can. Callers hold Client.mu, or are the only ones
// who know the connection (the handshake).
func (cn *clientConn) writePackets(texts ...[]byte) error {
	out := cn.wbuf[:0]
	for _, text := range texts {
		if cn.ws == nil {
			out = binary.BigEndian.AppendUint32(out, uint32(len(text)))
			out = append(out, text...)
		} else {
			out = websocket.AppendMaskedFrame(out, true, websocket.OpText, websocket.NewMaskKey(), text)
		}
	}
	if cap(out) <= 64<<10 {
		cn.wbuf = out[:0]
	}
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	return cn.writeAll(out)
}
