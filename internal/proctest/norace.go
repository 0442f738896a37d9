//go:build !race

package proctest

// RaceEnabled says the test binary was built with -race (see race.go).
const RaceEnabled = false
