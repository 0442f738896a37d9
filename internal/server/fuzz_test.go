package server

// Whatever a client sends, in whatever order (packets in any namespace,
// binary headers, attachments, disconnects), the server neither panics
// nor keeps anything once the connection is gone.
//
//	go test ./internal/server -run '^$' -fuzz FuzzServerSession -fuzztime 30s

import (
	"bytes"
	"testing"

	"socklab/internal/wire"
)

func FuzzServerSession(f *testing.F) {
	for _, seed := range []string{
		"40\n40/custom,\n42/custom,1[\"message-with-ack\",1]\n41/custom,\n42[\"message\"]",
		"40/custom\n452-/custom,7[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\nB\x01\nB\x02",
		"40\n451-[\"message\",{\"_placeholder\":true,\"num\":0}]\n42[\"x\"]",
		"40\nB\x01\n41",
		"40/random\n40/custom,{\"token\":1}\n40/custom,\n3\n41",
		"40\n451-[\"nested\",{\"File\":{\"_placeholder\":true,\"num\":0}}]\nB",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		srv, loop := binaryServer(t, ServerOptions{MaxPayload: 4096, MaxAttachments: 3})
		binaryConns(srv)
		c := dial(t, srv)
		for _, line := range bytes.Split(script, []byte("\n")) {
			if c.closed {
				break
			}
			if len(line) > 0 && line[0] == 'B' {
				c.sendBinary(line[1:]...)
			} else if len(line) > 0 {
				c.send(string(line))
			}
			loop.runPosted()
		}
		srv.handleClose(c.s, wire.ReasonTransportClose)
		loop.runPosted()
		if srv.binaryHeld != 0 || srv.Stats().Connected != 0 || len(srv.conns) != 0 {
			t.Fatalf("after the connection ended: %d attachment bytes held, %d sockets, %d connections",
				srv.binaryHeld, srv.Stats().Connected, len(srv.conns))
		}
		for _, n := range srv.namespaces {
			if len(n.sockets) != 0 || len(n.rooms) != 0 || len(n.byID) != 0 {
				t.Fatalf("namespace %s keeps %d sockets, %d rooms", n.name, len(n.sockets), len(n.rooms))
			}
		}
	})
}
