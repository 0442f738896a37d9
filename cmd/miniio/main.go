// Command miniio is socklab's capstone: a small socket.io on plain TCP.
// The bytes on the wire are socket.io's own packets (`42["chat","hi"]`),
// each behind a 4-byte length, so what a learner has seen in a browser's
// devtools is what they see here, down to the system calls.
//
//	miniio serve    the demo server: chat, echo, rooms, shout (and with -bench-events the benchmark's events)
//	miniio chat     an interactive chat client
//	miniio emit     send one event (and wait for its ack)
//	miniio listen   print the events the server sends
//	miniio bench    the load generator for scripts/bench
//
// Run:
//
//	Terminal A:  ./bin/miniio serve -wire
//	Terminal B:  ./bin/miniio listen
//	Terminal C:  ./bin/miniio emit shout hello
//
// Watch:
//
//	ss -tnp 'sport = :7070 or dport = :7070'   # one TCP connection per client
//
// See: lessons/10-framing.md … lessons/13-stress-and-limits.md;
// internal/wire for the protocol, internal/server (on internal/transport) for
// the server, internal/client for the client.
package main

import (
	"fmt"
	"os"
)

// commands is the table of subcommands: name, what runs it, one line for
// the usage text. A new subcommand is a file of its own and one line here.
var commands = []struct {
	name    string
	run     func(args []string) int // returns the exit status
	summary string
}{
	{"serve", runServe, "run the demo server (chat, echo, join, leave, shout; -bench-events: the benchmark's)"},
	{"bench", runBench, "drive a server through one benchmark workload (scripts/bench)"},
	{"chat", runChat, "an interactive chat client: lines you type are chat events; /join, /leave, /shout, /quit"},
	{"emit", runEmit, "send one event (and with -ack, wait for the answer and print it)"},
	{"listen", runListen, "print the events the server sends, one JSON line each"},
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	for _, c := range commands {
		if c.name == name {
			os.Exit(c.run(os.Args[2:]))
		}
	}
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage()
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "miniio: unknown command %q\n", name)
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: miniio COMMAND [flags] [args]   (miniio COMMAND -h for its flags)")
	fmt.Fprintln(os.Stderr, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
}
