package tracestream

import "testing"

// BenchmarkPush is the cost of one line through the redactor to one
// viewer.
func BenchmarkPush(b *testing.B) {
	s := New(Config{Ring: 1000, SummaryBehind: -1, SummaryRate: -1})
	s.Subscribe()
	l := line("write", 7, 1)
	b.ReportAllocs()
	for b.Loop() {
		s.Push(l)
	}
}
