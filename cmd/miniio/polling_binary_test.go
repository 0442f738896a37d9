//go:build linux

package main

import (
	"encoding/base64"
	"testing"

	"socklab/internal/nodepeer"
)

// Bytes over long-polling: socket.io-client held on polling sends a
// Buffer (a `b` + base64 packet in its POST) and gets it back by ack and
// by broadcast (in a GET's payload); a client that upgraded shares them.
func TestSocketIOClientBinaryOverPolling(t *testing.T) {
	srv := startServer(t)
	port := srv.httpPort()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	bin := nodepeer.Binary(all)
	binJSON := `{"$binary":"` + base64.StdEncoding.EncodeToString(all) + `"}`
	ann := pollClient(t, port, "ann", []string{"polling"})
	bob := pollClient(t, port, "bob", nil)
	ann.Next(wsWait, nodepeer.Event("user joined"))
	sameArgs(t, "echo with bytes on polling", ann.EmitAck("echo", "file", bin, map[string]any{"n": 1}), `["file",`+binJSON+`,{"n":1}]`)
	sameArgs(t, "shout's ack", ann.EmitAck("shout", bin), `[]`)
	sameArgs(t, "shout at ann (polling)", ann.Next(wsWait, nodepeer.Event("shout")).Args, `["ann",`+binJSON+`]`)
	sameArgs(t, "shout at bob (upgraded)", bob.Next(wsWait, nodepeer.Event("shout")).Args, `["ann",`+binJSON+`]`)
	sameArgs(t, "bob's shout's ack", bob.EmitAck("shout", bin), `[]`)
	sameArgs(t, "bob's shout at ann (polling)", ann.Next(wsWait, nodepeer.Event("shout")).Args, `["bob",`+binJSON+`]`)
	srv.checkNoPanic()
}
