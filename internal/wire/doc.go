// Package wire is the miniio protocol as bytes: how a packet is framed on a
// TCP stream, and how the packet text is read and written. It opens no
// socket and starts no goroutine; the event loop and the blocking client
// hand it bytes and get bytes back.
//
// # What you already know from the browser
//
// Open the devtools of a page that uses socket.io, pick the WebSocket
// connection, and watch its messages. You see frames like these:
//
//	0{"sid":"Lbo5JLzTotvW3g2LAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	40
//	40{"sid":"wZX3oN0bSVIhsaknAAAI"}
//	42["chat","hi"]
//	2
//	3
//
// miniio sends the same text (its OPEN leaves out "upgrades", which only
// matters to a browser that starts on HTTP long-polling, and its maxPayload
// is 1 MiB rather than a million bytes). Only the envelope differs: the browser
// gets one WebSocket frame per packet, miniio puts a 4-byte length in front
// of each packet on a plain TCP stream. There are three layers, outermost
// first.
//
// # Layer 1: the frame
//
// TCP delivers a stream of bytes, not messages: one read() may return half a
// packet, or three packets and a bit. So every packet travels as
//
//	+--------+--------+--------+--------+----------------------+
//	|   N, a 32-bit unsigned number,     |  N bytes of packet   |
//	|   big-endian (network byte order)  |  text, UTF-8         |
//	+--------+--------+--------+--------+----------------------+
//
// `42["chat","hi"]` is 15 bytes, so on the wire it is
//
//	00 00 00 0f 34 32 5b 22 63 68 61 74 22 2c 22 68 69 22 5d
//
// N is at least 1 and at most maxPayload (1 MiB unless the server's OPEN
// says otherwise). A receiver checks N before it reserves any memory for the
// packet, so a peer cannot make it allocate 4 GiB by sending four bytes.
// [AppendFrame] writes a frame, [SplitFrame] cuts one off the front of a
// buffer without copying, and [Decoder] does the bookkeeping for a program
// that reads with plain blocking calls.
//
// # Layer 2: the connection packet (Engine.IO's layer)
//
// The first character of the packet text says what kind of packet it is:
//
//	0{"sid":"…","pingInterval":25000,"pingTimeout":20000,"maxPayload":1048576}
//	     OPEN: the server's first frame; the session id and the timers
//	1    CLOSE: the last frame before the sender closes the socket
//	1{"reason":"parse error: malformed JSON"}
//	     CLOSE that says why (a miniio addition: a learner should see why)
//	2    PING, sent by the server every pingInterval
//	3    PONG, the client's answer
//	4…   MESSAGE: the rest of the text is one packet of layer 3
//
// In a browser this layer also carries the long-polling to WebSocket
// upgrade: the new WebSocket's first packets are `2probe` and `3probe`, the
// pending poll is released with NOOP `6`, and UPGRADE `5` switches over
// (payload.go draws the whole exchange). miniio on TCP has one transport
// from the start, so there is nothing to upgrade there.
//
// # Layer 3: the event packet (socket.io's layer)
//
// Inside a MESSAGE the next character is the socket.io packet type, then an
// optional acknowledgement id in decimal, then JSON:
//
//	40                   CONNECT: the client asks to join
//	40{"token":"abc"}    CONNECT with auth data
//	40{"sid":"x"}        CONNECT: the server's yes, with the socket's id
//	44{"message":"not authorized"}
//	                     CONNECT_ERROR: the server's no
//	41                   DISCONNECT: this side leaves
//	42["chat","hi"]      EVENT: emit("chat", "hi")
//	4217["chat","hi"]    EVENT that wants an answer; 17 is the ack id
//	4317["ok"]           ACK: the answer to event 17, ack("ok")
//	4317[]               ACK with no values, ack()
//
// So `42["chat","hi"]` reads: 4 = a message, 2 = an event, then a JSON
// array whose first element is the event name and the rest are the
// arguments the sender passed to emit.
//
// # Namespaces: several sockets on one connection
//
// A page that calls io("/admin") next to io("/") shares one connection, and
// every packet names its namespace, right after the type and always with a
// comma (the main namespace "/" is the one written as nothing):
//
//	40/admin,{"token":"abc"}                      CONNECT to /admin
//	44/random,{"message":"Invalid namespace"}     no such namespace
//	42/admin,17["chat","hi"]                      EVENT in /admin, ack id 17 after the comma
//	43/admin,17["ok"]                             its ACK
//	41/admin,                                     DISCONNECT from /admin only
//
// # Binary: a placeholder in the text, the bytes after it
//
// emit("file", buf) with a Buffer cannot go as JSON. socket.io sends the
// text with a numbered placeholder, and then the bytes as their own
// message: on a WebSocket, a binary frame; on long-polling, a `b` packet in
// base64. In the devtools:
//
//	451-["file",{"_placeholder":true,"num":0}]     BINARY_EVENT, 1 attachment follows
//	(binary frame, 3 bytes: 01 02 03)             attachment 0
//
// The `1-` counts the attachments; the receiver holds the packet until all
// have come ([Assembler]). BINARY_ACK `6` is the same for an ack:
// `461-17[{"_placeholder":true,"num":0}]`.
//
// miniio's TCP envelope stays text only: the 4-byte frame of lesson 10
// carries UTF-8 packet text and has no flag to say "these bytes are an
// attachment". A server on that envelope refuses a binary packet with a
// clear reason ("binary attachments need WebSocket or long-polling")
// rather than inventing a second kind of frame, so a []byte argument
// travels over socket.io's own transports only. This package still parses
// the header; refusing it is the caller's call (package server asks the
// connection's envelope whether it carries binary).
//
// # Long-polling: many packets in one HTTP body
//
// Without a WebSocket, the browser asks with GET and sends with POST, and
// one body carries several packets joined by the record separator, byte
// 0x1e (devtools shows it as a small box, or nothing):
//
//	2␞42["chat","hi"]␞451-["file",{"_placeholder":true,"num":0}]␞bAQID
//
// That is a PING, an EVENT, and a BINARY_EVENT with its attachment (bytes
// 01 02 03 in base64). [SplitPayload] cuts a body into packets, bounded in
// size and count, and [AppendPayload] joins them.
//
// # Reading and writing packets
//
// [ParsePacket] turns packet text into a [Packet]; [Packet.Parse] does the
// same reusing one Packet's memory, for the event loop. Both read miniio's
// TCP core and refuse namespaces, binary and upgrade packets, so a program
// that knows nothing of them cannot misread them; [ParseSocketIO] reads all
// of socket.io, and the program then looks at [Packet.Namespace] and the
// binary types. The Append functions
// ([AppendEvent], [AppendAck], [AppendOpen], …) write packet text at the end
// of a byte slice the caller owns, so the hot path allocates nothing, and
// [AppendPacket] writes any Packet; [AppendEventTo] and its kin write into a
// namespace, and [AppendEventValues] turns []byte arguments into
// placeholders and attachments. Event arguments stay raw JSON
// ([encoding/json.RawMessage]): this package checks that they are valid
// JSON and leaves their meaning to the program.
//
// Every error says in a few words what was wrong, because the server sends
// it to the peer in a CLOSE packet before it hangs up:
//
//	1{"reason":"parse error: reserved event name \"connect\""}
package wire
