package lessoncheck

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	src := "# Title\n" +
		"```mermaid\nsequenceDiagram\n```\n" +
		"**Terminal B**\n" +
		"<!-- timeout 30s -->\n" +
		"\n" +
		"```console B\n" +
		"$ bin/tcpserver -addr :7000\n" +
		"listen(3, 128) = 0\n" +
		"\n" +
		"$ echo hi\n" +
		"hi\n" +
		"[exit 0]\n" +
		"```\n" +
		"- in a list:\n" +
		"  **Terminal A**\n" +
		"  ```console\n" +
		"  $ true\n" +
		"  ```\n"
	l, err := Parse("x.md", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Blocks) != 2 {
		t.Fatalf("got %d blocks, want 2", len(l.Blocks))
	}
	b := l.Blocks[0]
	if b.Terminal != "B" || b.Line != 8 || b.Timeout != 30*time.Second || len(b.Steps) != 2 {
		t.Fatalf("block 0 = %+v", b)
	}
	s := b.Steps[0]
	if s.Command != "bin/tcpserver -addr :7000" || s.Line != 9 || len(s.Expect) != 1 || s.Expect[0].Line != 10 {
		t.Errorf("step 0 = %+v (the blank line before the next $ must be dropped)", s)
	}
	if s := b.Steps[1]; !s.HasExit || s.Exit != 0 || len(s.Expect) != 1 {
		t.Errorf("step 1 = %+v", s)
	}
	if b := l.Blocks[1]; b.Terminal != "A" || b.Steps[0].Command != "true" {
		t.Errorf("indented block = %+v", b)
	}
	if got := strings.Join(l.Terminals(), ","); got != "B,A" {
		t.Errorf("Terminals() = %s, want B,A", got)
	}
	if got := l.Commands("B"); len(got) != 2 || got[1] != "echo hi" {
		t.Errorf("Commands(B) = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"```console\nhello\n```\n", "x.md:2: output with no command"},
		{"```console B\n$ true\n```\n```console A\nmore\n```\n", "x.md:5: output with no command: terminal A"},
		{"```console\n$ false\n[exit 1]\noops\n```\n", "x.md:4: [exit 1] must be the last line"},
		{"```console\n$ true\n[exit 300]\n```\n", "x.md:3: exit status 300 out of range"},
		{"```console\n$ printf x\n\x1b[31mx\n```\n", "x.md:3: expected output contains an escape sequence"},
		{"text\n```console\n$ true\n", "never closed"},
		{"<!-- timeout soon -->\n```console\n$ true\n```\n", "x.md:1: bad timeout comment"},
		{"<!-- timeout 5s -->\nprose\n```console\n$ true\n```\n", "x.md:1: comment for the checker is not followed"},
		{"<!-- test runs \"a\" as \"b\" -->\n```sh\na\n```\n", "x.md:1: comment for the checker is not followed"},
		{"<!-- test runs a as b -->\n```console\n$ a\n```\n", "x.md:1: bad test comment"},
		{"**Terminal A**\n<!-- test runs \"-hold 2m\" as \"-hold 1s\" -->\n```console\n$ true\n```\n", "x.md:3: test comment replaces \"-hold 2m\", but no command"},
		{"**Terminal B**\n```console A\n$ true\n```\n", "x.md:2: the line above says **Terminal B**, but the block runs in terminal A"},
		{"**Terminal A**\n```console\n$ true\n```\nprose, no label\n```console B\n$ true\n```\n", "x.md:6: console block for terminal B has no \"**Terminal B**\" line"},
		{"```console\n$ true\n```\n", "x.md:1: console block for terminal A has no \"**Terminal A**\" line above it"},
		{"# A lesson with no labels at all\n\n```console B\n$ true\n```\n```console B\n$ true\n```\n", "x.md:3: console block for terminal B has no \"**Terminal B**\" line above it"},
		{"**Terminal A**\n\nprose in between\n```console\n$ true\n```\n**Terminal A**\n```console\n$ true\n```\n", "x.md:4: console block for terminal A has no"},
		{"```console A extra\n$ true\n```\n", "x.md:1: console block info"},
		{"```console\n$ \n```\n", "x.md:2: empty command"},
	}
	for _, tc := range tests {
		_, err := Parse("x.md", strings.NewReader(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.src, err, tc.want)
		}
	}
}

func TestLabelsAndTestRuns(t *testing.T) {
	src := "**Terminal B**\n\n<!-- timeout 30s -->\n<!-- test runs \"sleep 60\" as \"sleep 1\" -->\n" +
		"```console B\n$ sleep 60; echo done\ndone\n```\n" +
		"<!-- timeout 5s -->\n**Terminal A** (the server):\n```console\n$ true\n```\n"
	l, err := Parse("x.md", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	b := l.Blocks[0]
	if b.Label != "B" || b.Timeout != 30*time.Second || len(b.Replace) != 1 {
		t.Fatalf("block 0 = %+v", b)
	}
	if got := b.TestCommand(b.Steps[0]); got != "sleep 1; echo done" {
		t.Errorf("TestCommand = %q, want the replacement applied", got)
	}
	if b.Steps[0].Command != "sleep 60; echo done" {
		t.Errorf("Command = %q, want what the reader types", b.Steps[0].Command)
	}
	if l.Blocks[1].Label != "A" || len(l.Blocks[1].Replace) != 0 {
		t.Errorf("block 1 = %+v (a test comment applies to one block only)", l.Blocks[1])
	}
}

func TestExitWanted(t *testing.T) {
	src := "**Terminal A**\n```console A\n$ server\nready\n```\n" +
		"**Terminal B**\n```console B\n$ client\n[exit 4]\n```\n" +
		"**Terminal A**\n```console A\nbye\n[exit 7]\n$ next\n```\n"
	l, err := Parse("x.md", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if code, ok := l.exitWanted(0, 0); !ok || code != 7 {
		t.Errorf("server: exitWanted = %d, %v; want 7 from its continuation", code, ok)
	}
	if _, ok := l.exitWanted(2, 1); ok {
		t.Errorf("next: exitWanted found an [exit] that belongs to another command")
	}
}
