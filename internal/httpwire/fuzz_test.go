package httpwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParseRequest feeds ParseRequest arbitrary bytes with a small body
// limit. Run it with
//
//	go test ./internal/httpwire -run '^$' -fuzz FuzzParseRequest -fuzztime 60s
//
// The seeds are the files in testdata/fuzz/FuzzParseRequest (which plain
// `go test` also runs). What must hold for every input:
//   - no panic; a refusal is an *Error with a 4xx/5xx status and a one-line
//     reason, and n is 0;
//   - a request never takes more than the buffer, its head never more than
//     MaxHead, its body never more than MaxBody;
//   - "need more" only while the buffer is at most MaxHead bytes or the
//     head is complete and its body is not;
//   - feeding the same bytes one prefix at a time gives "need more" until
//     the first answer, and the answer is the same as for the whole buffer;
//   - what parses, written back with AppendRequest, parses to the same
//     method, target, headers and body.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(upgradeRequest))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxHead: 512, MaxHeaders: 8, MaxBody: 64}
		req, n, err := ParseRequest(data, lim)
		if err != nil {
			checkError(t, data, n, err, false)
			return
		}
		if n == 0 {
			if _, hn, _ := ParseRequestHead(data, lim); hn == 0 && len(data) > lim.MaxHead {
				t.Fatalf("need-more with %d bytes and no head", len(data))
			}
			return
		}
		if n > len(data) || req.HeadLen > lim.MaxHead || len(req.Body) > lim.MaxBody ||
			n != req.HeadLen+len(req.Body) || int64(len(req.Body)) != req.ContentLength {
			t.Fatalf("n=%d head=%d body=%d of %d bytes", n, req.HeadLen, len(req.Body), len(data))
		}
		// Growing one byte at a time reaches the same answer.
		for i := range n {
			if _, m, err := ParseRequest(data[:i], lim); m != 0 || err != nil {
				// A prefix may break a bound the whole does not only if the
				// whole never parsed; it did, so any error here is a bug.
				t.Fatalf("prefix of %d bytes: n=%d err=%v, whole parses", i, m, err)
			}
		}

		var headers []Header
		for _, h := range req.Headers {
			if !strings.EqualFold(h.Name, "Host") && !strings.EqualFold(h.Name, "Content-Length") {
				headers = append(headers, h)
			}
		}
		host, _ := req.Header("Host")
		var body []byte
		if req.ContentLength > 0 {
			body = req.Body
		}
		again := AppendRequest(nil, req.Method, req.Target, host, headers, body)
		if req.Minor == 0 {
			return // rewritten as HTTP/1.1, whose rules differ
		}
		req2, n2, err := ParseRequest(again, Limits{MaxHead: 4 * lim.MaxHead, MaxHeaders: 2 * lim.MaxHeaders, MaxBody: lim.MaxBody})
		if err != nil || n2 != len(again) {
			t.Fatalf("%q rewritten as %q: n=%d err=%v", data[:n], again, n2, err)
		}
		if req2.Method != req.Method || req2.Target != req.Target || !bytes.Equal(req2.Body, req.Body) || req2.KeepAlive != req.KeepAlive {
			t.Fatalf("%q rewritten as %q parses differently", data[:n], again)
		}
	})
}

// FuzzParseResponse does the same for the client's response-head parser.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxHead: 512, MaxHeaders: 8}
		resp, n, err := ParseResponse(data, lim)
		if err != nil {
			checkError(t, data, n, err, true)
			return
		}
		if n == 0 {
			if len(data) > lim.MaxHead {
				t.Fatalf("need-more with %d bytes", len(data))
			}
			return
		}
		if n > len(data) || n > lim.MaxHead || resp.Status < 100 || resp.Status > 999 || len(resp.Headers) > lim.MaxHeaders {
			t.Fatalf("n=%d status=%d headers=%d", n, resp.Status, len(resp.Headers))
		}
		for i := range n {
			if _, m, err := ParseResponse(data[:i], lim); m != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: n=%d err=%v, whole parses", i, m, err)
			}
		}
	})
}

func checkError(t *testing.T, data []byte, n int, err error, response bool) {
	t.Helper()
	var he *Error
	if !errors.As(err, &he) || he.Reason == "" || strings.ContainsAny(he.Reason, "\r\n") || n != 0 {
		t.Fatalf("%q: n=%d err=%#v, want an *Error with a one-line reason", data, n, err)
	}
	if response && he.Status != 502 || !response && (he.Status < 400 || he.Status > 599) {
		t.Fatalf("%q: status %d", data, he.Status)
	}
	// The answer the server would send is itself a well-formed response.
	if !response {
		out := AppendError(nil, he.Status, he.Reason)
		resp, m, err := ParseResponse(out, Limits{})
		if err != nil || m == 0 || resp.Status != he.Status || int(resp.ContentLength) != len(out)-m {
			t.Fatalf("error answer %q does not read back: %v", out, err)
		}
	}
}
