package sys

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// This file turns call arguments into strace's notation. Nothing here
// makes a system call.

// StringLimit is how many bytes of a buffer are shown, like strace's
// default `-s 32`; longer data ends in `"..."...`.
var StringLimit = 32

// Quote formats the first n bytes of p as strace does: printable ASCII as
// is, the usual C escapes, other bytes in octal.
func Quote(p []byte) string { return quoteN(p, StringLimit) }

// quoteAll is Quote without the length limit: strace prints file names
// (a unix socket's sun_path, openat's path) in full whatever -s says.
func quoteAll(p []byte) string { return quoteN(p, len(p)) }

func quoteN(p []byte, limit int) string {
	var b strings.Builder
	b.WriteByte('"')
	show := p
	if len(show) > limit {
		show = show[:limit]
	}
	for i, c := range show {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		default:
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
				continue
			}
			// Octal with as few digits as possible, unless the next
			// byte is itself an octal digit: then all three, so the
			// reader can tell where the escape ends.
			b.WriteByte('\\')
			if i+1 < len(show) && show[i+1] >= '0' && show[i+1] <= '7' {
				fmt.Fprintf(&b, "%03o", c)
			} else {
				b.WriteString(strconv.FormatUint(uint64(c), 8))
			}
		}
	}
	b.WriteByte('"')
	if len(p) > limit {
		b.WriteString("...")
	}
	return b.String()
}

// Sockaddr formats an address as strace shows the struct:
// {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("127.0.0.1")}.
func Sockaddr(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return fmt.Sprintf(`{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("%s")}`,
			a.Port, netip.AddrFrom4(a.Addr))
	case *unix.SockaddrInet6:
		return fmt.Sprintf(`{sa_family=AF_INET6, sin6_port=htons(%d), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "%s", &sin6_addr), sin6_scope_id=%d}`,
			a.Port, netip.AddrFrom16(a.Addr), a.ZoneId)
	case *unix.SockaddrUnix:
		switch {
		case a.Name == "":
			return "{sa_family=AF_UNIX}"
		case a.Name[0] == '@':
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=@%s}", quoteAll([]byte(a.Name[1:])))
		default:
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=%s}", quoteAll([]byte(a.Name)))
		}
	case nil:
		return "NULL"
	}
	return fmt.Sprintf("%v", sa)
}

// SockaddrLen is the length the kernel gets or returns with the address:
// 16 for IPv4, 28 for IPv6, and for a unix socket the family, the path and
// (except for abstract names) its closing NUL.
func SockaddrLen(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return unix.SizeofSockaddrInet4
	case *unix.SockaddrInet6:
		return unix.SizeofSockaddrInet6
	case *unix.SockaddrUnix:
		switch {
		case a.Name == "":
			return 2
		case a.Name[0] == '@':
			return 2 + len(a.Name)
		default:
			return 2 + len(a.Name) + 1
		}
	}
	return 0
}

// lenInOut is strace's value-result length: [16] when the kernel left it
// alone, [112 => 16] when it changed it. x/sys always offers room for the
// largest address (112 bytes).
func lenInOut(in, out int) string {
	if in == out {
		return "[" + itoa(in) + "]"
	}
	return "[" + itoa(in) + " => " + itoa(out) + "]"
}

// Addr formats an address for people: 127.0.0.1:7000, [::1]:7000,
// /tmp/echo.sock, @name.
func Addr(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		if a.Name == "" {
			return "(unnamed)"
		}
		return a.Name
	}
	return "?"
}

// names for the constants strace spells out.
var (
	familyNames = map[int]string{unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6", unix.AF_UNIX: "AF_UNIX"}
	typeNames   = map[int]string{unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM", unix.SOCK_SEQPACKET: "SOCK_SEQPACKET", unix.SOCK_RAW: "SOCK_RAW"}
	protoNames  = map[int]string{unix.IPPROTO_TCP: "IPPROTO_TCP", unix.IPPROTO_UDP: "IPPROTO_UDP"}
	levelNames  = map[int]string{unix.SOL_SOCKET: "SOL_SOCKET", unix.IPPROTO_TCP: "SOL_TCP", unix.IPPROTO_IP: "SOL_IP", unix.IPPROTO_IPV6: "SOL_IPV6", unix.IPPROTO_UDP: "SOL_UDP"}
	optNames    = map[[2]int]string{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR}:  "SO_REUSEADDR",
		{unix.SOL_SOCKET, unix.SO_REUSEPORT}:  "SO_REUSEPORT",
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE}:  "SO_KEEPALIVE",
		{unix.SOL_SOCKET, unix.SO_RCVBUF}:     "SO_RCVBUF",
		{unix.SOL_SOCKET, unix.SO_SNDBUF}:     "SO_SNDBUF",
		{unix.SOL_SOCKET, unix.SO_ERROR}:      "SO_ERROR",
		{unix.SOL_SOCKET, unix.SO_LINGER}:     "SO_LINGER",
		{unix.SOL_SOCKET, unix.SO_BROADCAST}:  "SO_BROADCAST",
		{unix.SOL_SOCKET, unix.SO_TYPE}:       "SO_TYPE",
		{unix.IPPROTO_TCP, unix.TCP_NODELAY}:  "TCP_NODELAY",
		{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY}: "IPV6_V6ONLY",
	}
)

