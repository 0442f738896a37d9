//go:build linux

package sys

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The expected strings below were printed by strace 6.1 for the same
// arguments (a Python program made the calls).
func TestQuoteMatchesStrace(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"hello\n", `"hello\n"`},
		{"", `""`},
		{"hi\x00\x01\x1b7\xc3\xa9\"\\\t\n", `"hi\0\1\0337\303\251\"\\\t\n"`},
		{"# Locale name alias data base.\n#xxxxx", `"# Locale name alias data base.\n#"...`},
	}
	for _, c := range cases {
		if got := Quote([]byte(c.in)); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestSockaddrMatchesStrace(t *testing.T) {
	cases := []struct {
		sa   unix.Sockaddr
		want string
		len  int
	}{
		{&unix.SockaddrInet4{Port: 7999, Addr: [4]byte{127, 0, 0, 1}},
			`{sa_family=AF_INET, sin_port=htons(7999), sin_addr=inet_addr("127.0.0.1")}`, 16},
		{&unix.SockaddrInet6{Port: 7998, Addr: [16]byte{15: 1}},
			`{sa_family=AF_INET6, sin6_port=htons(7998), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}`, 28},
		{&unix.SockaddrUnix{Name: "@abst"}, `{sa_family=AF_UNIX, sun_path=@"abst"}`, 7},
		{&unix.SockaddrUnix{Name: "/tmp/xx.sock"}, `{sa_family=AF_UNIX, sun_path="/tmp/xx.sock"}`, 15},
	}
	for _, c := range cases {
		if got := Sockaddr(c.sa); got != c.want {
			t.Errorf("Sockaddr = %s, want %s", got, c.want)
		}
		if got := SockaddrLen(c.sa); got != c.len {
			t.Errorf("SockaddrLen(%s) = %d, want %d", c.want, got, c.len)
		}
	}
}

func TestNames(t *testing.T) {
	if got := sockType(unix.SOCK_STREAM | unix.SOCK_CLOEXEC); got != "SOCK_STREAM|SOCK_CLOEXEC" {
		t.Errorf("sockType = %s", got)
	}
	if got := sockProto(unix.AF_INET, 0); got != "IPPROTO_IP" {
		t.Errorf("sockProto = %s", got)
	}
	if got := sockProto(unix.AF_UNIX, 0); got != "0" {
		t.Errorf("sockProto(AF_UNIX, 0) = %s", got)
	}
	if got := ErrnoName(unix.EAGAIN) + " (" + ErrnoText(unix.EAGAIN) + ")"; got != "EAGAIN (Resource temporarily unavailable)" {
		t.Errorf("EAGAIN = %s", got)
	}
	if got := ErrnoName(unix.ECONNREFUSED) + " (" + ErrnoText(unix.ECONNREFUSED) + ")"; got != "ECONNREFUSED (Connection refused)" {
		t.Errorf("ECONNREFUSED = %s", got)
	}
	if got := lenInOut(112, 16); got != "[112 => 16]" {
		t.Errorf("lenInOut = %s", got)
	}
}

func TestParseAddr(t *testing.T) {
	good := map[string]string{
		"127.0.0.1:7000": "127.0.0.1:7000",
		"[::1]:7000":     "[::1]:7000",
		":7000":          "[::]:7000",
		"localhost:80":   "127.0.0.1:80",
	}
	for in, want := range good {
		_, sa, err := ParseAddr(in)
		if err != nil || Addr(sa) != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, Addr(sa), err, want)
		}
	}
	for _, bad := range []string{"", "7000", "::1:7000", "127.0.0.1:99999", "example.com:80", "[::1]7000", "1.2.3.4:x"} {
		if _, _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) gave no error", bad)
		}
	}
}
