package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// pair shows socketpair(2) shared between two processes, the way a shell
// shares a pipe: the parent makes the pair, starts a child that inherits
// both descriptors, and each keeps one end. The child is this same
// program started again (a hidden command, pairChildCommand).
//
// The order is chosen so that the two processes' traces never
// interleave: the parent writes before the child starts (the bytes wait
// in the socket), then waits for the child to finish, then reads the
// reply. Real programs run both at once; the trace would then mix the two
// differently from run to run.
func pair(args []string) {
	fs := flag.NewFlagSet("unixsock pair", flag.ExitOnError)
	parse(fs, args)
	if fs.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (pair takes only flags)", fs.Arg(0))
	}
	tagOutput()
	me := os.Getpid()

	// 1. socketpair(2): two connected sockets, no name, no bind, no
	// listen. No SOCK_CLOEXEC: close-on-exec would close them when the
	// child program starts; without it the child inherits both, with the
	// same numbers.
	fds, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		sys.Fatal("socketpair", err)
	}
	ours, theirs := fds[0], fds[1]
	sys.Note("fd %d is the parent's end, fd %d the child's", ours, theirs)

	// 2. write(2) before the child exists: the bytes wait in the socket
	// until someone reads the other end.
	if err := writeAll(ours, []byte(fmt.Sprintf("ping from pid %d", me))); err != nil {
		sys.Fatal("write", err)
	}

	// 3. Start the child: fork and exec of this program. Descriptors
	// without close-on-exec survive exec, so the child has fds ours and
	// theirs too, the same sockets under the same numbers. (exec.Cmd's
	// ExtraFiles would renumber the descriptor in the child, with a dup3
	// the Go runtime makes between fork and exec, which this program
	// could not print.)
	self, err := os.Executable()
	if err != nil {
		sys.Fatal("finding this program", err)
	}
	child := exec.Command(self, append(append([]string{pairChildCommand}, args...), strconv.Itoa(theirs), strconv.Itoa(ours))...)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	sys.Note("starting a child process; it inherits fds %d and %d; waiting for it to finish", ours, theirs)
	if err := child.Start(); err != nil {
		sys.Fatal("starting the child", err)
	}
	if err := child.Wait(); err != nil {
		sys.Fatal("the child", err)
	}
	sys.Note("child pid %d has finished", child.Process.Pid)

	// 4. close(2) our copy of the child's end. A socket's end is closed
	// only when every descriptor for it, in every process, is closed:
	// the child closed its copy, and until we close ours too, our read
	// would never see end of file.
	if err := sys.Close(theirs); err != nil {
		sys.Fatal("close", err)
	}

	// 5. read(2) the child's reply, then 0: end of file.
	reply, err := readAll(ours)
	if err != nil {
		sys.Fatal("read", err)
	}
	fmt.Printf("parent (pid %d) read on fd %d: %s\n", me, ours, reply)
	if err := sys.Close(ours); err != nil {
		sys.Fatal("close", err)
	}
}

// pairChildCommand is the hidden command the child runs:
// unixsock pair-child [flags] KEEP DROP.
const pairChildCommand = "pair-child"

func pairChild(args []string) {
	fs := flag.NewFlagSet("unixsock "+pairChildCommand, flag.ExitOnError)
	parse(fs, args)
	keep, err1 := strconv.Atoi(fs.Arg(0))
	drop, err2 := strconv.Atoi(fs.Arg(1))
	if fs.NArg() != 2 || err1 != nil || err2 != nil {
		sys.Fatalf("%s is started by unixsock pair, with two descriptor numbers", pairChildCommand)
	}
	tagOutput()
	me := os.Getpid()

	// 1. close(2) the parent's end, which came along with ours. (If the
	// child kept it, the parent's end would never be fully closed.)
	if err := sys.Close(drop); err != nil {
		sys.Fatal("close", err)
	}

	// 2. getsockopt(2) SO_PEERCRED: the other end belongs to the process
	// that made the pair, our parent.
	showPeer(keep)

	// 3. read(2) what the parent wrote before we existed; write(2) the
	// reply; close(2). The parent reads it after we are gone: the bytes
	// wait in its end of the socket.
	buf := make([]byte, 4096)
	n, err := sys.Read(keep, buf)
	if err != nil {
		sys.Fatal("read", err)
	}
	fmt.Printf("child (pid %d) read on fd %d: %s\n", me, keep, buf[:n])
	if err := writeAll(keep, []byte(fmt.Sprintf("pong from pid %d", me))); err != nil {
		sys.Fatal("write", err)
	}
	if err := sys.Close(keep); err != nil {
		sys.Fatal("close", err)
	}
}

// readAll reads until end of file.
func readAll(fd int) ([]byte, error) {
	var all []byte
	buf := make([]byte, 4096)
	for {
		n, err := sys.Read(fd, buf)
		if err != nil {
			return all, err
		}
		if n == 0 {
			return all, nil
		}
		all = append(all, buf[:n]...)
	}
}

// tagOutput starts every trace line with "[pid N] ", as strace -f does
// when it follows more than one process, so the parent's calls and the
// child's can be told apart.
func tagOutput() {
	sys.SetOutput(&tagged{w: os.Stderr, tag: fmt.Sprintf("[pid %d] ", os.Getpid()), lineStart: true})
}

type tagged struct {
	mu        sync.Mutex
	w         io.Writer
	tag       string
	lineStart bool
}

func (t *tagged) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []byte
	for _, c := range p {
		if t.lineStart {
			out = append(out, t.tag...)
		}
		out = append(out, c)
		t.lineStart = c == '\n'
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
