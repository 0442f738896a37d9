package transport

import (
	"strings"
	"testing"
	"time"
)

// pollRecorder is the layer above for long-polling: OPEN on Opened, and
// the attachments kept.
type pollRecorder struct {
	recorder
	sessions    []*Conn
	attachments []string
}

func (r *pollRecorder) Opened(c *Conn) {
	r.opened++
	r.sessions = append(r.sessions, c)
	c.Send(NewPacket([]byte(`0{"sid":"` + c.SID() + `"}`)))
}

func (r *pollRecorder) Attachment(c *Conn, data []byte) {
	r.attachments = append(r.attachments, string(data))
}

// answers cuts the HTTP answers out of what a link was sent: their bodies.
func answers(t *testing.T, out []byte) []string {
	t.Helper()
	var bodies []string
	s := string(out)
	for s != "" {
		head, rest, ok := strings.Cut(s, "\r\n\r\n")
		if !ok {
			t.Fatalf("half an answer: %q", s)
		}
		n := 0
		for _, line := range strings.Split(head, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				for _, d := range v {
					n = n*10 + int(d-'0')
				}
			}
		}
		bodies = append(bodies, rest[:n])
		s = rest[n:]
	}
	return bodies
}

// One session, its requests on one keep-alive connection, fed in pieces
// of every size: OPEN, a POST with a text and a binary packet, a GET that
// waits until the layer above sends (a text and a binary packet), and the
// session's end when no GET comes.
func TestPollingSessionAnyPieces(t *testing.T) {
	for _, piece := range []int{1, 2, 7, 1000} {
		r := &pollRecorder{}
		tr := New(r, Options{})
		loop := &fakeLoop{}
		tr.Attach(loop)
		tr.SetHTTP(HTTPOptions{SessionTimeout: 3 * time.Second})
		link := &fakeLink{}
		c := tr.OpenWebSocket(link, 7, "127.0.0.1:5000")

		feed(tr, c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n", piece)
		if len(r.sessions) != 1 {
			t.Fatalf("piece %d: %d sessions opened", piece, len(r.sessions))
		}
		sess := r.sessions[0]
		sid := sess.SID()
		if len(sid) != 20 || !sess.Polling() {
			t.Fatalf("piece %d: sid %q", piece, sid)
		}
		if got := answers(t, link.out); len(got) != 1 || got[0] != `0{"sid":"`+sid+`"}` {
			t.Fatalf("piece %d: handshake answered %q", piece, got)
		}
		link.out = nil

		body := "40\x1ebAQID"
		feed(tr, c, "POST /socket.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n"+body, piece)
		if got := answers(t, link.out); len(got) != 1 || got[0] != "ok" {
			t.Fatalf("piece %d: POST answered %q", piece, got)
		}
		if len(r.packets) != 1 || r.packets[0] != "40" || len(r.attachments) != 1 || r.attachments[0] != "\x01\x02\x03" {
			t.Fatalf("piece %d: packets %q, attachments %q", piece, r.packets, r.attachments)
		}
		link.out = nil

		feed(tr, c, "GET /socket.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\n\r\n", piece)
		if len(link.out) != 0 {
			t.Fatalf("piece %d: the GET was answered with nothing to send: %q", piece, link.out)
		}
		loop.advance(10 * time.Second) // a waiting GET keeps the session
		if len(r.refused) != 0 {
			t.Fatalf("piece %d: refused while a GET waited: %q", piece, r.refused)
		}
		sess.Send(NewPacket([]byte(`451-["f",{"_placeholder":true,"num":0}]`)))
		if got := answers(t, link.out); len(got) != 1 || got[0] != `451-["f",{"_placeholder":true,"num":0}]` {
			t.Fatalf("piece %d: the GET got %q", piece, got)
		}
		link.out = nil
		sess.pollSendBinary(NewPacket([]byte{1, 2, 3}))
		sess.Send(NewPacket([]byte("2")))
		if sess.OutputLen() != 4 {
			t.Fatalf("piece %d: %d bytes queued, want 4", piece, sess.OutputLen())
		}
		feed(tr, c, "GET /socket.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\n\r\n", piece)
		if got := answers(t, link.out); len(got) != 1 || got[0] != "bAQID\x1e2" {
			t.Fatalf("piece %d: the GET got %q, want the attachment in base64 and PING", piece, got)
		}

		// No GET for the session timeout: refused (the layer above sends
		// CLOSE and closes), and ended when nobody fetches the CLOSE.
		loop.advance(3 * time.Second)
		if len(r.refused) != 1 || !strings.HasPrefix(r.refused[0], "ping timeout: no poll request within 3s") {
			t.Fatalf("piece %d: refused %q", piece, r.refused)
		}
		loop.advance(3 * time.Second)
		for _, f := range loop.posted {
			f()
		}
		if len(r.closed) != 1 || tr.sessions[sid] != nil {
			t.Fatalf("piece %d: closed %q, session still known: %v", piece, r.closed, tr.sessions[sid] != nil)
		}
		// The keep-alive connection stays, for other sessions.
		if c.Closing() || link.closed {
			t.Fatalf("piece %d: the HTTP connection was closed with the session", piece)
		}
	}
}
