package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// Passing an open file to another process (SCM_RIGHTS, unix(7)).
//
// The sender puts descriptor numbers in a control message next to the
// data of a sendmsg. The kernel does not send the numbers: it looks up
// the open files they stand for and, when the receiver's recvmsg takes
// the message, installs each one in the receiver under a new number, the
// lowest free one there. Both numbers then name the same open file: same
// file, same read position, same flags. The sender may close its copy;
// the receiver's stays open. This is how a privileged process hands out
// a file or socket that the other could not open itself.

// maxFDs is how many descriptors recvfd makes room for in one message.
const maxFDs = 4

func sendfd(args []string) {
	fs := flag.NewFlagSet("unixsock sendfd", flag.ExitOnError)
	where := addressFlags(fs)
	parse(fs, args)
	if fs.NArg() != 1 {
		sys.Fatalf("give the one file to send: unixsock sendfd -path run/fd.sock FILE")
	}
	ep, file := where(), fs.Arg(0)
	me := os.Getpid()

	// 1. openat(2): open the file we will hand over. It gets the lowest
	// free descriptor number, 3.
	fileFD, err := sys.OpenRead(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "unixsock: open %s: %s\n", file, sys.Describe(err))
		os.Exit(1)
	}
	inode := ""
	var st unix.Stat_t
	if unix.Stat(file, &st) == nil { // by name: not a call on any descriptor
		inode = fmt.Sprintf(" (inode %d)", st.Ino)
	}

	// 2. socket(2) and connect(2) to the receiver, as any client.
	fd, err := sys.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		sys.Fatal("socket", err)
	}
	if err := sys.Connect(fd, ep.addr); err != nil {
		connectFailed("connect", ep, err, false)
	}

	// 3. sendmsg(2): the data says in words what is coming; the control
	// message (SCM_RIGHTS, built by unix.UnixRights) carries fd fileFD.
	// At least one byte of data must go with it on a stream socket.
	message := fmt.Sprintf("fd %d of pid %d: %s%s", fileFD, me, file, inode)
	if _, err := sys.Sendmsg(fd, []byte(message), unix.UnixRights(fileFD), nil, 0); err != nil {
		sys.Fatal("sendmsg", err)
	}

	// 4. close(2) our copy of the file, then the socket. The receiver's
	// copy is not affected: the open file lives until its last
	// descriptor, in any process, is closed.
	sys.Note("sent fd %d; closing our copy does not close the receiver's", fileFD)
	if err := sys.Close(fileFD); err != nil {
		sys.Fatal("close", err)
	}
	if err := sys.Close(fd); err != nil {
		sys.Fatal("close", err)
	}
}

