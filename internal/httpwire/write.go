package httpwire

import "strconv"

// AppendResponse writes a status line, the headers, a Content-Length and
// the body at the end of dst. Content-Length is written for you (leave it
// out of headers), except for 1xx and 204 answers, which have no body by
// definition.
//
// A CR or LF inside a header name or value is written as a space: a value
// taken from a request must never be able to end its line and start a new
// header of its own ("response splitting").
func AppendResponse(dst []byte, status int, headers []Header, body []byte) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	dst = append(dst, "\r\n"...)
	dst = appendHeaders(dst, headers)
	if status >= 200 && status != 204 {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// AppendError writes the answer to a refused request: the status, a
// plain-text body of one line (the reason), and Connection: close, because
// after a malformed request there is no telling where the next one starts.
func AppendError(dst []byte, status int, reason string) []byte {
	return (&Error{Status: status, Reason: reason}).Append(dst)
}

// Append writes e as AppendError does, with e.Headers added.
func (e *Error) Append(dst []byte) []byte {
	var headers [8]Header // on the stack for the usual few
	h := append(headers[:0], Header{"Content-Type", "text/plain; charset=utf-8"}, Header{"Connection", "close"})
	h = append(h, e.Headers...)
	body := make([]byte, 0, len(e.Reason)+1)
	body = append(append(body, e.Reason...), '\n')
	return AppendResponse(dst, e.Status, h, body)
}

// AppendRequest writes a request line, Host, the headers and, when body is
// not nil, Content-Length and the body. target is the path and query
// ("/socket.io/?EIO=4&transport=websocket"); host is "localhost:3000".
func AppendRequest(dst []byte, method, target, host string, headers []Header, body []byte) []byte {
	dst = appendClean(dst, method)
	dst = append(dst, ' ')
	dst = appendClean(dst, target)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = appendClean(dst, host)
	dst = append(dst, "\r\n"...)
	dst = appendHeaders(dst, headers)
	if body != nil {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

func appendHeaders(dst []byte, headers []Header) []byte {
	for _, h := range headers {
		dst = appendClean(dst, h.Name)
		dst = append(dst, ": "...)
		dst = appendClean(dst, h.Value)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// appendClean appends s with CR and LF turned into spaces.
func appendClean(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// StatusText is the reason phrase for the statuses this codec and a
// WebSocket server use; "Status" for any other.
func StatusText(status int) string {
	switch status {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status"
}
