package sys

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// This file is -explain and -step: the words around the trace.

// about says in plain words what each call does. -step shows it before the
// call, -explain after it.
var about = map[string]string{
	"socket":        "ask the kernel for a new socket; the answer is a file descriptor",
	"setsockopt":    "change one of the socket's options",
	"getsockopt":    "read one of the socket's options",
	"bind":          "give the socket its local address and port",
	"listen":        "mark the socket as a server socket; the kernel now completes handshakes and queues connections",
	"accept4":       "take the next connection from the queue (waits while the queue is empty); it gets a new descriptor",
	"connect":       "reach the server: for TCP the three-way handshake (SYN, SYN-ACK, ACK)",
	"read":          "copy bytes that have arrived into our buffer (waits if none have); 0 means the peer is done sending",
	"write":         "hand bytes to the kernel to send; it may take fewer than offered",
	"shutdown":      "close one direction: SHUT_WR sends FIN, 'no more data from me', and reading still works",
	"close":         "give the descriptor back; the last close of a socket ends the connection",
	"getsockname":   "ask which local address and port the socket has",
	"getpeername":   "ask the address of the other end",
	"sendto":        "send one datagram to the address given",
	"recvfrom":      "take one datagram and learn who sent it",
	"sendmsg":       "send data, with an address and control messages (like descriptors) if any",
	"recvmsg":       "receive data, the sender's address and control messages",
	"socketpair":    "make two sockets already connected to each other",
	"epoll_create1": "make an epoll instance: a kernel-side list of sockets to watch",
	"epoll_ctl":     "add, change or remove a socket in the epoll watch list",
	"epoll_wait":    "wait until some watched socket is ready, or the timeout passes",
	"epoll_pwait":   "wait until some watched socket is ready, or the timeout passes",
	"writev":        "send several buffers with one call",
	"openat":        "open a file; the answer is a descriptor, like a socket's",
}

// fdInfo remembers, for -explain and -step, the addresses a descriptor was
// given, so the hints can name a port without extra system calls.
type fdInfo struct {
	local, peer  unix.Sockaddr
	ssKind       string // ss's option for this socket's kind: "t" TCP, "u" UDP, "x" unix; "" not known
	finSent      bool   // shutdown(SHUT_WR or SHUT_RDWR) was called: this end closed first
	timeWaitSaid bool   // timeWaitNote was printed for it
}

var (
	fdMu sync.Mutex
	fds  = map[int]fdInfo{}
)

func remember(fd int, local, peer unix.Sockaddr) {
	if !explain && !stepping {
		return
	}
	fdMu.Lock()
	info := fds[fd]
	if local != nil {
		info.local = local
	}
	if peer != nil {
		info.peer = peer
	}
	fds[fd] = info
	fdMu.Unlock()
}

// rememberKind notes what socket() made, so -step suggests the ss
// command that lists that kind of socket (ss -t shows no UDP or unix ones).
func rememberKind(fd, domain, typ int) {
	if !stepping {
		return
	}
	kind := "t"
	switch {
	case domain == unix.AF_UNIX:
		kind = "x"
	case typ&0xf == unix.SOCK_DGRAM:
		kind = "u"
	}
	fdMu.Lock()
	info := fds[fd]
	info.ssKind = kind
	fds[fd] = info
	fdMu.Unlock()
}

// rememberFIN notes a shutdown that sent FIN, so that -explain can say
// where the connection went once the descriptor reports CLOSE.
func rememberFIN(fd, how int) {
	if !explain || how == unix.SHUT_RD {
		return
	}
	fdMu.Lock()
	info := fds[fd]
	info.finSent = true
	fds[fd] = info
	fdMu.Unlock()
}

// firstCloseAfterFIN reports whether fd sent FIN first and this is the
// first time -explain shows it in CLOSE: timeWaitNote is said once.
func firstCloseAfterFIN(fd int) bool {
	fdMu.Lock()
	defer fdMu.Unlock()
	info := fds[fd]
	if !info.finSent || info.timeWaitSaid {
		return false
	}
	info.timeWaitSaid = true
	fds[fd] = info
	return true
}

func forget(fd int) {
	if !explain && !stepping {
		return
	}
	fdMu.Lock()
	delete(fds, fd)
	fdMu.Unlock()
}

func lookup(fd int) fdInfo {
	fdMu.Lock()
	defer fdMu.Unlock()
	return fds[fd]
}

func writeExplanation(b *strings.Builder, name string, fd int, err error) {
	text := about[name]
	if err != nil {
		text = Describe(err)
		if h := Hint(err); h != "" {
			text += ": " + h
		}
	}
	if text != "" {
		b.WriteString(paint(explainColor, "    # "+text) + "\n")
	}
	if fd < 0 {
		return
	}
	state, info, ok := tcpState(fd)
	if !ok {
		return
	}
	line := "    # TCP state: " + state
	if state == "LISTEN" {
		line += fmt.Sprintf(" (accept queue: %d waiting, room for %d)", info.AcceptQueue, info.Backlog)
	}
	b.WriteString(paint(explainColor, line+"  [getsockopt TCP_INFO]") + "\n")
	if state == "CLOSE" && firstCloseAfterFIN(fd) {
		b.WriteString(paint(explainColor, timeWaitNote) + "\n")
	}
}

