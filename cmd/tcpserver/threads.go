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
	"runtime/debug"
	"runtime/pprof"
	"time"

	"golang.org/x/sys/unix"

	"socklab/internal/sys"
)

// maxThreads: Go stops a program that makes more than 10,000 OS threads
// (debug.SetMaxThreads), which a thread per connection reaches at 10,000
// clients. This mode raises Go's limit; the kernel's own limits remain
// (ulimit -u, /proc/sys/kernel/threads-max, pid_max).
const maxThreads = 100_000

// threadsCreated counts the OS threads the Go runtime has started.
var threadsCreated = pprof.Lookup("threadcreate")

func serveThreads(listenFD int) {
	debug.SetMaxThreads(maxThreads)
	for {
		connFD, peer, err := sys.Accept(listenFD)
		switch err {
		case nil:
		case unix.ECONNABORTED:
			continue // the client gave up while it waited in the queue
		case unix.EMFILE, unix.ENFILE:
			// Out of file descriptors: the client stays in the queue, and
			// accept would fail again at once, forever, at 100 % CPU.
			// Wait a little instead; a client that leaves frees one.
			sys.Note("%s: waiting 100ms before accepting again", sys.Describe(err))
			sleep(100 * time.Millisecond)
			continue
		default:
			sys.Fatal("accept4", err)
		}
		if sys.Tracing() {
			sys.Note("peer %s connected: fd %d, served by a thread of its own (OS threads so far: %d)",
				sys.Addr(peer), connFD, threadsCreated.Count())
		}
		go serveOne(connFD, peer)
	}
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
