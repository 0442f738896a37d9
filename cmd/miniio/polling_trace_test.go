//go:build linux

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"socklab/internal/proctest"
	"socklab/internal/tracetest"
	"socklab/internal/websocket"
)

// One long-polling session, then its upgrade, under `strace -f`: the
// socket calls miniio prints are the ones strace sees, the session's
// requests on one keep-alive connection and the WebSocket on another.
func TestPollingTraceMatchesStrace(t *testing.T) {
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	srv := proctest.Start(t, tracetest.Command(log, miniioBinary(t), "serve", "-trace", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0"))
	m := regexp.MustCompile(`socket\.io clients: http://127\.0\.0\.1:(\d+)/`).FindStringSubmatch(srv.WaitFor(t, &srv.Stderr, "socket.io clients: "))
	if m == nil {
		t.Fatalf("no -http address in:\n%s", srv.Stderr.String())
	}
	port, _ := strconv.Atoi(m[1])
	pid := straceChild(t, srv)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })

	// Long-polling on one connection (fd 7): OPEN, CONNECT, a GET that waits.
	sid, w := pollConnect(t, port, "")
	w.write("GET " + pollPath + "&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n")
	// The upgrade on a second (fd 8).
	ws := wsDialRaw(t, port)
	ws.write(wsRequest("/socket.io/?EIO=4&transport=websocket&sid=" + sid))
	if head, _ := ws.answer(); !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("upgrade answered %q", head)
	}
	ws.send(websocket.OpText, "2probe")
	if _, p := ws.frame(); p != "3probe" {
		t.Fatalf("2probe answered %q", p)
	}
	if _, body := w.answer(); body != "6" {
		t.Fatalf("the waiting GET got %q, want 6", body)
	}
	ws.send(websocket.OpText, "5")
	ws.send(websocket.OpText, `421["echo","hi"]`)
	if _, p := ws.frame(); p != `431["hi"]` {
		t.Fatalf("echo answered %q", p)
	}
	ws.send(websocket.OpClose, "\x03\xe8")
	ws.expectClose(1000)
	srv.WaitFor(t, &srv.Stderr, "disconnected: transport close")
	w.conn.Close()
	srv.WaitFor(t, &srv.Stderr, "close(7) = 0")
	// Killed, not interrupted: see TestWebSocketTraceMatchesStrace.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.ExitCode(t)
	printed := srv.Stderr.String()
	for _, want := range []string{
		// The trace shows 32 bytes of a buffer.
		`read(7, "GET /socket.io/?EIO=4&transport="...`,
		`read(7, "POST /socket.io/?EIO=4&transport"...`,
		`write(7, "HTTP/1.1 200 OK\r\nContent-Type: t"...`,
		`read(8, "GET /socket.io/?EIO=4&transport="...`,
		`write(8, "HTTP/1.1 101 Switching Protocols"...`,
		`write(8, "\201\0063probe", 8) = 8`,
		"# 8: a long-polling session upgraded to WebSocket",
		"close(8) = 0", "close(7) = 0",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("trace lacks %q:\n%s", want, printed)
		}
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	ours := tracetest.Ours(printed)
	theirs := tracetest.Theirs(string(raw), []string{"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}, map[int]bool{5: true, 6: true})
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
}
