package httpwire

import "testing"

// Parsing the WebSocket upgrade request, once per connection.
func BenchmarkParseRequest(b *testing.B) {
	buf := []byte(upgradeRequest)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, n, err := ParseRequest(buf, Limits{}); n == 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

// The same, growing one read at a time by 16 bytes: what a slow client costs.
func BenchmarkParseRequestTrickle(b *testing.B) {
	buf := []byte(upgradeRequest)
	b.ReportAllocs()
	for b.Loop() {
		for end := 16; ; end += 16 {
			if end > len(buf) {
				end = len(buf)
			}
			_, n, err := ParseRequest(buf[:end], Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				break
			}
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	headers := []Header{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendResponse(dst[:0], 101, headers, nil)
	}
}
