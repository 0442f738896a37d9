package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Config is one run: the server, the workload and its sizes. Every field is
// accepted with every workload; each workload reads the ones it uses.
type Config struct {
	Addr      string        // the server, "127.0.0.1:7070" or "[::1]:7070"
	URL       string        // when set, "ws://HOST:PORT": socket.io over WebSocket there instead of Addr; bcast also takes "ws://A,ws://B" (receivers round robin, the sender on the first)
	Workload  string        // ack, tput, bcast or idle
	Count     int           // ack: round trips (all clients together); tput: events
	Clients   int           // ack: concurrent clients, each one round trip at a time; 0 means 1
	Size      int           // payload length in bytes (a string of 'x')
	Receivers int           // bcast: receiving connections
	Messages  int           // bcast: broadcasts the sender emits
	N         int           // idle: idle connections
	Batch     int           // tput: events per write(2); 0 means as many as fit in 64 KiB
	Timeout   time.Duration // give up when the server stays silent this long
}

// Workloads are the names Config.Workload takes, in the contract's order.
var Workloads = []string{"ack", "tput", "bcast", "idle"}

// MaxSize bounds -size so that one event stays well inside the server's
// maxPayload (1 MiB) with its name and quotes around it.
const MaxSize = 1<<20 - 1024

// Check says what is wrong with the configuration, in one line a person
// can act on, or returns nil.
func (c Config) Check() error {
	known := false
	for _, w := range Workloads {
		known = known || c.Workload == w
	}
	switch {
	case !known:
		return fmt.Errorf("-workload must be one of %s, not %q", strings.Join(Workloads, ", "), c.Workload)
	case c.Count < 1 || c.Receivers < 1 || c.Messages < 1 || c.N < 1:
		return errors.New("-count, -receivers, -messages and -n must each be at least 1")
	case c.Size < 1 || c.Size > MaxSize:
		return fmt.Errorf("-size must be from 1 to %d bytes", MaxSize)
	case c.Clients < 0 || c.Clients > MaxClients:
		return fmt.Errorf("-c must be from 1 to %d clients", MaxClients)
	case c.Clients > c.Count:
		return fmt.Errorf("-c %d is more clients than -count %d round trips", c.Clients, c.Count)
	case c.Batch < 0:
		return errors.New("-batch must be 0 (fill 64 KiB per write) or more")
	case c.Timeout <= 0:
		return errors.New("-timeout must be more than 0")
	}
	ts, err := c.targets()
	if err != nil {
		return err
	}
	if len(ts) > 1 && c.Workload != "bcast" {
		return fmt.Errorf("-url lists %d servers; only -workload bcast spreads over several", len(ts))
	}
	return nil
}

// MaxClients bounds -c: each ack client is a thread blocked in read(2).
const MaxClients = 10000

// Result is what a run prints: one of AckResult, TputResult, BcastResult
// or IdleResult, each shaped as the contract says.
type Result interface {
	// Failed is the reason the run did not complete, or "" when it did.
	Failed() string
	// Summary is the result in a line or two for people.
	Summary() string
}

// Run connects to the server and drives it through the workload. It
// always returns a Result; when the run failed, Failed() says why and the
// fields hold whatever was measured before it did.
func Run(c Config) Result {
	if err := c.Check(); err != nil {
		return &AckResult{Workload: c.Workload, Error: err.Error()}
	}
	switch c.Workload {
	case "ack":
		return runAck(c)
	case "tput":
		return runTput(c)
	case "bcast":
		return runBcast(c)
	default:
		return runIdle(c)
	}
}

// payload is the workload's string argument as JSON: "xxx…x".
func payload(size int) []byte {
	return []byte(`"` + strings.Repeat("x", size) + `"`)
}

// Nearest rank: the smallest value with at least p of all values at or
// below it (the rule client.js and bench/floor use too).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(1, rank)-1]
}

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}

// micros is a duration in microseconds, to one decimal, as the JSON has it.
func micros(d time.Duration) float64 { return round(float64(d)/1e3, 1) }

// perSec is n events over d, rounded to a whole number.
func perSec(n int, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Round(float64(n) / d.Seconds()))
}

// cpuClock measures how busy this process was between start and stop:
// user plus system CPU time over wall time. 1.0 means one core was busy
// the whole time, and then the generator, not the server, set the pace.
type cpuClock struct {
	wall time.Time
	cpu  time.Duration
}

func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startClock() cpuClock { return cpuClock{wall: time.Now(), cpu: processCPU()} }

// stop returns the wall time since start and the cores used on average.
func (c cpuClock) stop() (time.Duration, float64) {
	wall := time.Since(c.wall)
	cpu := processCPU() - c.cpu
	if wall <= 0 {
		return wall, 0
	}
	return wall, round(cpu.Seconds()/wall.Seconds(), 2)
}

// raiseFileLimit lifts this process's RLIMIT_NOFILE soft limit so that it
// can hold `need` descriptors; only the soft limit can be raised without
// privileges, and only up to the hard one.
func raiseFileLimit(need int) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	const infinity = uint64(unix.RLIM_INFINITY)
	soft, hard := asUint64(lim.Cur), asUint64(lim.Max)
	if soft == infinity || soft >= uint64(need) {
		return nil
	}
	if hard != infinity && hard < uint64(need) {
		return fmt.Errorf("this run needs about %d file descriptors, but the hard limit (ulimit -Hn) is %d; raise it as root and run again",
			need, hard)
	}
	setLimit(&lim.Cur, need)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_NOFILE, %d): %w", need, err)
	}
	return nil
}

// The limit's fields are uint64 on Linux and macOS but int64 on FreeBSD;
// these two keep one copy of the code for both.
func asUint64[T ~int64 | ~uint64](v T) uint64 { return uint64(v) }

func setLimit[T ~int64 | ~uint64](field *T, v int) { *field = T(v) }
