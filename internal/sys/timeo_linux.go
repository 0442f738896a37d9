package sys

import "golang.org/x/sys/unix"

// SO_SNDTIMEO's name as strace 6.1 prints it on Linux (tcpclient -conns
// bounds a blocking connect with it). Like SO_RCVTIMEO, it is the "old"
// variant: the struct timeval with the machine's own time_t.
func init() {
	optNames[[2]int{unix.SOL_SOCKET, unix.SO_SNDTIMEO}] = "SO_SNDTIMEO_OLD"
}
