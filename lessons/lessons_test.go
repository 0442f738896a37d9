// Package lessons holds the lessons (NN-topic.md). This test runs every
// command a lesson shows and checks the output it shows, so a lesson that
// drifts from the programs fails the build.
//
// One lesson while writing it:
//
//	go test ./lessons -run 'TestLessons/03' -v
package lessons

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"socklab/internal/lessoncheck"
)

func TestLessons(t *testing.T) {
	root, err := filepath.Abs("..") // go test runs us in lessons/
	if err != nil {
		t.Fatal(err)
	}
	buildPrograms(t, root)
	if ns := os.Getenv("SOCKLAB_LESSON_NETNS"); ns == "inside" {
		t.Log("running in private network and PID namespaces (see TestMain)")
	}

	files, err := filepath.Glob("[0-9][0-9]-*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no lessons (NN-topic.md) found in lessons/")
	}
	// One after another: lessons bind fixed ports such as 7000.
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".md")
		t.Run(name, func(t *testing.T) {
			lesson, err := lessoncheck.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lesson.File = filepath.Join("lessons", f) // as seen from the repository root
			if err := lessoncheck.Run(lesson, lessoncheck.Options{Dir: root, Logf: t.Logf}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// buildPrograms builds every cmd/* program into bin/, where lessons run them from.
func buildPrograms(t *testing.T, root string) {
	cmd := exec.Command("go", "build", "-o", "bin/", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -o bin/ ./cmd/...: %v\n%s", err, out)
	}
}
