package proctest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// AllowMissing is the environment variable that lets a run go on without
// some of what the tests need: a comma-separated list of the names Need
// and NeedTool are given (SOCKLAB_ALLOW_MISSING=node,tmux), or "all".
// Without it, a missing tool fails the test that needs it, so that a
// green run means the same on every machine.
const AllowMissing = "SOCKLAB_ALLOW_MISSING"

// Need fails the test when err says that what (a tool such as "strace",
// "/proc", or a permission such as "raw-socket" or "setuid") is missing, unless the runner listed what in
// SOCKLAB_ALLOW_MISSING: then the test is skipped, saying so.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if allowedMissing(what, os.Getenv(AllowMissing)) {
		t.Skipf("skipped: %s is missing (%v), and %s=%s allows it", what, err, AllowMissing, os.Getenv(AllowMissing))
	}
	t.Fatalf("this test needs %s: %v\n(install it or grant it, or set %s=%s to skip the tests that need it)", what, err, AllowMissing, what)
}

// NeedTool is Need for a program on the PATH; it returns the program's
// path.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	Need(t, name, err)
	return path
}

// allowedMissing reports whether the list (AllowMissing's value) names
// what, or is "all".
func allowedMissing(what, list string) bool {
	names := strings.Split(list, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return slices.Contains(names, "all") || slices.Contains(names, what)
}
