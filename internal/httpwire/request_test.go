package httpwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const upgradeRequest = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
	"Host: localhost:3000\r\n" +
	"Connection: Upgrade\r\n" +
	"Upgrade: websocket\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"\r\n"

func TestParseUpgradeRequest(t *testing.T) {
	req, n, err := ParseRequest([]byte(upgradeRequest+"next"), Limits{})
	if err != nil || n != len(upgradeRequest) {
		t.Fatalf("n=%d err=%v, want n=%d", n, err, len(upgradeRequest))
	}
	if req.Method != "GET" || req.Target != "/socket.io/?EIO=4&transport=websocket" || req.Major != 1 || req.Minor != 1 {
		t.Errorf("request line: %+v", req)
	}
	if req.Path() != "/socket.io/" || req.RawQuery() != "EIO=4&transport=websocket" {
		t.Errorf("path %q query %q", req.Path(), req.RawQuery())
	}
	if v, ok := req.Header("sec-websocket-KEY"); !ok || v != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Errorf("case-insensitive lookup: %q %v", v, ok)
	}
	if !req.HasToken("connection", "upgrade") || req.HasToken("Connection", "close") {
		t.Error("Connection tokens")
	}
	if !req.KeepAlive || req.ContentLength != 0 || req.Body != nil || len(req.Headers) != 5 {
		t.Errorf("keep-alive %v, length %d, body %q, %d headers", req.KeepAlive, req.ContentLength, req.Body, len(req.Headers))
	}
}

// Every prefix of a good request is "need more", never an error.
func TestParseRequestIncomplete(t *testing.T) {
	full := "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	for i := 0; i < len(full); i++ {
		_, n, err := ParseRequest([]byte(full[:i]), Limits{})
		if n != 0 || err != nil {
			t.Fatalf("prefix %q: n=%d err=%v, want need-more", full[:i], n, err)
		}
	}
	req, n, err := ParseRequest([]byte(full), Limits{})
	if err != nil || n != len(full) || string(req.Body) != "hello" || req.ContentLength != 5 {
		t.Fatalf("whole: n=%d err=%v body=%q", n, err, req.Body)
	}
	// The head alone is readable before the body arrives.
	head, hn, err := ParseRequestHead([]byte(full[:len(full)-3]), Limits{})
	if err != nil || hn != len(full)-5 || head.ContentLength != 5 {
		t.Fatalf("head: n=%d err=%v len=%d", hn, err, head.ContentLength)
	}
}

func TestPipelinedRequests(t *testing.T) {
	buf := []byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	var got []string
	for len(buf) > 0 {
		req, n, err := ParseRequest(buf, Limits{})
		if err != nil || n == 0 {
			t.Fatalf("n=%d err=%v", n, err)
		}
		got = append(got, req.Target)
		buf = buf[n:]
	}
	if strings.Join(got, " ") != "/a /b" {
		t.Errorf("got %v", got)
	}
}

func TestKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		head string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\nconnection: Upgrade, CLOSE\r\n\r\n", false},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.2\r\nHost: x\r\n\r\n", true},
	} {
		req, _, err := ParseRequest([]byte(tc.head), Limits{})
		if err != nil || req.KeepAlive != tc.want {
			t.Errorf("%q: keep-alive %v (err %v), want %v", tc.head, req.KeepAlive, err, tc.want)
		}
	}
}

// Bare LF line ends, as plain nc sends them, and empty lines before the
// request line.
func TestLenientLineEnds(t *testing.T) {
	req, n, err := ParseRequest([]byte("\r\n\nGET /x HTTP/1.1\nHost: y\n\n"), Limits{})
	if err != nil || n != 28 || req.Target != "/x" {
		t.Fatalf("n=%d err=%v req=%+v", n, err, req)
	}
	if v, _ := req.Header("Host"); v != "y" {
		t.Errorf("Host %q", v)
	}
}

