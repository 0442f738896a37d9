package sys

import "golang.org/x/sys/unix"

// threadID is the calling thread's id (gettid(2)), to tell the thread
// running a stop function from the others (see ExitOnStopSignal).
func threadID() int64 { return int64(unix.Gettid()) }
