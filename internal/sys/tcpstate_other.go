//go:build !linux

package sys

// TCPInfo is the part of the kernel's struct tcp_info that -explain shows.
type TCPInfo struct {
	AcceptQueue int
	Backlog     int
}

// TCPState is Linux-only (getsockopt TCP_INFO); elsewhere -explain shows
// the plain-language line without the state.
func TCPState(fd int) (state string, info *TCPInfo, ok bool) { return "", nil, false }
