//go:build !linux

package sys

// tcpInfo is the part of the kernel's struct tcp_info that -explain shows.
type tcpInfo struct {
	AcceptQueue int
	Backlog     int
}

// tcpState is Linux-only (getsockopt TCP_INFO); elsewhere -explain shows
// the plain-language line without the state.
func tcpState(fd int) (state string, info *tcpInfo, ok bool) { return "", nil, false }
