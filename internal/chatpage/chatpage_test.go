package chatpage

import (
	"bytes"
	"strings"
	"testing"
)

// The page is one file: no script or stylesheet from elsewhere, except
// the official bundle, on the page's own origin, when asked for.
func TestPageIsOneFile(t *testing.T) {
	if !bytes.HasPrefix(HTML, []byte("<!doctype html>")) {
		t.Fatalf("chat.html does not start with <!doctype html>: %.40q", HTML)
	}
	page := string(HTML)
	for _, outside := range []string{"<script src", "<link", "<img", "@import", "import("} {
		if i := strings.Index(page, outside); i >= 0 {
			t.Errorf("chat.html loads something from elsewhere: %q", page[i:min(len(page), i+60)])
		}
	}
	if n := strings.Count(page, ".src ="); n != 1 {
		t.Errorf("chat.html sets a src %d times; want once, for the official bundle", n)
	}
	if !strings.Contains(page, "script.src = '"+BundlePath+"'") {
		t.Errorf("chat.html does not load the official bundle from %s", BundlePath)
	}
}

// ClientJS is the lesson client, and the lesson it promises: each packet
// shown with its bytes, in a size one can read in a sitting.
func TestClientJS(t *testing.T) {
	if ClientJS == "" {
		t.Fatal(`ClientJS is empty: chat.html lost its <script id="lesson-client">`)
	}
	for _, bytes := range []string{`40{"name":"ann"}`, `427["chat","hi"]`, `437[]`, `2probe`, `3probe`, `"5"`, `\x1e`, `44{"message"`} {
		if !strings.Contains(ClientJS, bytes) {
			t.Errorf("the lesson client does not show %s", bytes)
		}
	}
	code := 0
	for _, line := range strings.Split(ClientJS, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "//") {
			code++
		}
	}
	if code < 100 || code > 180 {
		t.Errorf("the lesson client has %d lines of code; the lesson promises about 150", code)
	}
}

func TestClientJSMissingMarker(t *testing.T) {
	for _, page := range []string{"<html></html>", `<script id="lesson-client">never closed`} {
		if got := clientJS(page); got != "" {
			t.Errorf("clientJS(%q) = %q; want empty", page, got)
		}
	}
	if got := clientJS(`<p><script id="lesson-client"> var x; </script><script>y</script>`); got != "var x;\n" {
		t.Errorf("clientJS took %q; want the first script only", got)
	}
}
