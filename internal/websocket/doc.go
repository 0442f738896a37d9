// Package websocket is RFC 6455 as bytes, for both ends: the opening
// handshake (an HTTP request and its 101 answer), the frames that follow it,
// the assembly of fragmented messages, and the close handshake. It opens no
// socket and starts no goroutine; the event loop and the blocking client
// hand it bytes and get bytes back.
//
// # What you already know from the browser
//
// In the devtools' Network tab a socket.io connection shows up as one
// request with status "101 Switching Protocols", and its Messages tab lists
// what went each way:
//
//	↑ 40
//	↓ 40{"sid":"wZX3oN0bSVIhsaknAAAI"}
//	↑ 42["chat","hi"]
//	↓ 2
//	↑ 3
//
// Each line is one WebSocket message. The devtools hide two layers: the
// HTTP request that asked to switch protocols, and the frame around each
// message.
//
// # The handshake
//
// The browser's request is ordinary HTTP (see package httpwire) with four
// headers that matter:
//
//	GET /socket.io/?EIO=4&transport=websocket HTTP/1.1
//	Host: localhost:3000
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Version: 13
//	Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//
// The key is 16 random bytes in base64. The server proves it read the
// request as WebSocket (and is not, say, a cache replaying an old answer) by
// gluing a fixed GUID to the key, hashing with SHA-1 and sending the hash
// back in base64:
//
//	base64(SHA-1("dGhlIHNhbXBsZSBub25jZQ==" + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
//	  = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
//
//	HTTP/1.1 101 Switching Protocols
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//
// After the empty line the same TCP connection carries frames, both ways.
// [CheckRequest] validates the request, [AppendAccept] writes the 101;
// on the client side [NewKey], [AppendClientRequest] and [CheckResponse].
//
// The answer never includes Sec-WebSocket-Extensions. Browsers offer
// permessage-deflate (compression); we decline it by saying nothing, which
// RFC 6455 allows. Compressed frames would hide the payload from the trace
// and the -wire view, which is the point of this toolkit; they would also
// bring zlib state per connection (tens of KiB, the usual price of
// compression) and the known trouble of compressing secrets next to
// attacker-chosen text (CRIME/BREACH). socket.io messages are short; the
// saving is small.
//
// # A frame, byte by byte
//
// The client sends `42["chat","hi"]` (15 bytes) as
//
//	81 8f 37 fa 21 3d 03 c8 7a 1f 54 92 40 49 15 d6 03 55 5e d8 7c
//	│  │  └─ mask key ─┘ └── 15 payload bytes, each XORed with the key ──┘
//	│  └ 1 0001111: MASK = 1, length 15
//	└ 1 000 0001: FIN = 1 (last fragment), RSV = 000, opcode 1 (text)
//
// and the server answers unmasked: 81 0f 34 32 5b 22 … Lengths up to 125 fit
// in the second byte; 126 means "the next 2 bytes are the length", 127 "the
// next 8 bytes are". The length is checked against maxPayload from the
// header alone, before any memory is reserved for the payload, so a 10-byte
// header announcing 2^63 bytes costs nothing ([ParseFrame]).
//
// Why the client masks: a browser lets any web page send bytes to any
// server. Without masking, a page could send bytes that look like an HTTP
// request to a caching proxy in between, and poison its cache. The mask key
// is random per frame and chosen by the browser, not the page, so the page
// cannot choose what the bytes on the wire look like. A server never masks
// (it has nothing to prove); each side refuses the other's mistake with
// close code 1002.
//
// # Messages, control frames, closing
//
// A message may come in fragments: a text or binary frame with FIN = 0,
// then continuation frames (opcode 0), the last with FIN = 1. Ping (9),
// pong (10) and close (8) are control frames: at most 125 bytes, never
// fragmented, and allowed between the fragments of a message, so a ping is
// never stuck behind a large upload. [Assembler] puts messages together,
// enforces those rules and checks that text is UTF-8 as it arrives, even
// when a character is split across two fragments.
//
// A side that finds a fault sends a close frame with a code and a reason
// and stops reading. Every error from this package is a *[CloseError] with
// that code:
//
//	1002  protocol error (unmasked client frame, RSV bits, unknown opcode, …)
//	1007  text that is not UTF-8
//	1009  message too big
//	1011  the server's own fault
//
// # The API, in the order a connection uses it
//
// Server: [CheckRequest] on the request httpwire parsed, [AppendAccept];
// then per read [ParseFrame] (isServer true) and [Assembler.Push]; write
// with [AppendFrame] and [AppendCloseFrame]. Client: [NewKey],
// [AppendClientRequest], [CheckResponse] on the response httpwire parsed;
// then [ParseFrame] (isServer false) and [Assembler.Push]; write with
// [AppendMaskedFrame] and [AppendMaskedCloseFrame], a fresh [NewMaskKey]
// for every frame. [ParseClose] reads a close frame's code and reason,
// [Describe] prints a frame for the -wire view.
package websocket
