package httpwire

import (
	"strconv"
	"strings"
)

// Response is a parsed response head, for a client: the 101 that opens a
// WebSocket, or the error a server answers with instead.
type Response struct {
	Major, Minor int
	Status       int    // 101
	Reason       string // "Switching Protocols"; only for people to read
	Headers      []Header

	// ContentLength is the body's length, -1 when the response has no
	// Content-Length header (then its body, if any, runs to the close).
	ContentLength int64

	HeadLen int // how many bytes the head took
}

// Header returns the first header called name, ignoring case.
func (r *Response) Header(name string) (string, bool) { return lookup(r.Headers, name) }

// HeaderCount is how many header lines are called name, ignoring case.
func (r *Response) HeaderCount(name string) int { return count(r.Headers, name) }

// HasToken reports whether a header called name lists token (any case).
func (r *Response) HasToken(name, token string) bool { return hasToken(r.Headers, name, token) }

// ParseResponse reads a response head from the front of buf, the same way
// ParseRequestHead reads a request: n == 0 with a nil error means "read
// more". n is the head's length; a body (ContentLength bytes) follows and
// is the caller's to read. Errors are *Error with status 502.
func ParseResponse(buf []byte, lim Limits) (resp Response, n int, err error) {
	lim = lim.withDefaults()
	s, herr := scanHead(buf, lim)
	if herr != nil {
		herr.Status = 502
		return Response{}, 0, herr
	}
	if s.end == 0 {
		return Response{}, 0, nil
	}
	resp, herr = parseResponseText(string(buf[s.start:s.end]))
	if herr != nil {
		return Response{}, 0, herr
	}
	resp.HeadLen = s.end
	return resp, s.end, nil
}

func parseResponseText(text string) (Response, *Error) {
	var resp Response
	line, rest := nextLine(text)

	// The status line: version SP 3-digit code SP reason (maybe empty).
	version, after, ok := strings.Cut(line, " ")
	if !ok {
		return resp, errorf(502, "status line is not \"HTTP/1.1 101 Reason\": %.60q", line)
	}
	major, minor, ok := parseVersion(version)
	if !ok || major != 1 {
		return resp, errorf(502, "bad HTTP version %.20q in the status line", version)
	}
	code, reason, _ := strings.Cut(after, " ")
	if len(code) != 3 || strings.TrimLeft(code, "0123456789") != "" || code[0] == '0' {
		return resp, errorf(502, "bad status code %.20q", code)
	}
	if i := badValueByte(reason); i >= 0 {
		return resp, errorf(502, "control byte in the status line's reason")
	}
	resp.Major, resp.Minor = major, minor
	resp.Status, _ = strconv.Atoi(code)
	resp.Reason = reason

	headers, err := parseHeaders(rest, 502)
	if err != nil {
		return resp, err
	}
	resp.Headers = headers
	if resp.ContentLength, err = contentLength(headers, 502); err != nil {
		return resp, err
	}
	return resp, nil
}
