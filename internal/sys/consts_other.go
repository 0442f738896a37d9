//go:build !linux

package sys

// On macOS there are no SOCK_CLOEXEC/SOCK_NONBLOCK type flags (fcntl sets
// them after the fact), and no MSG_NOSIGNAL (SO_NOSIGPIPE instead).
const (
	sockCloexec    = 0x10000000 // never set by socklab's programs off Linux
	sockNonblock   = 0x20000000
	msgNosignal    = 0
	msgCmsgCloexec = 0
)
