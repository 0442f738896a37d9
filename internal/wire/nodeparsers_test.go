package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// socket.io's parsers come from npm: peers/node's node_modules (socket.io
// brings engine.io-parser and socket.io-parser along), or the socket.io
// benchmark's. scripts/test installs both. Without node or the modules a
// test that needs them fails, unless the person running it opted out with
// SOCKLAB_ALLOW_MISSING=node (or all), as internal/nodepeer's tests do.

// parserModules returns node and a node_modules folder that holds both
// parsers.
func parserModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		needNode(t, "node is not installed: these tests compare with socket.io's own parsers (apt-get install nodejs npm)")
	}
	for _, dir := range []string{"../../peers/node/node_modules", "../../bench/socketio/node_modules"} {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fileExists(filepath.Join(abs, "socket.io-parser", "package.json")) &&
			fileExists(filepath.Join(abs, "engine.io-parser", "package.json")) {
			return node, abs
		}
	}
	needNode(t, "socket.io's parsers are not installed: run `npm ci --prefix peers/node --no-audit --no-fund` (scripts/test does)")
	return "", ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// needNode fails the test, or skips it when the runner opted out of node
// (proctest.Need reads SOCKLAB_ALLOW_MISSING).
func needNode(t *testing.T, why string) {
	t.Helper()
	proctest.Need(t, "node", errors.New(why))
}

// runNodeScript runs node on testdata/<script> with req as JSON on stdin and
// decodes its stdout into resp.
func runNodeScript(t *testing.T, script string, req, resp any) {
	t.Helper()
	node, modules := parserModules(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", script))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node testdata/%s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("reading node's answer %q: %v", out, err)
	}
}