// timeWaitNote explains the CLOSE that TCP_INFO reports once a connection
// this end closed first has ended, where ss shows TIME-WAIT. The kernel
// hands the connection's last 60 seconds to a small TIME_WAIT record of
// its own (it answers a late FIN and keeps the 4-tuple from being reused
// too soon); the socket behind our descriptor is done with it and says
// CLOSE. After close(2) even the descriptor is gone, and only ss can
// show the record.
const timeWaitNote = "    # CLOSE is this descriptor's view: we sent FIN first, so the kernel keeps the connection itself\n" +
	"    # in TIME_WAIT for about 60 s, without any descriptor (see it: ss -tan state time-wait)"

// -step reads Enter from the terminal, /dev/tty, not from stdin, which
// may carry the data being sent. The terminal is opened for each pause
// and closed again, with plain system calls, so that it never keeps a
// descriptor number: the sockets get the same numbers with -step as
// without it (an *os.File for a terminal would also bring the Go
// runtime's epoll descriptor, taking two more numbers for good).
func openTTY() error {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("-step needs a terminal to read Enter from (/dev/tty): %v", err)
	}
	unix.Close(fd)
	return nil
}

// waitForEnter reads one line from the terminal. It returns errStopping,
// without a line, once a stop signal has arrived (see OnStopSignal): it
// waits in poll(2) with a short timeout, not in read(2), so that it can
// notice. (A signal cannot be relied on to interrupt the read: Go
// delivers it to whichever thread it likes.)
func waitForEnter() error {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 256)
	for {
		if stopping.Load() {
			return errStopping
		}
		ready, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 100)
		if err == unix.EINTR || (err == nil && ready == 0) {
			continue // a signal, or 100 ms without a key: look at stopping again
		}
		if err != nil {
			return err
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue // a signal came while reading: keep waiting
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.EOF // the terminal was closed
		}
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			return nil
		}
	}
}

var errStopping = errors.New("stopping on a signal")

var (
	stepMu    sync.Mutex
	prompting atomic.Bool // a prompt is on the screen, waiting for Enter
)

// pause is -step: show the call about to be made and wait for Enter.
//
// A stop signal (OnStopSignal) ends the wait at once. The call that was
// waiting is then held back until the program's stop function has
// returned: a shutdown that closes the socket and exits must not race a
// call on that socket (without -step the call would have been blocked in
// the kernel anyway), and one that hands the work to an event loop (the
// miniio server) lets the loop go on once it has.
func pause(name, args string, fd int) {
	holdIfExiting() // no new call once the program exits on a signal
	if !stepping || stopping.Load() {
		return
	}
	stepMu.Lock()
	if stopping.Load() {
		// The signal came while another call's prompt waited.
		stepMu.Unlock()
		<-stopDone
		return
	}
	var b strings.Builder
	b.WriteString(paint(explainColor, "next: ") + paint(callColor, name) + "(" + args + ")\n")
	if text := about[name]; text != "" {
		b.WriteString(paint(explainColor, "    # "+text) + "\n")
	}
	if cmd := ssCommand(name, fd); cmd != "" {
		b.WriteString(paint(explainColor, "    # watch it in another terminal: "+cmd) + "\n")
	}
	b.WriteString(paint(explainColor, "[press Enter to make the call]"))
	printRaw(b.String())
	prompting.Store(true)
	err := waitForEnter()
	prompting.Store(false)
	stepMu.Unlock()
	switch {
	case err == errStopping:
		<-stopDone // stopStepping has ended the prompt's line
	case err != nil:
		printRaw("\n")
		stepping = false // the terminal went away: carry on without pausing
	}
}

// stopStepping ends -step for good, at once: no new prompt, and the one
// on the screen, if any, stops waiting. Its line is ended here, so that
// what the shutdown prints starts on a line of its own.
func stopStepping() {
	if stopping.Swap(true) || !stepping {
		return
	}
	if prompting.Load() {
		printRaw("\n")
	}
}

// ssCommand suggests the ss command that shows what the call changes.
func ssCommand(name string, fd int) string {
	info := lookup(fd)
	kind := info.ssKind
	if kind == "" {
		kind = "t"
	}
	switch {
	case name == "socket":
		return "ls -l /proc/" + itoa(os.Getpid()) + "/fd"
	case kind == "x" && (name == "listen" || name == "accept4"):
		return "ss -xlp"
	case kind == "x" && name == "connect":
		return "ss -xp"
	case kind == "x":
		return ""
	case PortOf(info.local) != 0 && (name == "listen" || name == "accept4"):
		return fmt.Sprintf("ss -%slnp 'sport = :%d'", kind, PortOf(info.local))
	case PortOf(info.local) != 0:
		return fmt.Sprintf("ss -%sanp 'sport = :%d or dport = :%d'", kind, PortOf(info.local), PortOf(info.local))
	case PortOf(info.peer) != 0:
		return fmt.Sprintf("ss -%sanp 'dport = :%d'", kind, PortOf(info.peer))
	case name == "connect":
		return "ss -" + kind + "anp"
	}
	return ""
}
