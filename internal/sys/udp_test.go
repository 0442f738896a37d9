//go:build linux

package sys_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/proctest"
	"socklab/internal/sys"
	"socklab/internal/tracetest"
)

// The datagram and unix-socket wrappers, checked the same way as the TCP
// ones in strace_test.go: the test binary runs itself as a helper under
// strace, makes a fixed series of calls, and the printed trace must equal
// the calls strace saw.

// helperCalls maps a helper's name to the calls it makes.
var helperCalls = map[string]func(){
	"udp":  udpCalls,
	"unix": unixCalls,
}

// TestHelperProcess is not a test: run with SOCKLAB_HELPER set, it makes
// that helper's calls and exits.
func TestHelperProcess(t *testing.T) {
	name := os.Getenv("SOCKLAB_HELPER")
	if name == "" {
		t.Skip("only runs as a helper process")
	}
	helperCalls[name]()
	os.Exit(0)
}

// udpCalls: a datagram round trip, truncation seen through MSG_TRUNC, a
// receive timeout, and connected UDP hearing ECONNREFUSED from a closed
// port.
func udpCalls() {
	loop := [4]byte{127, 0, 0, 1}
	srv, _ := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	sys.Bind(srv, &unix.SockaddrInet4{Addr: loop})
	srvAddr, _ := sys.Getsockname(srv)
	cli, _ := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	sys.Sendto(cli, []byte("hi"), 0, srvAddr)
	buf := make([]byte, 65536)
	_, from, _ := sys.Recvfrom(srv, buf, 0)
	sys.Sendto(srv, []byte("a reply longer than thirty-two bytes, to see the dots"), 0, from)
	sys.Recvfrom(cli, buf[:4], 0) // the rest is lost, silently
	sys.Sendto(cli, []byte("hello world"), 0, srvAddr)
	sys.Recvfrom(srv, buf[:4], unix.MSG_TRUNC) // = 11: the real size
	sys.SetsockoptTimeval(cli, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 20*time.Millisecond)
	sys.Recvfrom(cli, buf, 0) // nothing comes: EAGAIN
	// An address too long for sun_path is refused before the call.
	sys.Sendto(cli, []byte("x"), 0, &unix.SockaddrUnix{Name: strings.Repeat("x", 200)})
	sys.Close(cli)

	// Connected UDP to a port nobody listens on: the kernel's ICMP "port
	// unreachable" comes back as ECONNREFUSED on a later call.
	gone, _ := sys.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
	sys.Bind(gone, &unix.SockaddrInet6{Addr: [16]byte{15: 1}})
	goneAddr, _ := sys.Getsockname(gone)
	sys.Close(gone)
	c6, _ := sys.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
	sys.Connect(c6, goneAddr)
	sys.Sendto(c6, []byte("anyone?"), 0, nil)
	sys.SetsockoptTimeval(c6, unix.SOL_SOCKET, unix.SO_RCVTIMEO, time.Second)
	sys.Recvfrom(c6, buf, 0)
	sys.Close(c6)
	sys.Close(srv)
}

// unixCalls: socketpair, peer credentials, a descriptor passed with
// SCM_RIGHTS and read on the other side, and datagrams between an
// abstract name and an autobound one, with SCM_CREDENTIALS.
func unixCalls() {
	pair, _ := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	sys.GetsockoptPeerCred(pair[1])
	file, _ := sys.OpenRead(os.Getenv("SOCKLAB_FILE"))
	sys.Sendmsg(pair[0], []byte("here"), unix.UnixRights(file, file), nil, 0)
	sys.Close(file)
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, _ := sys.Recvmsg(pair[1], buf[:10], oob, 0)
	fds, _ := sys.Rights(oob[:oobn])
	for _, fd := range fds {
		sys.Read(fd, buf)
		sys.Close(fd)
	}
	sys.Sendmsg(pair[0], []byte("no control message"), nil, nil, 0)
	sys.Recvmsg(pair[1], buf[:3], oob, 0)
	sys.Close(pair[0])
	sys.Close(pair[1])

	name := "@socklab-sys-test-" + os.Getenv("SOCKLAB_HELPER_ID")
	srv, _ := sys.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	sys.Bind(srv, &unix.SockaddrUnix{Name: name})
	sys.PassCred(srv)
	cli, _ := sys.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	sys.Bind(cli, &unix.SockaddrUnix{}) // autobind: the kernel picks an abstract name
	sys.Sendmsg(cli, []byte("hello"), nil, &unix.SockaddrUnix{Name: name}, 0)
	sys.Recvmsg(srv, buf[:3], oob, 0) // MSG_TRUNC in msg_flags, credentials in control
	anon, _ := sys.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	sys.Sendto(anon, []byte("from nobody"), 0, &unix.SockaddrUnix{Name: name})
	sys.Recvfrom(srv, buf, 0) // the sender has no address: [112 => 0]
	sys.SetsockoptTimeval(srv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 10*time.Millisecond)
	sys.Recvmsg(srv, buf, oob, 0) // EAGAIN
	sys.Close(anon)
	sys.Close(cli)
	sys.Close(srv)
}

