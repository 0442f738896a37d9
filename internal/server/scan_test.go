package server

import "fmt"

// sscan reports whether text matches format exactly.
func sscan(text, format string, args ...any) bool {
	n, err := fmt.Sscanf(text, format, args...)
	return err == nil && n == len(args)
}
