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
// upgrade; miniio speaks TCP from the start, so there is nothing to upgrade.
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
// socket.io also has namespaces (`40/admin,`) and binary attachments
// (`451-[…]`); miniio has neither and refuses such packets with a clear
// error rather than misreading them.
//
// # Reading and writing packets
//
// [ParsePacket] turns packet text into a [Packet]; [Packet.Parse] does the
// same reusing one Packet's memory, for the event loop. The Append functions
// ([AppendEvent], [AppendAck], [AppendOpen], …) write packet text at the end
// of a byte slice the caller owns, so the hot path allocates nothing, and
// [AppendPacket] writes any Packet. Event arguments stay raw JSON
// ([encoding/json.RawMessage]): this package checks that they are valid
// JSON and leaves their meaning to the program.
//
// Every error says in a few words what was wrong, because the server sends
// it to the peer in a CLOSE packet before it hangs up:
//
//	1{"reason":"parse error: reserved event name \"connect\""}
package wire
