package sys

import (
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// stopping is set once SIGINT or SIGTERM has started the program's
// shutdown: from then on -step no longer waits for Enter. stopDone is
// closed when the stop function has returned.
var (
	stopping atomic.Bool
	stopDone = make(chan struct{})
)

// OnStopSignal runs stop in a goroutine of its own when SIGINT (Ctrl-C)
// or SIGTERM arrives (SignalName names it for a note). From that moment
// -step stops pausing, and a prompt already waiting for Enter gives up,
// so the calls stop makes (a traced close, say) go through at once; the
// call that prompt was for waits until stop has returned. A
// second signal is no longer caught: it ends the program at once, the
// way an unhandled Ctrl-C does.
func OnStopSignal(stop func(sig os.Signal)) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, unix.SIGINT, unix.SIGTERM)
	go func() {
		sig := <-signals
		signal.Reset(unix.SIGINT, unix.SIGTERM)
		stopStepping()
		endEchoedLine(sig)
		stop(sig)
		close(stopDone)
	}()
}

// ExitOnStopSignal is OnStopSignal for a program that ends with its stop
// function: stop closes what it must (traced), then the program exits 0.
//
// Closing a socket in one thread while another thread uses it is a race
// (close(2): "probably unwise"). Usually the main goroutine is blocked
// in accept4 or recvfrom, and stays blocked: Linux does not wake a call
// whose descriptor another thread closes, and we exit under it (strace
// shows it "<unfinished ...>"). But on a busy machine the signal can
// come just after a call returned and before the next one started; that
// next call would then meet the closed descriptor, fail with EBADF, and
// print it, or even make the program exit 1 with it. So from the moment
// the signal arrives until the exit, only stop's own calls go on: any
// other goroutine about to make a traced call, print a line or give up
// with Fatal waits where it is, and the exit ends it there.
func ExitOnStopSignal(stop func(sig os.Signal)) {
	OnStopSignal(func(sig os.Signal) {
		runtime.LockOSThread() // stop's calls are the ones made on this thread
		stopThread.Store(threadID())
		stop(sig)
		os.Exit(0)
	})
}

// stopThread is the thread running ExitOnStopSignal's stop function, 0
// before the signal.
var stopThread atomic.Int64

// holdIfExiting parks the calling goroutine for good once
// ExitOnStopSignal's stop function runs, unless it is that function.
// It costs one atomic load until then.
func holdIfExiting() {
	if tid := stopThread.Load(); tid != 0 && threadID() != tid {
		select {} // the program is exiting; os.Exit ends this goroutine
	}
}

// SignalName is the signal's name as strace and kill -l spell it:
// "SIGINT", "SIGTERM".
func SignalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

// endEchoedLine starts a new line after the "^C" a terminal echoes when
// Ctrl-C is pressed: the terminal leaves the cursor right after it, and
// the stop note would follow on the same line ("^C# SIGINT: closing the
// listening socket") instead of on its own, as the lessons show it. A
// pipe or a file gets no "^C", so no blank line either. (A SIGINT sent
// with kill to a program on a terminal gets the new line too: an empty
// line, harmless.)
func endEchoedLine(sig os.Signal) {
	if sig != unix.SIGINT || !isTerminal(int(os.Stderr.Fd())) {
		return
	}
	outMu.Lock() // not in the middle of a trace line
	os.Stderr.WriteString("\n")
	outMu.Unlock()
}
