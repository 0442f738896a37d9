package sys

import "golang.org/x/sys/unix"

// tcpStates are the kernel's names for TCP states, numbered as in
// include/net/tcp_states.h.
var tcpStates = []string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"}

// tcpState asks the kernel for the socket's TCP state with
// getsockopt(TCP_INFO). That is a system call of its own (strace shows
// it); it is not traced, because it is the microscope, not the lesson.
// ok is false for a socket that is not TCP.
func tcpState(fd int) (state string, info *tcpInfo, ok bool) {
	ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || int(ti.State) >= len(tcpStates) {
		return "", nil, false
	}
	// For a listening socket the kernel reuses two fields: how many
	// connections wait in the accept queue, and the queue's size.
	return tcpStates[ti.State], &tcpInfo{AcceptQueue: int(ti.Unacked), Backlog: int(ti.Sacked)}, true
}

// tcpInfo is the part of the kernel's struct tcp_info that -explain shows.
type tcpInfo struct {
	AcceptQueue int // LISTEN sockets: connections waiting for accept
	Backlog     int // LISTEN sockets: the queue's size
}