func TestParseRequestRefusals(t *testing.T) {
	many := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 100) + "\r\n"
	for _, tc := range []struct {
		name, head string
		status     int
	}{
		{"no spaces", "GET\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"relative target", "GET socket.io HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"control in target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad version", "GET / HTTP/1\r\nHost: x\r\n\r\n", 400},
		{"lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
		{"http 2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"http 0.9", "GET / HTTP/0.9\r\n\r\n", 505},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400},
		{"folded header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\x00y\r\n\r\n", 400},
		{"lone CR in value", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400},
		{"two lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"two lengths in one", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400},
		{"negative length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"hex length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 400},
		{"huge length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
		{"gzip coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"body too big", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 413},
		{"101 headers", many, 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := ParseRequest([]byte(tc.head), Limits{})
			var he *Error
			if !errors.As(err, &he) || he.Status != tc.status || he.Reason == "" || strings.Contains(he.Reason, "\n") {
				t.Fatalf("n=%d err=%#v, want an *Error with status %d and a one-line reason", n, err, tc.status)
			}
			if n != 0 {
				t.Errorf("n=%d with an error", n)
			}
		})
	}
}

// The same length twice is one length (RFC 9112 6.3).
func TestRepeatedEqualContentLength(t *testing.T) {
	req, n, err := ParseRequest([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\nhi"), Limits{})
	if err != nil || n == 0 || string(req.Body) != "hi" {
		t.Fatalf("n=%d err=%v body=%q", n, err, req.Body)
	}
}

// 413 is decided from the header, before any of the body is there.
func TestBodyLimitBeforeBody(t *testing.T) {
	_, _, err := ParseRequest([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"), Limits{MaxBody: 10})
	var he *Error
	if !errors.As(err, &he) || he.Status != 413 {
		t.Fatalf("err=%v, want 413", err)
	}
}

// A head that grows past 8 KiB without an empty line is refused as soon as
// the buffer is over the bound, in one long line or in many short ones.
func TestHeaderBomb(t *testing.T) {
	for _, buf := range [][]byte{
		append([]byte("GET /"), bytes.Repeat([]byte("a"), DefaultMaxHead)...),
		append([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Long: "), bytes.Repeat([]byte("a"), DefaultMaxHead)...),
		append([]byte("GET / HTTP/1.1\r\n"), bytes.Repeat([]byte("X: "+strings.Repeat("b", 90)+"\r\n"), 90)...),
	} {
		_, n, err := ParseRequest(buf[:DefaultMaxHead], Limits{})
		if n != 0 || err != nil {
			t.Fatalf("at exactly %d bytes: n=%d err=%v, want need-more", DefaultMaxHead, n, err)
		}
		_, _, err = ParseRequest(buf[:DefaultMaxHead+1], Limits{})
		var he *Error
		if !errors.As(err, &he) || he.Status != 431 {
			t.Fatalf("at %d bytes: err=%v, want 431", DefaultMaxHead+1, err)
		}
	}
	// A whole head that ends past the bound is refused too.
	head := "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("c", DefaultMaxHead) + "\r\n\r\n"
	if _, _, err := ParseRequest([]byte(head), Limits{}); err == nil {
		t.Fatal("a complete 8 KiB+ head was accepted")
	}
	// And one that fits exactly is accepted.
	prefix := "GET / HTTP/1.1\r\nHost: x\r\nX: "
	head = prefix + strings.Repeat("d", DefaultMaxHead-len(prefix)-4) + "\r\n\r\n"
	if _, n, err := ParseRequest([]byte(head), Limits{}); err != nil || n != DefaultMaxHead {
		t.Fatalf("a head of exactly %d bytes: n=%d err=%v", DefaultMaxHead, n, err)
	}
}

// 100 headers are allowed; the 101st is not, even before the head ends.
func TestHeaderCount(t *testing.T) {
	ok := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 99) + "\r\n"
	if req, _, err := ParseRequest([]byte(ok), Limits{}); err != nil || len(req.Headers) != 100 {
		t.Fatalf("100 headers: %d, %v", len(req.Headers), err)
	}
	open := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 100)
	var he *Error
	if _, _, err := ParseRequest([]byte(open), Limits{}); !errors.As(err, &he) || he.Status != 431 {
		t.Fatalf("101 headers, no end yet: %v, want 431", err)
	}
}

func TestParseQuery(t *testing.T) {
	req, _, err := ParseRequest([]byte("GET /socket.io/?EIO=4&transport=websocket&sid=ab%2Dc+d&&flag HTTP/1.1\r\nHost: x\r\n\r\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuery(req.RawQuery())
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"EIO": "4", "transport": "websocket", "sid": "ab-c d", "flag": ""} {
		if v, ok := q.Get(key); !ok || v != want {
			t.Errorf("%s = %q, %v; want %q", key, v, ok, want)
		}
	}
	if _, ok := q.Get("missing"); ok {
		t.Error("missing key found")
	}
	if q, _ := ParseQuery("transport=a&transport=b"); q.Count("transport") != 2 {
		t.Error("Count")
	}
	var he *Error
	if _, err := ParseQuery("sid=%zz"); !errors.As(err, &he) || he.Status != 400 {
		t.Errorf("bad escape: %v", err)
	}
}