func family(d int) string {
	if s, ok := familyNames[d]; ok {
		return s
	}
	return itoa(d)
}

// sockType formats socket's type argument with its flags:
// SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK.
func sockType(t int) string {
	s, ok := typeNames[t&0xf]
	if !ok {
		s = itoa(t & 0xf)
	}
	if t&sockCloexec != 0 {
		s += "|SOCK_CLOEXEC"
	}
	if t&sockNonblock != 0 {
		s += "|SOCK_NONBLOCK"
	}
	return s
}

// sockProto: strace names protocol 0 IPPROTO_IP for internet sockets and
// leaves it 0 for the others.
func sockProto(domain, p int) string {
	if s, ok := protoNames[p]; ok {
		return s
	}
	if p == 0 && (domain == unix.AF_INET || domain == unix.AF_INET6) {
		return "IPPROTO_IP"
	}
	return itoa(p)
}

// acceptFlags formats accept4's flags: 0, SOCK_CLOEXEC, SOCK_NONBLOCK or both.
func acceptFlags(f int) string {
	if f == 0 {
		return "0"
	}
	var parts []string
	if f&sockCloexec != 0 {
		parts = append(parts, "SOCK_CLOEXEC")
	}
	if f&sockNonblock != 0 {
		parts = append(parts, "SOCK_NONBLOCK")
	}
	return strings.Join(parts, "|")
}

func level(l int) string {
	if s, ok := levelNames[l]; ok {
		return s
	}
	return itoa(l)
}

func option(l, o int) string {
	if s, ok := optNames[[2]int{l, o}]; ok {
		return s
	}
	return itoa(o)
}

func shutdownHow(how int) string {
	switch how {
	case unix.SHUT_RD:
		return "SHUT_RD"
	case unix.SHUT_WR:
		return "SHUT_WR"
	case unix.SHUT_RDWR:
		return "SHUT_RDWR"
	}
	return itoa(how)
}

// bitName names one bit of a flags argument, as strace spells it.
type bitName struct {
	bit  uint64
	name string
}

// flagNames formats a flags argument as strace does: the names of the set
// bits joined with |, in the table's order, any unnamed rest in hex, and
// 0 for none.
func flagNames(f uint64, names []bitName) string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range names {
		if n.bit != 0 && f&n.bit != 0 {
			parts = append(parts, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", f))
	}
	return strings.Join(parts, "|")
}

var msgFlagNames = []bitName{
	{unix.MSG_OOB, "MSG_OOB"}, {unix.MSG_PEEK, "MSG_PEEK"}, {unix.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{unix.MSG_CTRUNC, "MSG_CTRUNC"}, {unix.MSG_TRUNC, "MSG_TRUNC"}, {unix.MSG_DONTWAIT, "MSG_DONTWAIT"},
	{unix.MSG_EOR, "MSG_EOR"}, {unix.MSG_WAITALL, "MSG_WAITALL"}, {msgNosignal, "MSG_NOSIGNAL"},
	{msgCmsgCloexec, "MSG_CMSG_CLOEXEC"},
}

// msgFlags formats send/recv flags: 0, MSG_DONTWAIT, MSG_TRUNC|MSG_PEEK…
func msgFlags(f int) string { return flagNames(uint64(uint32(f)), msgFlagNames) }

// pointer formats a buffer's address the way strace shows a buffer it
// did not read (a failed read): 0xc000180000.
func pointer(p []byte) string {
	if len(p) == 0 {
		return "NULL"
	}
	return fmt.Sprintf("%p", &p[0])
}
