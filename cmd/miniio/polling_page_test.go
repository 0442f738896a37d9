//go:build linux

package main

// The HTTP port's other answers: CORS for pages of other origins (-cors),
// the chat page at "/", and the official client bundle (-client-bundle).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"socklab/internal/chatpage"
)

func TestServeCORS(t *testing.T) {
	const page = "http://page.example:8080"
	srv := startServer(t, "-cors", page+", http://other.example")
	port := srv.httpPort()
	srv.waitFor(`CORS: pages from http://page\.example:8080, http://other\.example may use this server`, wsWait)

	// The preflight a browser sends before a cross-origin request it may
	// not make on its own.
	w := wsDialRaw(t, port)
	status, head, _ := w.pollRequest("OPTIONS", pollPath, "", "Origin: "+page,
		"Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type")
	for _, want := range []string{
		"Access-Control-Allow-Origin: " + page + "\r\n",
		"Access-Control-Allow-Credentials: true\r\n",
		"Access-Control-Allow-Methods: GET, POST\r\n",
		"Access-Control-Allow-Headers: Content-Type\r\n",
		"Vary: Origin\r\n",
	} {
		if status != 204 || !strings.Contains(head, want) {
			t.Fatalf("preflight answered %q, want 204 with %q", head, want)
		}
	}
	// The requests themselves name the origin (never "*": the client
	// sends its cookies).
	status, head, body := w.pollRequest("GET", pollPath, "", "Origin: "+page)
	if status != 200 || !strings.Contains(head, "Access-Control-Allow-Origin: "+page+"\r\n") ||
		!strings.Contains(head, "Access-Control-Allow-Credentials: true\r\n") || !strings.HasPrefix(body, "0{") {
		t.Fatalf("a cross-origin handshake answered %q %q", head, body)
	}
	sid := strings.Split(body, `"`)[3]
	status, head, _ = w.pollRequest("POST", pollPath+"&sid="+sid, "40", "Origin: "+page)
	if status != 200 || !strings.Contains(head, "Access-Control-Allow-Origin: "+page+"\r\n") {
		t.Fatalf("a cross-origin POST answered %q", head)
	}
	// Another origin gets no CORS headers: the browser keeps the answer
	// from its page.
	for _, method := range []string{"OPTIONS", "GET"} {
		r := wsDialRaw(t, port)
		_, head, _ := r.pollRequest(method, pollPath, "", "Origin: http://evil.example")
		if strings.Contains(head, "Access-Control-") {
			t.Fatalf("%s from an origin not allowed answered %q", method, head)
		}
	}

	// A wildcard or a URL with a path is refused at start.
	for _, bad := range []string{"*", "http://page.example/"} {
		out, err := exec.Command(miniioBinary(t), "serve", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-cors", bad).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "-cors") {
			t.Fatalf("-cors %q: exit %d, %q; want 2 and a reason", bad, code, out)
		}
	}
}

func TestServeChatPageAndBundle(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "socket.io.min.js")
	if err := os.WriteFile(bundle, []byte("/* the bundle */"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "-client-bundle", bundle)
	port := srv.httpPort()
	w := wsDialRaw(t, port)
	status, head, body := w.pollRequest("GET", "/", "")
	if status != 200 || !strings.Contains(head, "Content-Type: "+chatpage.ContentType+"\r\n") || body != string(chatpage.HTML) {
		t.Fatalf("GET / answered %q and %d bytes, want the chat page", head, len(body))
	}
	// Keep-alive: the same connection asks for the bundle next.
	status, head, body = w.pollRequest("GET", chatpage.BundlePath, "")
	if status != 200 || !strings.Contains(head, "Content-Type: application/javascript") || body != "/* the bundle */" {
		t.Fatalf("GET %s answered %q %q", chatpage.BundlePath, head, body)
	}
	if status, _, _ := w.pollRequest("GET", "/nothing-here", ""); status != 404 {
		t.Fatalf("GET /nothing-here answered %d, want 404", status)
	}

	// Without the bundle (the default path, relative to where the server
	// runs, is not there): 404 with the reason, in one line.
	cmd := exec.Command(miniioBinary(t), "serve", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	srv2 := runServer(t, cmd)
	r := wsDialRaw(t, srv2.httpPort())
	status, _, body = r.pollRequest("GET", chatpage.BundlePath, "")
	if status != 404 || !strings.Contains(body, "npm ci --prefix peers/node") || strings.Count(body, "\n") != 1 {
		t.Fatalf("GET %s without a bundle answered %d %q, want 404 and one line saying why", chatpage.BundlePath, status, body)
	}
	// A bundle named but missing is an error at start.
	out, err := exec.Command(miniioBinary(t), "serve", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-client-bundle", "/nonexistent/x.js").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "-client-bundle") {
		t.Fatalf("-client-bundle of a missing file: exit %d, %q", code, out)
	}
}

// exitCode is a finished command's exit status (0 when err is nil).
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
