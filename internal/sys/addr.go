package sys

import (
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// ParseAddr turns the -addr flag's HOST:PORT into the address family and
// the sockaddr that bind and connect take:
//
//	127.0.0.1:7000  IPv4
//	[::1]:7000      IPv6
//	:7000           every interface; an IPv6 socket ("::") that also takes
//	                IPv4 connections, because IPV6_V6ONLY is off (dual stack)
//	localhost:7000  127.0.0.1 (no DNS: socklab only takes numbers, so the
//	                trace shows exactly the address used)
func ParseAddr(s string) (domain int, sa unix.Sockaddr, err error) {
	host, portText, err := splitHostPort(s)
	if err != nil {
		return 0, nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return 0, nil, fmt.Errorf("bad port %q in %q: want a number from 0 to 65535", portText, s)
	}
	switch host {
	case "":
		return unix.AF_INET6, &unix.SockaddrInet6{Port: port}, nil
	case "localhost":
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return 0, nil, fmt.Errorf("bad address %q in %q: want a numeric IPv4 or IPv6 address (127.0.0.1, [::1])", host, s)
	}
	if ip.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: port, Addr: ip.As4()}, nil
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: port, Addr: ip.As16()}, nil
}

func splitHostPort(s string) (host, port string, err error) {
	if len(s) > 0 && s[0] == '[' {
		for i := 1; i < len(s); i++ {
			if s[i] == ']' {
				if i+1 < len(s) && s[i+1] == ':' {
					return s[1:i], s[i+2:], nil
				}
				break
			}
		}
		return "", "", fmt.Errorf("bad address %q: want [IPv6]:PORT, like [::1]:7000", s)
	}
	last := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			last = i
			break
		}
	}
	if last < 0 {
		return "", "", fmt.Errorf("bad address %q: want HOST:PORT, like 127.0.0.1:7000", s)
	}
	host, port = s[:last], s[last+1:]
	for i := 0; i < len(host); i++ {
		if host[i] == ':' {
			return "", "", fmt.Errorf("bad address %q: put an IPv6 address in brackets, like [::1]:7000", s)
		}
	}
	return host, port, nil
}

// PortOf is the port of an IPv4 or IPv6 address, 0 for any other kind.
func PortOf(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// DualStack reports whether sa is IPv6's "any" address, ::, which also
// takes IPv4 peers while IPV6_V6ONLY is off.
func DualStack(sa unix.Sockaddr) bool {
	a, ok := sa.(*unix.SockaddrInet6)
	return ok && a.Addr == [16]byte{}
}
