package sys

import "golang.org/x/sys/unix"

// Flags and options that only Linux has, or that other systems number
// differently; the other systems' file sets them to 0 or leaves them out.
const (
	sockCloexec    = unix.SOCK_CLOEXEC
	sockNonblock   = unix.SOCK_NONBLOCK
	msgNosignal    = unix.MSG_NOSIGNAL
	msgCmsgCloexec = unix.MSG_CMSG_CLOEXEC
)

func init() {
	optNames[[2]int{unix.SOL_SOCKET, unix.SO_PEERCRED}] = "SO_PEERCRED"
	optNames[[2]int{unix.SOL_SOCKET, unix.SO_PASSCRED}] = "SO_PASSCRED"
	optNames[[2]int{unix.SOL_SOCKET, unix.SO_RCVTIMEO}] = "SO_RCVTIMEO_OLD"
	optNames[[2]int{unix.IPPROTO_TCP, unix.TCP_INFO}] = "TCP_INFO"
	optNames[[2]int{unix.IPPROTO_IP, unix.IP_RECVERR}] = "IP_RECVERR"
}
