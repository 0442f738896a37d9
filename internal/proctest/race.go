//go:build race

package proctest

// RaceEnabled says the test binary was built with -race, so the programs
// it starts are built with -race too: a data race in them then fails the
// test (exit status 66) instead of passing unseen.
const RaceEnabled = true
