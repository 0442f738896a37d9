// Package nodepeer runs socket.io's own server and client, from npm, as
// peers in tests.
//
// socklab's promise for miniio is "the official socket.io client talks to
// our server, and our client talks to a real socket.io server". Only the
// real thing can hold us to it, so the tests start it: peers/node holds a
// socket.io 4.8 server that plays `miniio serve`'s demo (sio-server.js) and
// a scriptable socket.io-client (sio-client.js), each a small Node program.
//
//	port := nodepeer.StartServer(t, nodepeer.ServerOptions{Transports: []string{"websocket"}})
//	ann := nodepeer.StartClient(t, nodepeer.URL(port), nodepeer.ClientOptions{Auth: map[string]string{"name": "ann"}})
//	ann.Next(5*time.Second, nodepeer.Type("connect"))
//	answer := ann.EmitAck("echo", "hi")   // the ack's arguments, as raw JSON
//
// The client takes commands as JSON lines on its stdin and prints every
// happening (connect, event, ack, disconnect, reconnect_attempt, upgrade, …)
// as one JSON line on its stdout; a Client sends the one and decodes the
// other into Lines. The line format is written at the top of
// peers/node/sio-client.js.
//
// Every process is started through internal/proctest: in a process group
// of its own, ended by its PID when the test ends, and every wait bounded.
// Without node, or without peers/node's node_modules (`npm ci --prefix
// peers/node`), a test that asks for them fails, unless the person running
// it said SOCKLAB_ALLOW_MISSING=node (or all): then it is skipped, saying so.
package nodepeer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"socklab/internal/proctest"
)

// URL is the address a socket.io client is given for a server on this
// machine's loopback port.
func URL(port int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// Dir returns the absolute path of peers/node, the npm folder with the
// peers and their node_modules. It fails the test when node or the
// installed modules are missing, unless the runner opted out (see the
// package comment).
func Dir(t *testing.T) string {
	t.Helper()
	_, dir := setup(t)
	return dir
}

// setup finds node and peers/node, as Dir says.
func setup(t *testing.T) (node, dir string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("finding peers/node: %v", err)
	}
	dir = filepath.Join(root, "peers", "node")
	node, err = exec.LookPath("node")
	if err != nil {
		proctest.Need(t, "node", fmt.Errorf("%v: these tests run socket.io's own server and client (apt-get install nodejs npm)", err))
	}
	for _, module := range []string{"socket.io", "socket.io-client"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", module, "package.json")); err != nil {
			proctest.Need(t, "node", fmt.Errorf("npm module %s is not installed in peers/node (%v): run `npm ci --prefix peers/node --no-audit --no-fund` (scripts/test does)", module, err))
		}
	}
	return node, dir
}

// moduleRoot is the nearest folder at or above the working directory
// (a package's folder, under go test) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}
