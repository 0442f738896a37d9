package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// A socket path is a real file, made by bind. These are the rules that
// keep a server from destroying what is not its own, and from leaving
// litter behind.
//
// Why not /tmp: anyone may create files there. Another user could make
// /tmp/echo.sock first (a socket of their own, or a symlink), and a
// careless server would remove it or a client would talk to the wrong
// server. A directory only you can enter ($XDG_RUNTIME_DIR, or the
// lessons' ./run made with mkdir -m 700) takes that away.

// clearTheWay checks ep's path before bind. Nothing there: fine. A
// socket file with no server behind it: stale (left by a server that died
// without cleaning up), so it is removed. Anything else, a live server or
// a file that is not a socket, stops the program with a clear message;
// never is a non-socket removed.
func clearTheWay(ep endpoint, typ int) {
	if ep.path == "" {
		return // an abstract name has no file; bind says EADDRINUSE if it is taken
	}
	var st unix.Stat_t
	err := unix.Lstat(ep.path, &st) // lstat: a symlink is looked at, not followed
	if err == unix.ENOENT {
		return
	}
	if err != nil {
		failf("cannot look at %s: %s", ep.path, sys.Describe(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		failf("%s exists and is %s, not a socket: leaving it alone.\nhint: pick another -path (or, if that file is yours and unwanted, remove it yourself)", ep.path, kindOf(uint32(st.Mode)))
	}

	// A socket file. Is a server behind it? The only way to know is to
	// try: connect, as a client would. But not a blocking connect: when
	// a live server's queue of waiting connections is full, connect
	// waits for a place in it, for as long as that takes, and we would
	// hang here. Non-blocking, it fails at once with EAGAIN instead,
	// which is an answer too: someone is listening.
	sys.Note("%s is already a socket file: connecting (without waiting) to see whether a server is behind it", ep.path)
	probe, err := sys.Socket(unix.AF_UNIX, typ, 0)
	if err != nil {
		failf("socket: %s", sys.Describe(err))
	}
	if err := sys.SetNonblock(probe); err != nil {
		failf("fcntl: %s", sys.Describe(err))
	}
	err = sys.Connect(probe, ep.addr)
	sys.Close(probe)
	switch err {
	case unix.EAGAIN, unix.EINPROGRESS:
		failf("a server is already listening at %s (its queue of waiting connections is full: it is busy or stuck): stop it first, or pick another -path", ep.path)
	case unix.ECONNREFUSED:
		// The file is there but nobody listens: a leftover.
		if err := unix.Unlink(ep.path); err != nil {
			failf("removing the stale socket file %s: %s", ep.path, sys.Describe(err))
		}
		sys.Note("ECONNREFUSED: nobody is listening, so the file is stale; removed it (unlink is not a socket call)")
	case nil:
		failf("a server is already listening at %s: stop it first, or pick another -path", ep.path)
	case unix.EPROTOTYPE:
		failf("a server of the other type (stream or datagram) is listening at %s", ep.path)
	default:
		failf("cannot tell whether %s is in use: connect: %s", ep.path, sys.Describe(err))
	}
}

// kindOf names a file type for a person.
func kindOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a pipe (or FIFO)"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFSOCK:
		return "another socket"
	}
	return "something else"
}

// bindSocket binds fd to ep. For a path, bind creates the socket file,
// with permissions 0777 minus the process's umask (unix(7)); connecting
// needs write permission on it. So we set the umask to leave exactly mode
// for the moment of bind, and put it back after: the file never exists
// with looser permissions, not even for an instant (a chmod after bind
// would leave that instant open).
func bindSocket(fd int, ep endpoint, mode uint32) {
	if ep.path == "" {
		if err := sys.Bind(fd, ep.addr); err != nil {
			bindFailed(ep, err)
		}
		sys.Note("%s is an abstract name: no file, no permissions (any process here may connect); it vanishes with the socket", ep.name)
		return
	}
	old := unix.Umask(int(0o777 &^ mode))
	sys.Note("umask(%04o) around bind, so the socket file is created %04o; umask is not a socket call, so it is not traced", 0o777&^mode, mode)
	err := sys.Bind(fd, ep.addr)
	unix.Umask(old)
	if err != nil {
		bindFailed(ep, err)
	}
	// Remember which file bind made: its device and inode numbers name
	// it, whatever happens to the path later. (Between bind and this
	// lstat, another process could swap the file; in a directory only
	// we can write to, nobody can.)
	var st unix.Stat_t
	if err := unix.Lstat(ep.path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		sys.Note("%s: cannot look at the socket file just made, so it will be left in place when we exit", ep.path)
		return
	}
	removeOnExit(ep.path, st)
	sys.Note("%s: s%s (the s is for socket); removed when we exit", ep.path, os.FileMode(st.Mode & 0o777).String()[1:])
}

