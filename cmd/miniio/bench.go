package main

// miniio bench: the load generator of scripts/bench. It drives a running
// `miniio serve` through one workload of the benchmark contract (the
// comment block at the top of scripts/bench) and prints the result.
//
//	miniio bench -addr 127.0.0.1:7070 -workload ack -count 20000
//	miniio bench -addr 127.0.0.1:7070 -workload tput -count 200000 -json
//	miniio bench -addr 127.0.0.1:7070 -workload bcast -receivers 1000 -messages 300
//	miniio bench -addr 127.0.0.1:7070 -workload idle -n 10000
//	miniio bench -url ws://127.0.0.1:3000 -workload ack -c 100 -count 100000
//
// -url ws://HOST:PORT drives a socket.io server (miniio's WebSocket side,
// or socket.io itself) over WebSocket + Engine.IO v4 instead of miniio's
// TCP frames, one packet per WebSocket message.
//
// With -json it prints exactly one JSON line on stdout and nothing else
// there; without it, a line for people. Exit status 0 when the run
// completed and every message arrived, 1 when not (the JSON line then has
// an "error" field), 2 for a bad command line.
//
// The work is in internal/loadgen, which says why it uses raw sockets and
// no trace.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"socklab/internal/loadgen"
)

func runBench(args []string) int {
	return benchMain(args, os.Stdout, os.Stderr)
}

func benchMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := loadgen.Config{}
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:7070", "the miniio server, HOST:PORT")
	fs.StringVar(&c.URL, "url", "", "ws://HOST:PORT: socket.io over WebSocket there instead of -addr's TCP frames;\nbcast takes several, comma-separated (one cluster): receivers round robin, the sender on the first")
	fs.StringVar(&c.Workload, "workload", "ack", "ack, tput, bcast or idle")
	fs.IntVar(&c.Clients, "c", 1, "ack: concurrent clients, each making one round trip at a time")
	fs.IntVar(&c.Count, "count", 20000, "ack: round trips; tput: events (each after a warm-up of count/10)")
	fs.IntVar(&c.Size, "size", 64, "payload bytes: a string of that many 'x'")
	fs.IntVar(&c.Receivers, "receivers", 1000, "bcast: receiving connections")
	fs.IntVar(&c.Messages, "messages", 100, "bcast: broadcasts the sender emits")
	fs.IntVar(&c.N, "n", 10000, "idle: idle connections")
	fs.IntVar(&c.Batch, "batch", 0, "tput: events per write(2); 0 fills 64 KiB per write, 1 writes each event alone")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "give up when the server stays silent this long")
	asJSON := fs.Bool("json", false, "print one JSON line (the contract's fields) instead of a summary")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: miniio bench -addr HOST:PORT|-url ws://HOST:PORT -workload ack|tput|bcast|idle [flags]\n\n"+
			"Drives a running miniio server through one benchmark workload (see scripts/bench).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "miniio bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := c.Check(); err != nil {
		fmt.Fprintf(stderr, "miniio bench: %v\n", err)
		return 2
	}

	result := loadgen.Run(c)
	if *asJSON {
		line, err := json.Marshal(result)
		if err != nil { // cannot happen with these plain structs
			fmt.Fprintf(stderr, "miniio bench: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, string(line))
	} else if result.Failed() == "" {
		fmt.Fprintln(stdout, result.Summary())
	}
	if msg := result.Failed(); msg != "" {
		fmt.Fprintf(stderr, "miniio bench: %s: %s\n", c.Workload, msg)
		return 1
	}
	return 0
}
