package lessons

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestMain runs the lessons in network and PID namespaces of their own
// when the machine allows it (root and unshare(1), as in CI). Lessons bind
// fixed ports — 7000, 7001, 7070 — and find their server with pgrep; in
// private namespaces nothing else on the machine can hold those ports or
// match that pgrep: not a server a learner left running in another
// terminal, not a second test run. The network namespace has only its own
// loopback, which is all the lessons use, so `ss` in it shows only the
// lessons' sockets, and tcpdump on its lo (lessons 3 and 5) sees only
// the lessons' packets. tcpdump needs root either way. Set
// SOCKLAB_LESSON_NETNS=off to run in the machine's own namespaces.
func TestMain(m *testing.M) {
	if os.Getenv("SOCKLAB_LESSON_NETNS") == "" && canUnshare() {
		args := append([]string{"-n", "-p", "-f", "--mount-proc", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", os.Args[0]}, os.Args[1:]...)
		cmd := exec.Command("unshare", args...)
		cmd.Env = append(os.Environ(), "SOCKLAB_LESSON_NETNS=inside")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			os.Exit(0)
		case errors.As(err, &exit):
			os.Exit(exit.ExitCode())
		default:
			os.Stderr.WriteString("lessons: running in a network namespace failed: " + err.Error() + "\n")
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func canUnshare() bool {
	if _, err := exec.LookPath("ip"); err != nil {
		return false
	}
	return exec.Command("unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c", "ip link set lo up").Run() == nil
}
