package main

// -mode threads: one goroutine per connection, each making the same
// blocking calls as the iterative server (read waits until data comes).
// While one client is quiet, the others are served by their own
// goroutines.
//
//	Terminal A:  ./bin/tcpserver -mode threads
//	Terminal B:  ./bin/tcpclient -q -conns 1000 -hold 30s
//	Terminal C:  ls /proc/$(pgrep -n tcpserver)/task | wc -l   # about 1000 threads
//
// Why a goroutine here costs an OS thread: read(2) on a blocking socket
// puts the calling thread to sleep in the kernel until data arrives. Go
// cannot run anything else on a thread the kernel holds, so when a
// goroutine enters a system call that does not come back quickly, the
// runtime hands its other goroutines to another thread, starting a new
// one if none is free. A thousand goroutines asleep in read are a
// thousand sleeping threads. (Go's own net package avoids this: its
// sockets are non-blocking and a goroutine waiting for data is parked in
// Go's scheduler, with one epoll for the whole program; lesson 7 builds
// the same idea by hand.)
//
// See: lessons/06-many-clients.md; man 7 pthreads, man 5 proc (/proc/PID/task).

import (
	"bytes"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// maxThreads: Go stops a program that makes more than 10,000 OS threads
// (debug.SetMaxThreads), which a thread per connection reaches at 10,000
// clients. This mode raises Go's limit; the kernel's own limits remain
// (ulimit -u, /proc/sys/kernel/threads-max, pid_max, a container's
// pids.max), and they are worse: when the kernel refuses a new thread,
// the Go runtime cannot go on and stops the whole program ("fatal error:
// newosproc"), every client with it. So the server must never ask for
// one thread too many: -max-threads caps the clients served at once.
const maxThreads = 100_000

var maxClients = flag.Int("max-threads", 10_000, "with -mode threads: serve at most this many clients at once, one thread each (lowered to fit ulimit -u); the others wait in the listen queue")

// threadsCreated counts the OS threads the Go runtime has started.
var threadsCreated = pprof.Lookup("threadcreate")

func serveThreads(listenFD int) {
	debug.SetMaxThreads(maxThreads)
	limit := clientLimit(*maxClients)
	// A counting semaphore: one token per client being served. A
	// goroutine takes one before accept and gives it back when its
	// client is gone.
	serving := make(chan struct{}, limit)
	for {
		// At the cap, stop accepting until a client leaves. The kernel
		// goes on completing handshakes, and new clients wait in the
		// listen queue, as with the iterative server: slower, but no
		// thread is asked for that the kernel might refuse.
		select {
		case serving <- struct{}{}:
		default:
			sys.Note("%d clients are being served, the most -max-threads allows here: not accepting until one leaves (new clients wait in the listen queue)", limit)
			serving <- struct{}{}
		}
		connFD, peer, err := sys.Accept(listenFD)
		switch err {
		case nil:
		case unix.ECONNABORTED:
			<-serving
			continue // the client gave up while it waited in the queue
		case unix.EMFILE, unix.ENFILE:
			// Out of file descriptors: the client stays in the queue, and
			// accept would fail again at once, forever, at 100 % CPU.
			// Wait a little instead; a client that leaves frees one.
			<-serving
			sys.Note("%s: waiting 100ms before accepting again", sys.Describe(err))
			sleep(100 * time.Millisecond)
			continue
		default:
			sys.Fatal("accept4", err)
		}
		if sys.Tracing() {
			sys.Note("peer %s connected: fd %d, served by a goroutine of its own (clients being served: %d; the process's OS threads: %s)",
				sys.Addr(peer), connFD, len(serving), threadCount())
		}
		go func() {
			serveOne(connFD, peer)
			<-serving
		}()
	}
}

// clientLimit is -max-threads, lowered when the kernel would refuse
// threads sooner: ulimit -u (RLIMIT_NPROC) counts every thread of this
// user, and the Go runtime keeps some of its own (its scheduler's monitor,
// the garbage collector's workers, spare threads it keeps for reuse).
func clientLimit(want int) int {
	if want < 1 {
		sys.Fatalf("-max-threads must be at least 1, not %d", want)
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NPROC, &lim) != nil || lim.Cur == unix.RLIM_INFINITY {
		return want
	}
	runtimeOwn := 16 + 2*runtime.GOMAXPROCS(0)
	room := int(min(lim.Cur, 1<<30)) - runtimeOwn
	if room >= want {
		return want
	}
	room = max(room, 1)
	sys.Note("ulimit -u is %d threads for this user, and the Go runtime keeps about %d of its own: serving at most %d clients at once (fewer if other processes of this user hold threads)", lim.Cur, runtimeOwn, room)
	return room
}

// threadCount is how many OS threads the process has now: "Threads:" in
// /proc/self/status on Linux. Elsewhere, how many the runtime has started
// so far. Read with plain open/read/close, not os.ReadFile, which would
// make the Go runtime open its own epoll descriptors and shift the
// numbers of the sockets that follow.
func threadCount() string {
	fd, err := unix.Open("/proc/self/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Sprintf("%d started so far", threadsCreated.Count())
	}
	defer unix.Close(fd)
	raw := make([]byte, 4096)
	n, _ := unix.Read(fd, raw)
	_, rest, ok := bytes.Cut(raw[:max(n, 0)], []byte("\nThreads:"))
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	if count, err := strconv.Atoi(string(bytes.TrimSpace(line))); ok && err == nil {
		return strconv.Itoa(count)
	}
	return fmt.Sprintf("%d started so far", threadsCreated.Count())
}

// serveOne is one client's whole life, as in the iterative server; only
// now many of these run at once.
func serveOne(connFD int, peer unix.Sockaddr) {
	if err := echo(connFD); err != nil {
		sys.Note("connection with %s ended: %s", sys.Addr(peer), sys.Describe(err))
	}
	finish(connFD)
}

// sleep waits d with select(2) and no descriptors, the classic portable
// sleep. Not time.Sleep: Go's timers need the runtime's own epoll
// descriptor, which the runtime creates the first time a timer is used;
// out of descriptors, that creation fails and the runtime stops the
// program ("netpollinit failed"). select needs no descriptor.
func sleep(d time.Duration) {
	tv := unix.NsecToTimeval(int64(d))
	for {
		_, err := unix.Select(0, nil, nil, nil, &tv)
		if err != unix.EINTR {
			return
		}
		// EINTR: a signal cut the wait short; Linux left the time still
		// to wait in tv, so wait again.
	}
}