// runHelper runs one helper under strace and compares the two traces.
func runHelper(t *testing.T, name string, extraKinds []string, env ...string) string {
	t.Helper()
	proctest.Need(t, "strace", tracetest.Available())
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := tracetest.Command(log, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), append(env, "SOCKLAB_HELPER="+name, "SOCKLAB_HELPER_ID="+filepath.Base(t.TempDir()),
		"GODEBUG=containermaxprocs=0")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[int]bool{}
	for fd := 3; fd < 64; fd++ {
		keep[fd] = true
	}
	ours := tracetest.Ours(stderr.String())
	theirs := tracetest.Theirs(string(raw), extraKinds, keep)
	if d := tracetest.Diff(ours, theirs); d != "" {
		t.Fatal(d)
	}
	return strings.Join(ours, "\n")
}

func TestDatagramTraceMatchesStrace(t *testing.T) {
	got := runHelper(t, "udp", nil)
	for _, want := range []string{
		`recvfrom(3, "hell", 4, MSG_TRUNC, {sa_family=AF_INET, sin_port=htons(`,
		`}, [112 => 16]) = 11`,
		`setsockopt(4, SOL_SOCKET, SO_RCVTIMEO_OLD, "\0\0\0\0\0\0\0\0 N\0\0\0\0\0\0", 16) = 0`,
		`= -1 EAGAIN (Resource temporarily unavailable)`,
		`, [112]) = -1 ECONNREFUSED (Connection refused)`,
		`sendto(4, "anyone?", 7, 0, NULL, 0) = 7`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the trace has no %s\ntrace:\n%s", want, got)
		}
	}
	if strings.Contains(got, strings.Repeat("x", 100)) {
		t.Errorf("a sendto refused before the call was printed:\n%s", got)
	}
}

func TestUnixTraceMatchesStrace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(file, []byte("the secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The received descriptors are for this file; strace -y names it.
	got := runHelper(t, "unix", []string{file}, "SOCKLAB_FILE="+file)
	for _, want := range []string{
		`socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0`,
		`getsockopt(4, SOL_SOCKET, SO_PEERCRED, {pid=`,
		`cmsg_type=SCM_RIGHTS, cmsg_data=[5, 5]}], msg_controllen=24, msg_flags=0}, 0) = 4`,
		`read(5, "the secret\n", 4096) = 11`,
		`cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=`,
		`msg_flags=MSG_TRUNC}, 0) = 3`,
		`[112 => 0]) = 11`,
		`recvmsg(3, {msg_namelen=112}, 0) = -1 EAGAIN`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the trace has no %s\ntrace:\n%s", want, got)
		}
	}
}

func TestUnixAddrRefusesWhatWouldBeCut(t *testing.T) {
	long := "/" + strings.Repeat("d", sys.MaxUnixPath)
	if _, err := sys.UnixAddr(long); err == nil || !strings.Contains(err.Error(), "sun_path holds at most 107") {
		t.Errorf("UnixAddr(%d bytes) = %v, want the sun_path error", len(long), err)
	}
	if _, err := sys.UnixAddr(long[:sys.MaxUnixPath]); err != nil {
		t.Errorf("UnixAddr(%d bytes): %v", sys.MaxUnixPath, err)
	}
	if _, err := sys.UnixAddr("@x"); err == nil {
		t.Error("a path starting with @ was taken")
	}
	if _, err := sys.AbstractAddr(strings.Repeat("a", 108)); err == nil {
		t.Error("a 108-byte abstract name was taken")
	}
	// A long path is printed whole, as strace prints file names.
	path := "/tmp/" + strings.Repeat("p", 60) + "/s.sock"
	if got := sys.Sockaddr(&unix.SockaddrUnix{Name: path}); got != `{sa_family=AF_UNIX, sun_path="`+path+`"}` {
		t.Errorf("Sockaddr = %s", got)
	}
}

// The package builds on macOS and FreeBSD too; there the Linux-only calls
// say so. (Run by CI's cross-compilation, checked here by building.)
func TestOtherSystemsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building for darwin and freebsd (slow)")
	}
	for _, goos := range []string{"darwin", "freebsd"} {
		cmd := exec.Command("go", "vet", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s go vet: %v\n%s", goos, err, out)
		}
	}
}
