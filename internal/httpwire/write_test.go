package httpwire

import (
	"errors"
	"testing"
)

func TestAppendResponse(t *testing.T) {
	got := string(AppendResponse([]byte("x"), 200, []Header{{"Content-Type", "text/plain"}}, []byte("ok")))
	want := "xHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = string(AppendResponse(nil, 101, []Header{{"Upgrade", "websocket"}}, nil))
	if want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"; got != want {
		t.Errorf("101: got %q, want %q", got, want)
	}
}

func TestAppendError(t *testing.T) {
	got := string(AppendError(nil, 431, "more than 100 header lines"))
	want := "HTTP/1.1 431 Request Header Fields Too Large\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 27\r\n\r\n" +
		"more than 100 header lines\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// Our own response parser reads it back.
	resp, n, err := ParseResponse([]byte(got), Limits{})
	if err != nil || n != len(got)-27 || resp.Status != 431 || resp.ContentLength != 27 || !resp.HasToken("connection", "close") {
		t.Errorf("read back: %+v n=%d err=%v", resp, n, err)
	}
}

// A value with CR LF in it cannot add a header of its own.
func TestNoResponseSplitting(t *testing.T) {
	out := AppendResponse(nil, 200, []Header{{"X-Echo", "a\r\nSet-Cookie: evil=1"}}, nil)
	resp, _, err := ParseResponse(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Header("Set-Cookie"); ok || len(resp.Headers) != 2 {
		t.Errorf("injected header: %q", out)
	}
}

func TestAppendRequestRoundTrip(t *testing.T) {
	out := AppendRequest(nil, "POST", "/socket.io/?EIO=4&transport=polling", "localhost:3000",
		[]Header{{"Content-Type", "text/plain"}}, []byte("40"))
	req, n, err := ParseRequest(out, Limits{})
	if err != nil || n != len(out) || req.Method != "POST" || string(req.Body) != "40" {
		t.Fatalf("%q: n=%d err=%v req=%+v", out, n, err, req)
	}
	if h, _ := req.Header("host"); h != "localhost:3000" {
		t.Errorf("Host %q", h)
	}
}

func TestParseResponse(t *testing.T) {
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	buf := []byte(head + "\x81\x02hi") // a frame may follow in the same read
	for i := 0; i < len(head); i++ {
		if _, n, err := ParseResponse(buf[:i], Limits{}); n != 0 || err != nil {
			t.Fatalf("prefix %d: n=%d err=%v", i, n, err)
		}
	}
	resp, n, err := ParseResponse(buf, Limits{})
	if err != nil || n != len(head) || resp.Status != 101 || resp.Reason != "Switching Protocols" || resp.ContentLength != -1 {
		t.Fatalf("n=%d err=%v resp=%+v", n, err, resp)
	}
	if v, _ := resp.Header("sec-websocket-accept"); v != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept %q", v)
	}
	// An empty reason phrase is allowed.
	if resp, _, err := ParseResponse([]byte("HTTP/1.1 204 \r\n\r\n"), Limits{}); err != nil || resp.Status != 204 {
		t.Errorf("empty reason: %v", err)
	}
	if resp, _, err := ParseResponse([]byte("HTTP/1.1 204\r\n\r\n"), Limits{}); err != nil || resp.Status != 204 {
		t.Errorf("no reason: %v", err)
	}
}

func TestParseResponseRefusals(t *testing.T) {
	for _, head := range []string{
		"HTTP/1.1\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n\r\n",
	} {
		_, n, err := ParseResponse([]byte(head), Limits{})
		var he *Error
		if !errors.As(err, &he) || he.Status != 502 || n != 0 {
			t.Errorf("%q: n=%d err=%v, want a 502 *Error", head, n, err)
		}
	}
}