// bindFailed ends the program on a failed bind. EADDRINUSE here is not
// about ports: another socket has the name.
func bindFailed(ep endpoint, err error) {
	if err == unix.EADDRINUSE {
		failf("bind %s: %s\nwhy: another socket is bound to that name (ss -xlp shows which process)", ep.name, sys.Describe(err))
	}
	if err == unix.ENOENT && ep.path != "" {
		// bind creates the file, but not the directories above it.
		failf("bind %s: %s\nwhy: the directory %s does not exist; make it first: mkdir -p -m 700 %s", ep.name, sys.Describe(err), filepath.Dir(ep.path), filepath.Dir(ep.path))
	}
	fatal("bind "+ep.name, err)
}

// The socket file this process made, removed on every way out: normal
// end, fatal error, SIGINT, SIGTERM. (A SIGKILL leaves it behind: that is
// the stale file clearTheWay deals with.)
//
// Removed only if it is still that file. unlink goes by name, and while
// we ran, the name may have come to mean something else: someone removed
// our file and put a file of their own there, a symlink, or a second
// server's live socket. Those are not ours to delete. The device and
// inode numbers of the file bind made tell it apart from any other file
// that exists at the same time; but a file made after ours was removed
// may get its inode number again (file systems reuse them at once), so
// the type (a socket) and the time of the inode's last change (its
// creation, unless someone chmods it) must match too.
var (
	fileMu     sync.Mutex // the signal goroutine and main both get here
	socketFile string
	socketID   fileID
)

// fileID is what tells one file apart from another: where it lives, its
// inode number, its type, and when its inode last changed.
type fileID struct {
	dev, ino   uint64
	typ        uint32
	ctimeNanos int64
}

func idOf(st *unix.Stat_t) fileID {
	return fileID{uint64(st.Dev), uint64(st.Ino), uint32(st.Mode) & unix.S_IFMT, unix.TimespecToNsec(st.Ctim)}
}

func removeOnExit(path string, st unix.Stat_t) {
	fileMu.Lock()
	socketFile = path
	socketID = idOf(&st)
	fileMu.Unlock()
}

func removeSocketFile() {
	fileMu.Lock()
	defer fileMu.Unlock()
	if socketFile == "" {
		return
	}
	path := socketFile
	socketFile = "" // once
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	switch {
	case err == unix.ENOENT:
		sys.Note("%s is gone already: someone else removed it", path)
		return
	case err != nil:
		sys.Note("left %s alone: cannot look at it (%s)", path, sys.Describe(err))
		return
	case idOf(&st) != socketID:
		sys.Note("left %s alone: it is no longer the socket file we made, but %s made since", path, kindOf(uint32(st.Mode)))
		return
	}
	if err := unix.Unlink(path); err != nil {
		fmt.Fprintf(os.Stderr, "unixsock: removing %s: %s\n", path, sys.Describe(err))
		return
	}
	sys.Note("removed %s", path)
}

// fatal is sys.Fatal that removes our socket file first.
func fatal(what string, err error) {
	removeSocketFile()
	sys.Fatal(what, err)
}

// failf prints "unixsock: …" and exits 1, after removing our socket file.
func failf(format string, args ...any) {
	removeSocketFile()
	fmt.Fprintf(os.Stderr, "unixsock: "+format+"\n", args...)
	os.Exit(1)
}

// closeOnSignal makes Ctrl-C (SIGINT) and SIGTERM close the socket,
// traced, remove the socket file, and exit 0. The main goroutine is then
// usually blocked in accept4 or recvmsg and never returns from it; if it
// was just between two calls, ExitOnStopSignal keeps it from starting the
// next one on the closed descriptor.
func closeOnSignal(fd int) {
	sys.ExitOnStopSignal(func(sig os.Signal) {
		sys.Note("%s: closing the socket", sys.SignalName(sig))
		sys.Close(fd)
		removeSocketFile()
	})
}
