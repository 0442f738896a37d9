package sys

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Two calls for a program handed a descriptor it did not open itself
// (SCM_RIGHTS): fstat to learn what kind of file it is before trusting
// it, and poll to wait for it with a time limit, since a pipe or a socket
// may keep a reader waiting forever.

// Fstat is fstat(2): what the open file behind fd is (st_mode's type
// bits: regular file, pipe, socket, device…), its permissions and size,
// shown as strace shows them.
func Fstat(fd int) (unix.Stat_t, error) {
	if tracing {
		pause("fstat", fdArg(fd)+", …", fd)
	}
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	if tracing {
		val := "0x…"
		if err == nil {
			val = statArg(st)
		}
		emit("fstat", fdArg(fd)+", "+val, 0, err, fd)
	}
	return st, err
}

// statArg is strace's short form of a struct stat.
func statArg(st unix.Stat_t) string {
	mode := uint32(st.Mode)
	if t := mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		return fmt.Sprintf("{st_mode=%s|%#o, st_rdev=makedev(%#x, %#x), ...}", fileType(mode), mode&0o7777, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
	}
	return fmt.Sprintf("{st_mode=%s|%#o, st_size=%d, ...}", fileType(mode), mode&0o7777, st.Size)
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "S_IFREG"
	case unix.S_IFDIR:
		return "S_IFDIR"
	case unix.S_IFLNK:
		return "S_IFLNK"
	case unix.S_IFIFO:
		return "S_IFIFO"
	case unix.S_IFCHR:
		return "S_IFCHR"
	case unix.S_IFBLK:
		return "S_IFBLK"
	case unix.S_IFSOCK:
		return "S_IFSOCK"
	}
	return fmt.Sprintf("%#o", mode&unix.S_IFMT)
}

var pollNames = []bitName{
	{unix.POLLIN, "POLLIN"}, {unix.POLLPRI, "POLLPRI"}, {unix.POLLOUT, "POLLOUT"},
	{unix.POLLERR, "POLLERR"}, {unix.POLLHUP, "POLLHUP"}, {unix.POLLNVAL, "POLLNVAL"},
}

func pollEvents(ev int16) string { return flagNames(uint64(uint16(ev)), pollNames) }

func init() {
	about["fstat"] = "ask what the open file behind the descriptor is: its type (file, pipe, socket, device), permissions and size"
	about["poll"] = "wait, at most the given time, until the descriptor has something to read"
	about["ppoll"] = about["poll"]
}

// MsgCmsgCloexec is recvmsg's MSG_CMSG_CLOEXEC on Linux (descriptors that
// arrive are marked close-on-exec at once, so no child process inherits
// them); 0 elsewhere.
const MsgCmsgCloexec = msgCmsgCloexec
