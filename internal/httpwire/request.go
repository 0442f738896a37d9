package httpwire

import "strings"

// Request is a parsed request head, and its body when it had one. The
// strings share one copy of the head, made once per request; Body is a
// slice of the caller's buffer, not a copy, so use it before that buffer
// is reused.
type Request struct {
	Method       string // "GET"
	Target       string // "/socket.io/?EIO=4&transport=websocket", as sent
	Major, Minor int    // 1 and 1 for HTTP/1.1
	Headers      []Header

	// ContentLength is the body's length from its header, 0 when there is
	// none (a request without the header has no body).
	ContentLength int64
	Body          []byte

	// KeepAlive is whether the connection may carry another request after
	// this one: the default for HTTP/1.1 unless the client sent
	// "Connection: close"; for HTTP/1.0 only with "Connection: keep-alive".
	KeepAlive bool

	// HeadLen is how many bytes the head took (the body follows).
	HeadLen int
}

// Header returns the first header called name, ignoring case.
func (r *Request) Header(name string) (string, bool) { return lookup(r.Headers, name) }

// HeaderCount is how many header lines are called name, ignoring case.
func (r *Request) HeaderCount(name string) int { return count(r.Headers, name) }

// HasToken reports whether a header called name lists token (any case) in
// its comma-separated value, as in "Connection: keep-alive, Upgrade".
func (r *Request) HasToken(name, token string) bool { return hasToken(r.Headers, name, token) }

// Path is the target before any "?": "/socket.io/".
func (r *Request) Path() string {
	path, _, _ := strings.Cut(r.Target, "?")
	return path
}

// RawQuery is the target after the "?": "EIO=4&transport=websocket".
func (r *Request) RawQuery() string {
	_, q, _ := strings.Cut(r.Target, "?")
	return q
}

// ParseRequest reads one request from the front of buf.
//
//   - The head, and all Content-Length bytes of the body, are in buf: req is
//     the request and n how many bytes of buf it took. A pipelined next
//     request starts at buf[n:].
//   - Not all of it has arrived yet: n is 0 and err nil. Read more and call
//     again with the longer buffer (the head is at most MaxHead bytes, so
//     reading it again is cheap).
//   - The request is refused: err is an *Error with the status to answer
//     with. Send AppendError's bytes and close.
//
// Every bound is checked as early as the bytes allow: a head past MaxHead
// as soon as the buffer is that long, a body past MaxBody as soon as the
// head is in, before any byte of the body.
func ParseRequest(buf []byte, lim Limits) (req Request, n int, err error) {
	req, n, err = ParseRequestHead(buf, lim)
	if n == 0 || err != nil {
		return req, 0, err
	}
	end := n + int(req.ContentLength)
	if len(buf) < end {
		return Request{}, 0, nil
	}
	if req.ContentLength > 0 {
		req.Body = buf[n:end:end]
	}
	return req, end, nil
}

// ParseRequestHead is ParseRequest without the body: n is the head's
// length, and the caller reads ContentLength more bytes itself. It is for a
// program that wants to act on the head before the body is in, and for
// large bodies: ParseRequest reads the head again (two small allocations)
// on every call until the whole body has arrived, which is nothing for a
// socket.io POST of a few hundred bytes and wasteful for a megabyte that
// trickles in.
func ParseRequestHead(buf []byte, lim Limits) (req Request, n int, err error) {
	lim = lim.withDefaults()
	s, herr := scanHead(buf, lim)
	if herr != nil {
		return Request{}, 0, herr
	}
	if s.end == 0 {
		return Request{}, 0, nil
	}
	req, herr = parseRequestText(string(buf[s.start:s.end]), lim)
	if herr != nil {
		return Request{}, 0, herr
	}
	req.HeadLen = s.end
	return req, s.end, nil
}

func parseRequestText(text string, lim Limits) (Request, *Error) {
	var req Request
	line, rest := nextLine(text)

	// The request line: method SP target SP version, single spaces.
	method, after, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(after, " ")
	if !ok1 || !ok2 {
		return req, errorf(400, "request line is not \"METHOD /target HTTP/1.1\": %.60q", line)
	}
	if !isToken(method) {
		return req, errorf(400, "bad method %.20q", method)
	}
	if err := checkTarget(target); err != nil {
		return req, err
	}
	major, minor, ok := parseVersion(version)
	if !ok {
		return req, errorf(400, "bad HTTP version %.20q", version)
	}
	if major != 1 {
		// A newer minor version (HTTP/1.2) is still spoken as 1.1 (RFC 9110
		// 2.5); a different major version is a different protocol.
		return req, errorf(505, "HTTP/%d.%d is not spoken here, only HTTP/1.1", major, minor)
	}
	req.Method, req.Target, req.Major, req.Minor = method, target, major, minor

	headers, err := parseHeaders(rest, 400)
	if err != nil {
		return req, err
	}
	req.Headers = headers

	// RFC 9112 3.2: an HTTP/1.1 request must have exactly one Host. It is
	// how one server on one address tells apart the sites it serves, and a
	// second, different Host is another way to confuse a proxy.
	switch hosts := count(headers, "Host"); {
	case hosts == 0 && minor >= 1:
		return req, errorf(400, "HTTP/1.1 request without a Host header")
	case hosts > 1:
		return req, errorf(400, "more than one Host header")
	}

	length, err := contentLength(headers, 400)
	if err != nil {
		return req, err
	}
	if te, ok := lookup(headers, "Transfer-Encoding"); ok {
		if length >= 0 {
			return req, errorf(400, "both Content-Length and Transfer-Encoding: refused, a proxy could read either")
		}
		if hasToken(headers, "Transfer-Encoding", "chunked") {
			return req, errorf(411, "chunked request bodies are not accepted; send Content-Length")
		}
		return req, errorf(501, "Transfer-Encoding %.30q is not supported", te)
	}
	if length > int64(lim.MaxBody) {
		return req, errorf(413, "body of %d bytes is over the limit of %d", length, lim.MaxBody)
	}
	if length > 0 {
		req.ContentLength = length
	}

	if minor >= 1 {
		req.KeepAlive = !hasToken(headers, "Connection", "close")
	} else {
		req.KeepAlive = hasToken(headers, "Connection", "keep-alive")
	}
	return req, nil
}

// checkTarget accepts the two target forms a server here meets: a path
// ("/socket.io/?EIO=4") and "*" (OPTIONS *). No spaces or control bytes:
// those mean the request line was cut in the wrong places.
func checkTarget(target string) *Error {
	if target == "" || (target[0] != '/' && target != "*") {
		return errorf(400, "request target must start with \"/\": %.60q", target)
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return errorf(400, "control byte or space in request target")
		}
	}
	return nil
}
