// Package loadgen is the load generator behind `miniio bench`: it drives a
// miniio server through the four workloads of the benchmark contract
// (written at the top of scripts/bench) and measures how fast the server
// answers.
//
//	ack    one connection (or -c N, each with one round trip in flight),
//	       sequential emit-with-ack("echo") round trips, each timed:
//	       round trips per second, p50 and p99
//	tput   one connection fires `count` events back to back, then asks
//	       count_done: events per second until the server has counted all
//	bcast  N receivers and one sender; the server re-broadcasts M messages
//	       to everyone but the sender: deliveries per second
//	idle   N connected, silent clients: the server's memory per connection
//
// # Why raw sockets, and no trace
//
// A load generator must never be the slower side, or it measures itself.
// So it calls golang.org/x/sys/unix directly, not the traced layer in
// internal/sys: there is nothing to teach in its trace, and the learner's
// trace would only cost time here. It also skips Go's net package: a
// blocking read on a socket of our own, on a thread of its own, is the
// shortest path from the kernel to the clock (the same path bench/floor
// measures), with no netpoller hand-off in between. The receivers of bcast
// share one epoll loop on Linux, so a thousand of them cost one thread.
//
// # Two envelopes, the same packets
//
// By default a packet travels in miniio's own length-prefixed frame on
// plain TCP. With Config.URL ("ws://HOST:PORT", `miniio bench -url`) the
// same packet texts travel the way a socket.io client sends them: an HTTP
// upgrade to WebSocket at /socket.io/?EIO=4&transport=websocket, then one
// masked text frame per packet (envelope.go, target.go, using the codecs
// of internal/httpwire and internal/websocket). So one generator drives
// miniio, socket.io on Node and any other socket.io server alike, and
// what differs between their numbers is the server.
//
// Packets are built and read with internal/wire, the same codec the server
// uses, so both sides agree on every byte by construction; the hot loops
// compare whole packet texts with bytes.Equal and parse only what differs.
package loadgen
