//go:build linux && race

package main

// Under `go test -race` the program the tests start is built with -race
// too, so a data race in it fails the test (exit status 66).
var buildFlags = []string{"-race"}
