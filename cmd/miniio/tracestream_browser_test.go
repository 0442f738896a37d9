//go:build linux

package main

// The chat page's trace pane in a real browser (Chromium, driven by
// peers/node/browser.js as internal/chatpage's tests drive it), against
// `miniio serve -trace-stream`, which serves the page at /.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/nodepeer"
	"socklab/internal/proctest"
)

// chromium is a running browser.js: Chromium with named tabs.
type chromium struct {
	t     *testing.T
	proc  *proctest.Proc
	stdin io.WriteCloser
	id    int
}

func startChromium(t *testing.T) *chromium {
	t.Helper()
	bin := proctest.NeedTool(t, "chromium")
	dir := nodepeer.Dir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		proctest.Need(t, "node", fmt.Errorf("npm module puppeteer-core is not installed in peers/node (%v): run `npm ci --prefix peers/node --no-audit --no-fund`", err))
	}
	cmd := exec.Command("node", "browser.js", "--chromium", bin)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &chromium{t: t, stdin: stdin, proc: proctest.Start(t, cmd)}
	m := b.proc.WaitMatch(t, &b.proc.Stdout, regexp.MustCompile(`(?m)^\{"ready":"([^"]*)","pid":(\d+)\}$`))
	var chromePID int
	fmt.Sscan(m[2], &chromePID)
	// End of stdin closes Chromium; its process group is killed by its
	// PID in case browser.js could not.
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-b.proc.Done:
		case <-time.After(proctest.Limit):
			t.Errorf("browser.js did not exit within %v of the end of its stdin", proctest.Limit)
		}
		if chromePID > 0 {
			syscall.Kill(-chromePID, syscall.SIGKILL)
		}
	})
	return b
}

// do sends one command and returns its value; an error fails the test.
func (b *chromium) do(cmd map[string]any) json.RawMessage {
	b.t.Helper()
	b.id++
	cmd["id"] = b.id
	line, _ := json.Marshal(cmd)
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("writing to browser.js: %v", err)
	}
	raw := b.proc.WaitSubmatch(b.t, &b.proc.Stdout, fmt.Sprintf(`(?m)^(\{"id":%d,.*)$`, b.id))
	var answer struct {
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(raw), &answer); err != nil || !answer.OK {
		b.t.Fatalf("browser.js: %s failed: %s (%v)\nbrowser.js stderr:\n%s", line, answer.Error, err, tail(b.proc.Stderr.String(), 30))
	}
	return answer.Value
}

func (b *chromium) see(tab, where, text string) {
	b.t.Helper()
	b.do(map[string]any{"page": tab, "waitText": text, "in": where, "timeout": 12000})
}

func (b *chromium) eval(tab, expr string, v any) {
	b.t.Helper()
	raw := b.do(map[string]any{"page": tab, "eval": expr})
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("%s: %s gave %s: %v", tab, expr, raw, err)
	}
}

// pageFDs is what the page's pane was told: its chat's descriptor and its
// trace connection's. The chat's changes once it upgrades to WebSocket;
// wait for the page to say websocket first.
func pageFDs(b *chromium, tab string) (chat, trace int) {
	b.t.Helper()
	b.see(tab, "#me", "this page: chat on fd ")
	var fds []int
	b.eval(tab, `[chatFD, traceFD]`, &fds)
	if len(fds) != 2 || fds[0] <= 0 || fds[1] <= 0 || fds[0] == fds[1] {
		b.t.Fatalf("%s: the pane says chat fd and trace fd %v", tab, fds)
	}
	return fds[0], fds[1]
}

// Two pages chat; the sender's pane shows the read on its own chat
// descriptor that received the message and the write to the other
// page's descriptor that delivered it, and a click on the message
// names both.
func TestTracePaneInTheBrowser(t *testing.T) {
	b := startChromium(t)
	for _, client := range []string{"lesson", "official"} {
		t.Run(client, func(t *testing.T) {
			b.t = t
			defer func() { b.t = nil }()
			tracePaneScenario(t, b, client)
		})
	}
}

