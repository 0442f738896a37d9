package tracetest

import (
	"strings"
	"testing"
)

// A piece of a real strace log (strace 6.1, -f -y), with a thread's
// unfinished call, a restart after a signal, and the runtime's own files.
const sample = `5531  socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3<socket:[5654]>
5531  write(2<pipe:[99]>, "socket(AF_INET, SOCK_STREAM, IPP"..., 46) = 46
5531  bind(3<socket:[5654]>, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
5531  listen(3<socket:[5654]>, 128)   = 0
5531  accept4(3<socket:[5654]>,  <unfinished ...>
5534  epoll_pwait(4<anon_inode:[eventpoll]>, [], 128, 0, NULL, 0) = 0
5531  <... accept4 resumed>0xc000012345, [112], 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
5531  --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=5531, si_uid=0} ---
5531  accept4(3<socket:[5654]>, {sa_family=AF_INET, sin_port=htons(40978), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], 0) = 5<socket:[5700]>
5531  read(5<socket:[5700]>, "hello\n", 4096) = 6
5531  close(5<socket:[5700]>)         = 0
5531  accept4(3<socket:[5654]>,  <unfinished ...>
5531  +++ exited with 0 +++
`

func TestTheirs(t *testing.T) {
	got := Theirs(sample, nil, nil)
	want := []string{
		`socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3`,
		`bind(3, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0`,
		`listen(3, 128) = 0`,
		`accept4(3, {sa_family=AF_INET, sin_port=htons(40978), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], 0) = 5`,
		`read(5, "hello\n", 4096) = 6`,
		`close(5) = 0`,
	}
	if d := Diff(got, want); d != "" {
		t.Fatal(d)
	}
	// The runtime's epoll descriptor is kept only when asked for by number.
	if got := Theirs(sample, []string{"anon_inode:[eventpoll]"}, map[int]bool{4: true}); len(got) != 7 {
		t.Fatalf("with epoll fd 4 kept: %d calls, want 7:\n%s", len(got), strings.Join(got, "\n"))
	}
}

func TestOursAndDiff(t *testing.T) {
	stderr := "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3\n    # explanation\n# peer 127.0.0.1:5\n\x1b[31mclose\x1b[0m(3) = 0\ntcpserver: bye\n"
	got := Ours(stderr)
	if len(got) != 2 || got[1] != "close(3) = 0" {
		t.Fatalf("Ours = %q", got)
	}
	if Diff(got, []string{"socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3", "close(3) = 0"}) != "" {
		t.Fatal("equal lists reported as different")
	}
	if Diff(got, []string{"socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"}) == "" {
		t.Fatal("a missing call was not reported")
	}
}

// socketpair returns its two descriptors in an argument, not as the
// result; openat's AT_FDCWD is decorated with the working directory.
const pairSample = `7001  socketpair(AF_UNIX, SOCK_STREAM, 0, [3<socket:[100]>, 4<socket:[101]>]) = 0
7001  pipe2([5<pipe:[102]>, 6<pipe:[102]>], O_CLOEXEC) = 0
7001  openat(AT_FDCWD</work/main>, "secret.txt", O_RDONLY|O_CLOEXEC) = 7</work/main/secret.txt>
7001  openat(AT_FDCWD</work/main>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 8</etc/hosts>
7001  close(7</work/main/secret.txt>) = 0
`

func TestTheirsSocketpairAndOpenat(t *testing.T) {
	got := Theirs(pairSample, []string{"/work/main/secret.txt"}, map[int]bool{7: true})
	want := []string{
		`socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0`,
		`openat(AT_FDCWD, "secret.txt", O_RDONLY|O_CLOEXEC) = 7`,
		`close(7) = 0`,
	}
	if d := Diff(got, want); d != "" {
		t.Fatal(d)
	}
}
