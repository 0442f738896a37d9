package sys

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"
)

// The settings the shared flags fill in. They are read on every call, so
// they are plain variables set once before the program's first socket call.
var (
	tracing   = true  // print each call (off with -q)
	explain   = false // add a plain-language line and the TCP state
	stepping  = false // wait for Enter before each call
	colorMode = "auto"
)

// out is where the trace goes: stderr, so that stdout carries only the
// program's data (`printf hi | tcpclient > reply.txt` stays clean).
var (
	outMu sync.Mutex
	out   io.Writer = os.Stderr
)

// RegisterFlags adds -q, -explain, -step and -color to fs. Call Configure
// after fs.Parse.
func RegisterFlags(fs *flag.FlagSet) {
	fs.BoolFunc("q", "quiet: do not print the socket calls", func(string) error {
		tracing = false
		return nil
	})
	fs.BoolVar(&explain, "explain", false, "explain each call and show the TCP state after it")
	fs.BoolVar(&stepping, "step", false, "pause before each call until Enter is pressed")
	fs.StringVar(&colorMode, "color", "auto", "colour the trace: auto, always or never")
}

// Configure checks the flag values and sets up colour and -step. It
// returns an error a program should print and exit on.
func Configure() error {
	switch colorMode {
	case "always":
		color.NoColor = false
	case "never":
		color.NoColor = true
	case "auto":
		// fatih/color decides from stdout; the trace goes to stderr.
		color.NoColor = os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" ||
			!isTerminal(int(os.Stderr.Fd()))
	default:
		return fmt.Errorf("-color must be auto, always or never, not %q", colorMode)
	}
	if stepping {
		if err := openTTY(); err != nil {
			return err
		}
	}
	if explain || stepping {
		tracing = true // -explain and -step are about the trace; -q loses to them
	}
	return nil
}

// SetOutput sends the trace to w (tests use a buffer).
func SetOutput(w io.Writer) {
	outMu.Lock()
	out = w
	outMu.Unlock()
}

// SetTracing turns the trace on or off, for programs that choose it
// without the shared flags (the miniio server only traces with -trace).
func SetTracing(on bool) { tracing = on }

// Tracing reports whether calls are being printed.
func Tracing() bool { return tracing }

func isTerminal(fd int) bool { return isatty.IsTerminal(uintptr(fd)) }

// IsTerminal reports whether fd is a terminal (a person typing), as
// opposed to a pipe or a file.
func IsTerminal(fd int) bool { return isTerminal(fd) }

// One colour per role: the call's name, numbers (fds, lengths, results),
// errors, and explanations.
var (
	callColor    = color.New(color.FgCyan, color.Bold)
	numberColor  = color.New(color.FgYellow)
	errorColor   = color.New(color.FgRed, color.Bold)
	explainColor = color.New(color.FgGreen)
)

func paint(c *color.Color, s string) string {
	if color.NoColor {
		return s
	}
	return c.Sprint(s)
}

// fdArg formats a file descriptor argument.
func fdArg(fd int) string { return paint(numberColor, itoa(fd)) }

// emit prints one finished call: name(args) = result, then the
// explanation lines when -explain is on. err is the call's error.
func emit(name, args string, ret int, err error, fd int) {
	printRaw(callLine(name, args, ret, err, fd))
}

// callLine is the text emit prints.
func callLine(name, args string, ret int, err error, fd int) string {
	var b strings.Builder
	b.WriteString(paint(callColor, name))
	b.WriteByte('(')
	b.WriteString(args)
	b.WriteString(") = ")
	b.WriteString(result(ret, err))
	b.WriteByte('\n')
	if explain {
		writeExplanation(&b, name, fd, err)
	}
	return b.String()
}

// The trace is printed in the order the calls happened, which is not
// always the order in which their goroutines get round to printing them.
// When one goroutine's write makes the server answer, another goroutine
// blocked in read can wake and print its read before the first one has
// printed its write: the trace would show the effect before its cause.
// So each call takes a ticket, a place in the trace, the moment it
// returns, and lines are printed in ticket order. Calls that make the
// peer answer while they are still running (shutdown and close, which
// send FIN) take theirs just before the call. Only calls that return at
// once may do that: every later line waits for the ticket to be printed.

var (
	outTurn  = sync.NewCond(&outMu) // signalled after each line
	tickets  atomic.Uint64          // the next ticket to hand out
	printedN uint64                 // how many tickets are printed (under outMu)
)

// ticket reserves the next place in the trace. While a program exits on
// a stop signal, only the stop function gets one (see ExitOnStopSignal).
func ticket() uint64 {
	holdIfExiting()
	return tickets.Add(1) - 1
}

// printAt prints s in ticket t's place, after every earlier ticket's.
func printAt(t uint64, s string) {
	outMu.Lock()
	for printedN != t {
		outTurn.Wait()
	}
	io.WriteString(out, s)
	if t := tap.Load(); t != nil {
		t.feed(s) // the tap (tap.go): never blocks
	}
	printedN++
	outTurn.Broadcast()
	outMu.Unlock()
}

// result is strace's right-hand side: the number, or -1 and the errno.
func result(ret int, err error) string {
	if err == nil {
		return paint(numberColor, itoa(ret))
	}
	if e, ok := err.(unix.Errno); ok {
		return paint(errorColor, "-1 "+ErrnoName(e)) + " (" + ErrnoText(e) + ")"
	}
	return paint(errorColor, "-1") + " (" + err.Error() + ")"
}

// Note prints a line of the program's own, in the explanation colour,
// between the trace lines: "# peer 127.0.0.1:51234". It is printed even
// without -explain when tracing is on, because the programs use it for the
// facts a learner needs (who connected, how many bytes were lost).
func Note(format string, args ...any) {
	if !tracing {
		return
	}
	printRaw(paint(explainColor, "# "+fmt.Sprintf(format, args...)) + "\n")
}

// printRaw prints s now, after any line already waiting its turn.
func printRaw(s string) { printAt(ticket(), s) }

func itoa(n int) string { return fmt.Sprint(n) }
