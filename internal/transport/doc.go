// Package transport owns the miniio server's connections on the event
// loop and turns their bytes into packets, and packets into bytes.
//
// The socket.io layer above it (package server) knows packets and
// handlers only: it never sees a length prefix or a read buffer. This
// package is the envelope around each packet:
//
//	server (sockets, rooms, acks)      Opened / Packet / Refused / Closed ↑   Conn.Send(*Packet) ↓
//	transport (this package)           TCP frames or HTTP+WebSocket: cut, buffer, budget; frame on the way out
//	reactor (epoll, the event loop)    OnOpen / OnData / OnClose ↑          Conn.Write ↓
//	sys (the traced system calls)
//
// Two envelopes: miniio's own TCP frame (a 4-byte length, then the
// packet text; package wire has the codec), on the server's first
// listening socket, and WebSocket after an HTTP Upgrade, the way
// socket.io's own clients speak, on the second (websocket.go; packages
// httpwire and websocket are its codecs). The defences against a hostile
// peer live here with them, because they are about bytes, not packets: a
// half-sent frame's buffer is sized from its header and must fill within
// a deadline, as must an HTTP request head; the server holds a bounded
// amount of such input for all connections together; and one connection
// gets a bounded amount of handler time per turn of the loop (input.go
// says how).
//
// An outgoing packet is a *Packet: its text, encoded once by the server,
// framed for each envelope kind the first time a connection of that kind
// sends it, and then shared by every receiver of that kind. A broadcast
// to a thousand TCP clients costs one encoding and one length prefix.
//
// The import arrows point down only: server → transport → reactor → sys,
// and transport → wire. This package calls up into the server only
// through the Handler interface it defines.
package transport
