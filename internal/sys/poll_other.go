//go:build !linux

package sys

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PollIn is poll(2) on one descriptor for POLLIN: wait at most d until fd
// has something to read (or its end, or an error). It returns false on a
// timeout. EINTR is retried, visibly.
func PollIn(fd int, d time.Duration) (bool, error) {
	for {
		msec := int(max(d, 0).Milliseconds())
		args := fmt.Sprintf("[{fd=%s, events=POLLIN}], 1, %d", fdArg(fd), msec)
		if tracing {
			pause("poll", args, fd)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, msec)
		if tracing {
			line := callLine("poll", args, n, err, fd)
			if err == nil {
				after := " (Timeout)"
				if n > 0 {
					after = fmt.Sprintf(" ([{fd=%s, revents=%s}])", fdArg(fd), pollEvents(fds[0].Revents))
				}
				line = strings.Replace(line, "\n", after+"\n", 1)
			}
			printRaw(line)
		}
		if err == unix.EINTR {
			retryNote()
			continue
		}
		return n > 0, err
	}
}
