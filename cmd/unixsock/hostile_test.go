//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// What a hostile local peer can try against the servers, and the limit
// that stops each: descriptors pushed on a datagram server, a sender that
// never reads its replies, the socket path swapped while a server runs,
// a descriptor that never ends, a live server with a full queue.

// openFDs is how many descriptors the process has open (/proc/PID/fd).
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// A datagram server asks recvmsg for control messages (for the
// credentials), so the kernel installs any descriptors a sender attaches.
// 300 datagrams with 8 descriptors each must not leave 2,400 open files
// behind: the server closes what arrives, and says so.
func TestDgramClosesPassedDescriptors(t *testing.T) {
	dir := t.TempDir()
	server := startServer(t, dir, "serve", "-dgram", "-path", "d.sock")
	pid := server.Cmd.Process.Pid
	before := openFDs(t, pid)
	proctest.RunPython(t, `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
fds = array.array("i", [os.open("/dev/null", os.O_RDONLY) for _ in range(8)])
for i in range(300):
    s.sendmsg([b"take these"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], 0, sys.argv[1])
`, filepath.Join(dir, "d.sock"))
	server.WaitSubmatch(t, &server.Stdout, `(?s)(# a datagram of 10 bytes[^\n]*\n.*){300}`)
	if after := openFDs(t, pid); after > before+2 {
		t.Errorf("the server holds %d descriptors after 300 datagrams of 8 each (%d before): it keeps what senders push on it", after, before)
	}
	out := server.Stdout.String()
	if !strings.Contains(out, "MSG_CMSG_CLOEXEC) = 10") {
		t.Errorf("recvmsg without MSG_CMSG_CLOEXEC:\n%.2000s", out)
	}
	if n := strings.Count(out, "# 8 descriptor(s) came with the datagram (SCM_RIGHTS): not wanted here, so closed"); n != 300 {
		t.Errorf("%d notes about closed descriptors, want 300", n)
	}
}

// A sender that fills the server's replies into a queue it never reads
// must not stop the server from answering everyone else.
func TestDgramSenderThatNeverReads(t *testing.T) {
	dir := t.TempDir()
	server := startServer(t, dir, "serve", "-dgram", "-path", "d.sock")
	proctest.RunPython(t, `
import os, socket, sys
os.chdir(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("deaf.sock")   # a name, so the server can reply; then never read
s.settimeout(10)
for i in range(40):
    s.sendto(b"x%d" % i, "d.sock")
`, dir)
	server.WaitSubmatch(t, &server.Stdout, `# EAGAIN: deaf\.sock does not read its replies`)
	stdout, stderr, status := run(t, dir, "", unixsock, "send", "-dgram", "-path", "d.sock", "-timeout", "3s", "still", "there?")
	if status != 0 || stdout != "still\nthere?\n" {
		t.Fatalf("a good client after a deaf one: exit %d, stdout %q\n%s\nserver:\n%s", status, stdout, stderr, tail(server.Stdout.String(), 2000))
	}
}

// The client's -timeout covers its sendto too: against a datagram
// server that never reads, send gives up, instead of waiting forever for
// room in the server's queue.
func TestDgramClientTimeoutCoversSend(t *testing.T) {
	dir := t.TempDir()
	py := proctest.StartCombined(t, inDir(dir, python, "-c", `
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("stuck.sock")
print("ready", flush=True)
time.sleep(60)
`))
	py.WaitFor(t, &py.Stdout, "ready")
	msgs := make([]string, 200)
	for i := range msgs {
		msgs[i] = fmt.Sprint("m", i)
	}
	began := time.Now()
	_, stderr, status := run(t, dir, "", unixsock, append([]string{"send", "-dgram", "-q", "-path", "stuck.sock", "-timeout", "1s"}, msgs...)...)
	if status != 1 || !strings.Contains(stderr, "queue stayed full for 1s") {
		t.Fatalf("exit %d, want 1 and a full queue reported:\n%s", status, stderr)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("send took %v to give up with -timeout 1s", took)
	}
}

// serve and recvfd remove their socket file on exit, but only if the
// path still names the file they made: a file, a symlink or another
// server's socket put there meanwhile must survive.
func TestOnlyOurSocketFileIsRemoved(t *testing.T) {
	replace := map[string]func(t *testing.T, path string){
		"regular file": func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"symlink": func(t *testing.T, path string) {
			if err := os.Symlink("/etc/hostname", path); err != nil {
				t.Fatal(err)
			}
		},
		"another socket": func(t *testing.T, path string) {
			fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Close(fd) })
			if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, cmd := range []string{"serve", "recvfd"} {
		for kind, put := range replace {
			t.Run(cmd+"/"+kind, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "x.sock")
				server := startServer(t, dir, cmd, "-path", "x.sock")
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				put(t, path)
				var before syscall.Stat_t
				if err := syscall.Lstat(path, &before); err != nil {
					t.Fatal(err)
				}
				server.Signal(t, syscall.SIGTERM)
				server.ExitCode(t)
				var after syscall.Stat_t
				if err := syscall.Lstat(path, &after); err != nil || after.Ino != before.Ino {
					t.Fatalf("the %s put at the path was removed on exit (%v):\n%s", kind, err, server.Stdout.String())
				}
				if !strings.Contains(server.Stdout.String(), "# left x.sock alone: it is no longer the socket file we made") {
					t.Errorf("no note that the file was left alone:\n%s", server.Stdout.String())
				}
			})
		}
	}
}