func recvfd(args []string) {
	fs := flag.NewFlagSet("unixsock recvfd", flag.ExitOnError)
	where := addressFlags(fs)
	modeOf := modeFlag(fs)
	limit := fs.Int("max-bytes", 1<<20, "read at most this many bytes through the descriptor that arrives")
	wait := fs.Duration("read-timeout", 5*time.Second, "stop reading after this long in all (a pipe or socket may never end)")
	parse(fs, args)
	if fs.NArg() > 0 {
		sys.Fatalf("unexpected argument %q (recvfd takes only flags)", fs.Arg(0))
	}
	if *limit < 1 {
		sys.Fatalf("-max-bytes must be at least 1, not %d", *limit)
	}
	if *wait <= 0 {
		sys.Fatalf("-read-timeout must be more than 0, not %v", *wait)
	}
	ep, mode := where(), modeOf()

	// 1. A stream server for one client: socket, bind, listen, accept4
	// (path.go keeps the socket file safe, as for serve).
	clearTheWay(ep, unix.SOCK_STREAM)
	lfd, err := sys.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		fatal("socket", err)
	}
	closeOnSignal(lfd)
	bindSocket(lfd, ep, mode)
	if err := sys.Listen(lfd, 1); err != nil {
		fatal("listen", err)
	}
	conn, _, err := sys.Accept(lfd)
	if err != nil {
		fatal("accept4", err)
	}
	showPeer(conn)

	// 2. recvmsg(2) with room for control messages: the data, and the
	// descriptors, already installed in this process under new numbers.
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, flags, _, err := sys.Recvmsg(conn, buf, oob, 0)
	if err != nil {
		fatal("recvmsg", err)
	}
	sys.Note("the message: %q", buf[:n])
	if flags&unix.MSG_CTRUNC != 0 {
		sys.Note("MSG_CTRUNC: more descriptors came than we had room for (%d); the kernel closed the rest", maxFDs)
	}
	fds, err := sys.Rights(oob[:oobn])
	if err != nil || len(fds) == 0 {
		failf("the message carried no descriptor (no SCM_RIGHTS control message); send one with unixsock sendfd")
	}

	// 3. read(2) through each descriptor that arrived, to stdout. We
	// never opened the file: the descriptor is all we have, and it is
	// enough. But it is whatever the sender chose: fstat(2) first, to
	// know what it is. A regular file ends; /dev/zero never does, and a
	// pipe whose writer stays open may never send anything or never
	// end. So the reading is bounded in bytes and in time.
	for _, fileFD := range fds {
		sys.Note("fd %d arrived: %s; a new number in this process for the sender's open file", fileFD, describeFD(fileFD))
		st, err := sys.Fstat(fileFD)
		if err != nil {
			fatal("fstat", err)
		}
		sys.Note("fd %d is %s", fileFD, kindOf(uint32(st.Mode)))
		if err := copyFD(fileFD, uint32(st.Mode)&unix.S_IFMT == unix.S_IFREG, *limit, time.Now().Add(*wait)); err != nil {
			fatal("read", err)
		}
		if err := sys.Close(fileFD); err != nil {
			fatal("close", err)
		}
	}

	// 4. close(2) the connection and the listening socket; remove the
	// socket file.
	if err := sys.Close(conn); err != nil {
		fatal("close", err)
	}
	if err := sys.Close(lfd); err != nil {
		fatal("close", err)
	}
	removeSocketFile()
}

// describeFD says which file a descriptor is open on: the name the
// kernel keeps for it (/dev/fd/N is a link to it) and the inode number.
// These are file calls on a name, not calls on the descriptor.
func describeFD(fd int) string {
	link := fmt.Sprintf("/dev/fd/%d", fd)
	name, err := os.Readlink(link)
	if err != nil {
		name = "(name unknown)"
	}
	var st unix.Stat_t
	if unix.Stat(link, &st) == nil {
		return fmt.Sprintf("%s, inode %d", name, st.Ino)
	}
	return name
}

// copyFD copies what fd can read to stdout: up to its end, or limit
// bytes, or until the deadline, whichever comes first. A regular file
// always has its next bytes (or its end) at hand, so read never waits on
// one; anything else may wait forever, so poll(2) first (ppoll on Linux), for no longer
// than the time left.
func copyFD(fd int, regular bool, limit int, deadline time.Time) error {
	buf := make([]byte, min(4096, limit))
	for copied := 0; ; {
		if copied >= limit {
			sys.Note("stopped after %d bytes (-max-bytes): this descriptor may never end (/dev/zero does not)", copied)
			return nil
		}
		if !regular {
			ready, err := false, error(nil)
			if left := time.Until(deadline); left > 0 {
				ready, err = sys.PollIn(fd, left.Round(time.Millisecond))
			}
			if err != nil {
				return err
			}
			if !ready {
				sys.Note("stopped after %d bytes: nothing more came in time (-read-timeout); the writer may still have it open", copied)
				return nil
			}
		}
		n, err := sys.Read(fd, buf[:min(len(buf), limit-copied)])
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := os.Stdout.Write(buf[:n]); err != nil {
			return err
		}
		copied += n
	}
}