// tracePaneScenario: with the page's own client, or the official bundle
// (its /trace socket on a connection of its own: forceNew).
func tracePaneScenario(t *testing.T, b *chromium, client string) {
	bundle := filepath.Join(nodepeer.Dir(t), "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	srv := startServer(t, "-trace-stream", "-client-bundle", bundle)
	port := srv.httpPort()
	url := fmt.Sprintf("http://127.0.0.1:%d/?trace=1&client=%s&name=", port, client)
	ann, bob := client+"-ann", client+"-bob"
	for _, name := range []string{ann, bob} {
		b.do(map[string]any{"open": name, "url": url + name})
		b.see(name, "#status", "connected as "+name+" (websocket)")
	}
	defer func() {
		b.do(map[string]any{"page": ann, "close": true})
		b.do(map[string]any{"page": bob, "close": true})
	}()
	// The chat's descriptor is the WebSocket's once the page upgraded;
	// the pane hears of the change on its next tick.
	deadline := time.Now().Add(wsWait)
	var annChat, annTrace, bobChat int
	for {
		annChat, annTrace = pageFDs(b, ann)
		bobChat, _ = pageFDs(b, bob)
		if annChat != bobChat && strings.Contains(srv.out.String(), bob+" connected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pages' chat fds: ann %d, bob %d", annChat, bobChat)
		}
		time.Sleep(100 * time.Millisecond)
	}

	b.do(map[string]any{"page": ann, "type": "#text", "text": "hello trace"})
	b.do(map[string]any{"page": ann, "click": "#send button"})
	b.see(bob, "#log", ann+": hello trace")
	annChat, _ = pageFDs(b, ann)
	bobChat, _ = pageFDs(b, bob)

	var journey string
	for deadline := time.Now().Add(wsWait); ; {
		b.do(map[string]any{"page": ann, "click": "#log li.me"})
		b.eval(ann, `document.querySelector('#journey').textContent`, &journey)
		if strings.Contains(journey, "written to fd") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("ann's journey: %s (ann's chat fd %d, bob's %d, ann's trace fd %d)", journey, annChat, bobChat, annTrace)
	if want := fmt.Sprintf(`"hello trace": read from fd %d (%s), written to fd `, annChat, ann); !strings.Contains(journey, want) {
		t.Errorf("the journey says %q, want %q…", journey, want)
	}
	if written := journey[strings.Index(journey, "written to fd ")+len("written to fd "):]; !regexp.MustCompile(fmt.Sprintf(`(^|, )%d(,|$| )`, bobChat)).MatchString(written) {
		t.Errorf("the journey does not name bob's fd %d among the writes: %q", bobChat, journey)
	}

	// The lines themselves: the read on ann's fd; on bob's, the frame
	// carrying ["chat",ann,"hello trace"] and a write or writev after it
	// (the write's own text may be cut short, as strace -s cuts it);
	// highlighted on click; nothing of ann's trace connection.
	var found struct {
		Read, Write, Own, Picked int
	}
	b.eval(ann, fmt.Sprintf(`({
		read: kept.filter((it) => it.call === 'read' && it.fd === %[1]d && it.ret > 0).length,
		write: kept.filter((it, i) => it.kind === 'wire' && it.fd === %[2]d && it.text.includes(' → ') && it.text.includes('42[\\"chat\\",\\"%[3]s\\",\\"hello trace\\"]') &&
			kept.slice(i + 1).some((w) => (w.call === 'write' || w.call === 'writev') && w.fd === %[2]d)).length,
		own: kept.filter((it) => it.fd === %[4]d).length,
		picked: document.querySelectorAll('#lines .picked').length,
	})`, annChat, bobChat, ann, annTrace), &found)
	if found.Read == 0 || found.Write == 0 || found.Picked < 2 {
		t.Errorf("ann's pane: %d reads on fd %d, %d frames of the message to fd %d with a write after, %d lines highlighted", found.Read, annChat, found.Write, bobChat, found.Picked)
	}
	if found.Own != 0 {
		t.Errorf("ann's pane shows %d calls of its own trace connection (fd %d)", found.Own, annTrace)
	}
	b.see(ann, "#hidden", "calls of the viewers' own connections not shown")
	srv.checkNoPanic()
}
