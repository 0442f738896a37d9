package sys

import (
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// IOVMax is how many buffers one Writev call sends at most: the kernel's
// limit (IOV_MAX) on Linux and the BSDs.
const IOVMax = 1024

// Writev is writev(2): send several buffers with one call, in order, as
// if they were one. An event loop uses it to flush everything queued for
// a connection at once (many small messages, one system call). Like
// write, it may take fewer bytes than offered; the result is the number
// of bytes taken, counted across the buffers. Only the first IOVMax
// buffers are sent.
//
// The list of (address, length) pairs the kernel reads lives on this
// function's stack for up to 64 buffers, and in a reused pooled list for
// more, so a call allocates nothing.
func Writev(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > IOVMax {
		bufs = bufs[:IOVMax]
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	var small [64]unix.Iovec
	iov := small[:]
	if len(bufs) > len(small) {
		big := bigIovecs.Get().(*[IOVMax]unix.Iovec)
		defer func() {
			*big = [IOVMax]unix.Iovec{} // drop the pointers into the caller's buffers
			bigIovecs.Put(big)
		}()
		iov = big[:]
	}
	for i, b := range bufs {
		if len(b) > 0 {
			iov[i].Base = &b[0]
		}
		iov[i].SetLen(len(b))
	}
	for {
		args := ""
		if tracing {
			args = fdArg(fd) + ", " + iovecs(bufs) + ", " + itoa(len(bufs))
			pause("writev", args, fd)
		}
		r, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(bufs)))
		err := errnoOf(e)
		n := int(r)
		if err != nil {
			n = 0
		}
		if tracing {
			emit("writev", args, n, err, fd)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		return n, err
	}
}

var bigIovecs = sync.Pool{New: func() any { return new([IOVMax]unix.Iovec) }}

// iovecs formats writev's buffer list as strace does:
// [{iov_base="hello ", iov_len=6}, {iov_base="world\n", iov_len=6}],
// each buffer cut at -s bytes and the list at -s elements.
func iovecs(bufs [][]byte) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range bufs {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == StringLimit {
			b.WriteString("...")
			break
		}
		b.WriteString("{iov_base=")
		b.WriteString(Quote(p))
		b.WriteString(", iov_len=")
		b.WriteString(itoa(len(p)))
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}
