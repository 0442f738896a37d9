package websocket

import (
	"errors"
	"strings"
	"testing"

	"socklab/internal/httpwire"
)

// RFC 6455 section 1.3's example key and answer.
func TestAcceptKeyRFC(t *testing.T) {
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
}

const goodHandshake = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
	"Host: localhost:3000\r\n" +
	"Connection: keep-alive, Upgrade\r\n" +
	"Upgrade: websocket\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

func parseReq(t *testing.T, head string) *httpwire.Request {
	t.Helper()
	req, n, err := httpwire.ParseRequest([]byte(head), httpwire.Limits{})
	if err != nil || n == 0 {
		t.Fatalf("%q: n=%d err=%v", head, n, err)
	}
	return &req
}

func TestServerHandshake(t *testing.T) {
	key, herr := CheckRequest(parseReq(t, goodHandshake))
	if herr != nil || key != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Fatalf("key %q err %v", key, herr)
	}
	got := string(AppendAccept(nil, key, nil))
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// permessage-deflate was offered and is declined by silence.
	if strings.Contains(got, "Extensions") {
		t.Error("the answer names an extension")
	}
}

func TestServerHandshakeRefusals(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(goodHandshake, old, new, 1) }
	for _, tc := range []struct {
		name, head string
		status     int
		header     string // a header the answer must carry
	}{
		{"POST", replace("GET", "POST"), 405, "Allow"},
		{"HTTP/1.0", replace("HTTP/1.1", "HTTP/1.0"), 400, ""},
		{"no Upgrade", replace("Upgrade: websocket\r\n", ""), 426, "Upgrade"},
		{"Upgrade: h2c", replace("Upgrade: websocket", "Upgrade: h2c"), 426, "Upgrade"},
		{"no upgrade in Connection", replace("keep-alive, Upgrade", "keep-alive"), 400, ""},
		{"version 8", replace("Version: 13", "Version: 8"), 426, "Sec-WebSocket-Version"},
		{"no version", replace("Sec-WebSocket-Version: 13\r\n", ""), 426, "Sec-WebSocket-Version"},
		{"no key", replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), 400, ""},
		{"short key", replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="), 400, ""},
		{"key not base64", replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZ!=="), 400, ""},
		{"two keys", replace("\r\n\r\n", "\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n"), 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, herr := CheckRequest(parseReq(t, tc.head))
			if herr == nil || herr.Status != tc.status || herr.Reason == "" {
				t.Fatalf("err %v, want status %d", herr, tc.status)
			}
			out := herr.Append(nil)
			resp, _, err := httpwire.ParseResponse(out, httpwire.Limits{})
			if err != nil || resp.Status != tc.status || !resp.HasToken("Connection", "close") {
				t.Fatalf("answer %q: %v", out, err)
			}
			if _, ok := resp.Header(tc.header); tc.header != "" && !ok {
				t.Errorf("answer %q lacks %s", out, tc.header)
			}
		})
	}
}

// The client side against our own server side, and each way a 101 can be
// wrong.
func TestClientHandshake(t *testing.T) {
	key := NewKey()
	if !validKey(key) || key == NewKey() {
		t.Fatalf("NewKey %q", key)
	}
	req := parseReq(t, string(AppendClientRequest(nil, "localhost:3000", "/socket.io/?EIO=4&transport=websocket", key, nil)))
	gotKey, herr := CheckRequest(req)
	if herr != nil || gotKey != key {
		t.Fatalf("our server refuses our client: %v", herr)
	}
	accept := string(AppendAccept(nil, key, nil))
	check := func(answer string) error {
		resp, n, err := httpwire.ParseResponse([]byte(answer), httpwire.Limits{})
		if err != nil || n == 0 {
			t.Fatalf("%q: n=%d err=%v", answer, n, err)
		}
		return CheckResponse(&resp, key)
	}
	if err := check(accept); err != nil {
		t.Fatal(err)
	}
	for name, answer := range map[string]string{
		"400":           string(httpwire.AppendError(nil, 400, "unknown transport")),
		"wrong accept":  strings.Replace(accept, AcceptKey(key), AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), 1),
		"no upgrade":    strings.Replace(accept, "Upgrade: websocket\r\n", "", 1),
		"no connection": strings.Replace(accept, "Connection: Upgrade\r\n", "", 1),
		"extension":     strings.Replace(accept, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1),
		"subprotocol":   strings.Replace(accept, "\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n", 1),
	} {
		err := check(answer)
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Errorf("%s: err %v, want a *HandshakeError", name, err)
		}
	}
	if err := check(string(httpwire.AppendError(nil, 400, "unknown transport"))); !strings.Contains(err.Error(), "400") {
		t.Errorf("the refusal's status is not in %q", err)
	}
}
