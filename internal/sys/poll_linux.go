package sys

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PollIn waits at most d until fd has something to read (or its end, or
// an error), and returns false on a timeout. On Linux it is ppoll(2), the
// call x/sys makes for poll (and strace names): the time is a struct
// timespec, and the kernel writes back what was left of it. EINTR is
// retried, visibly.
func PollIn(fd int, d time.Duration) (bool, error) {
	for {
		ts := unix.NsecToTimespec(max(d, 0).Nanoseconds())
		args := ""
		if tracing {
			args = fmt.Sprintf("[{fd=%s, events=POLLIN}], 1, %s, NULL, 0", fdArg(fd), timespecArg(ts))
			pause("ppoll", args, fd)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Ppoll(fds, &ts, nil)
		if tracing {
			// strace adds what came back: ([{fd=5, revents=POLLIN}], left {…}), or (Timeout).
			line := callLine("ppoll", args, n, err, fd)
			if err == nil {
				after := " (Timeout)"
				if n > 0 {
					after = fmt.Sprintf(" ([{fd=%s, revents=%s}], left %s)", fdArg(fd), pollEvents(fds[0].Revents), timespecArg(ts))
				}
				line = strings.Replace(line, "\n", after+"\n", 1)
			}
			printRaw(line)
		}
		if err == unix.EINTR {
			retryNote()
			d = time.Duration(ts.Nano()) // what the kernel says was left
			continue
		}
		return n > 0, err
	}
}

func timespecArg(ts unix.Timespec) string {
	return fmt.Sprintf("{tv_sec=%d, tv_nsec=%d}", ts.Sec, ts.Nsec)
}
