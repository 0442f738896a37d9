// Package httpwire is HTTP/1.1 as bytes: it reads a request head (and a
// Content-Length body) out of a buffer and writes a response into one, and
// does the same the other way round for a client. It opens no socket and
// starts no goroutine; the event loop hands it the bytes it has read so far
// and gets back either a request, "not all there yet", or an error that
// already knows which status to answer with.
//
// # What you already know from the browser
//
// Open the devtools' Network tab, click the socket.io WebSocket request and
// tick "Raw". You see the request head exactly as it went over the socket:
//
//	GET /socket.io/?EIO=4&transport=websocket HTTP/1.1
//	Host: localhost:3000
//	Connection: Upgrade
//	Upgrade: websocket
//	Sec-WebSocket-Version: 13
//	Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//
// On the socket those are plain ASCII lines, each ended by CR LF (the bytes
// 0d 0a), and the head ends with an empty line, so the last bytes of every
// head are 0d 0a 0d 0a:
//
//	47 45 54 20 2f 73 6f 63 6b 65 74 2e 69 6f 2f 3f   GET /socket.io/?
//	…
//	3d 3d 0d 0a 0d 0a                                 ==\r\n\r\n
//
// The first line is the request line (method, target, version, one space
// between each); then one header per line, `Name: value`, where the name is
// case-insensitive (`host` and `Host` are the same header). If the request
// has a body, a Content-Length header says how many bytes follow the empty
// line. That is all of HTTP/1.1 a WebSocket server needs to read.
//
// # Why bounds everywhere
//
// A server reading a head does not know how long it will be until it sees
// the empty line, so a peer that never sends one could make it buffer
// forever. The bounds here are the ones common servers use (nginx and Go's
// net/http are in the same range):
//
//   - request line + headers at most 8 KiB: past that, 431 Request Header
//     Fields Too Large, decided as soon as the buffer holds more than 8 KiB
//     without an empty line, not when the peer finally stops;
//   - at most 100 header lines (431);
//   - a body at most maxPayload bytes (413 Content Too Large), judged from
//     the Content-Length header alone, before one byte of the body is read
//     or any memory reserved for it;
//   - exactly one Content-Length. Two that differ, or one next to a
//     Transfer-Encoding, are refused with 400: when two programs in a chain
//     (a proxy and this server) could each pick a different one, a peer can
//     hide a second request inside the first one's body ("request
//     smuggling"). Refusing is the only answer that cannot be misread.
//
// Chunked request bodies (Transfer-Encoding: chunked, where the body comes
// in pieces each with its own hex length) are refused with 411 Length
// Required. No Engine.IO client sends them (a browser's POST always carries
// a Content-Length), and reading them would turn this small codec into a
// state machine across reads with lengths inside the body; the status says
// plainly what to send instead.
//
// # The API
//
// [ParseRequest] takes the bytes read so far. n == 0 with a nil error
// means "read more and call again with the longer buffer"; an *[Error]
// carries the status and a one-line reason, and [AppendError] turns it into
// the answer (the connection is then closed: after a bad head there is no
// telling where the next request would start). [AppendResponse] writes a
// status line, headers, Content-Length and a body. For a client,
// [AppendRequest] writes a request and [ParseResponse] reads the head of the
// answer (the 101 Switching Protocols that starts a WebSocket).
//
// The parser accepts a bare LF where CR LF belongs, as RFC 9112 section 2.2
// allows, so a learner typing a request into plain `nc` (which sends LF
// only) gets an answer rather than a silent wait.
package httpwire