// countingWriter counts what a program writes and keeps none of it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// recvfd reads what it is given, but a descriptor can be endless or
// silent: a pipe whose writer stays open, /dev/zero. It must say what
// kind of file it got (fstat), and stop in bounded time and bytes.
func TestRecvfdBoundsTheRead(t *testing.T) {
	send := func(t *testing.T, dir, what string) {
		t.Helper()
		py := proctest.StartCombined(t, inDir(dir, python, "-c", `
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("fd.sock")
if sys.argv[1] == "pipe":
    r, w = os.pipe()
    os.write(w, b"the first words\n")
    socket.send_fds(s, [b"a pipe"], [r])
else:
    socket.send_fds(s, [b"zeros"], [os.open("/dev/zero", os.O_RDONLY)])
print("sent", flush=True)
time.sleep(60)   # the pipe's writer stays open
`, what))
		py.WaitFor(t, &py.Stdout, "sent")
	}

	t.Run("pipe whose writer stays open", func(t *testing.T) {
		dir := t.TempDir()
		receiver := startServer(t, dir, "recvfd", "-path", "fd.sock") // the default -read-timeout, 5s
		send(t, dir, "pipe")
		if status := receiver.ExitCode(t); status != 0 {
			t.Fatalf("recvfd: exit %d\n%s", status, receiver.Stdout.String())
		}
		out := receiver.Stdout.String()
		for _, want := range []string{"fstat(5, {st_mode=S_IFIFO|0600, st_size=0, ...}) = 0", "# fd 5 is a pipe (or FIFO)", "the first words\n",
			"# stopped after 16 bytes: nothing more came in time (-read-timeout)"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in:\n%s", want, out)
			}
		}
	})

	t.Run("/dev/zero", func(t *testing.T) {
		dir := t.TempDir()
		var stdout countingWriter
		cmd := exec.Command(unixsock, "recvfd", "-path", "fd.sock")
		cmd.Dir = dir
		cmd.Stdout = &stdout
		receiver := proctest.Start(t, cmd)
		receiver.WaitFor(t, &receiver.Stderr, "listen(3, 1) = 0")
		send(t, dir, "zero")
		if status := receiver.ExitCode(t); status != 0 {
			t.Fatalf("recvfd: exit %d\n%s", status, receiver.Stderr.String())
		}
		if n := stdout.n.Load(); n != 1<<20 {
			t.Errorf("recvfd wrote %d bytes of /dev/zero, want the default bound, 1 MiB", n)
		}
		out := receiver.Stderr.String()
		for _, want := range []string{"fstat(5, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x5), ...}) = 0", "# fd 5 is a device",
			"# stopped after 1048576 bytes (-max-bytes)"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in:\n%s", want, tail(out, 2000))
			}
		}
	})
}

// A live server whose queue of waiting connections is full: a blocking
// connect to it waits for a place. serve's check for a stale socket file
// must not hang there; it must say that a server is listening.
func TestProbeDoesNotHangOnAFullBacklog(t *testing.T) {
	for _, cmd := range []string{"serve", "recvfd"} {
		t.Run(cmd, func(t *testing.T) {
			dir := t.TempDir()
			py := proctest.StartCombined(t, inDir(dir, python, "-c", `
import socket, time
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind("busy.sock")
l.listen(0)   # never accepts
waiting = []
for i in range(5):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect("busy.sock")
    except BlockingIOError:
        break
    waiting.append(c)
print("full after", len(waiting), flush=True)
time.sleep(60)
`))
			py.WaitSubmatch(t, &py.Stdout, `full after \d+`)
			_, stderr, status := run(t, dir, "", unixsock, cmd, "-path", "busy.sock")
			if status != 1 || !strings.Contains(stderr, "a server is already listening at busy.sock") {
				t.Fatalf("exit %d, want 1 and \"a server is already listening\":\n%s", status, stderr)
			}
			if _, err := os.Lstat(filepath.Join(dir, "busy.sock")); err != nil {
				t.Errorf("the live server's socket file is gone: %v", err)
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
