package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse feeds ParsePacket arbitrary text. Run it with
//
//	go test ./internal/wire -run '^$' -fuzz FuzzParse -fuzztime 60s
//
// (On a busy machine add -fuzzminimizetime 2s: otherwise the fuzzer can
// spend most of its minute shrinking each new input, showing 0 execs/sec.)
//
// The seeds are the test vectors plus the files in testdata/fuzz/FuzzParse
// (which plain `go test` also runs). What must hold for every input:
//   - no panic; a refusal is a *ProtocolError with a reason;
//   - the argument scanner never loses its place on JSON that json.Valid
//     accepted, and it cuts an array exactly where encoding/json does;
//   - whatever parses is written back by AppendPacket, that text parses to
//     the same packet, and writing it again gives the same bytes.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := ParsePacket(text)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("ParsePacket(%q): error %#v is not a *ProtocolError with a reason", text, err)
			}
			if err == errScan {
				t.Fatalf("ParsePacket(%q): the scanner lost its place on valid JSON", text)
			}
			return
		}
		checkArgsAgainstStdlib(t, text, p)

		again, err := AppendPacket(nil, p)
		if err != nil {
			t.Fatalf("ParsePacket(%q) = %#v, which AppendPacket refuses: %v", text, p, err)
		}
		p2, err := ParsePacket(again)
		if err != nil {
			t.Fatalf("%q re-encoded as %q, which does not parse: %v", text, again, err)
		}
		if !samePacket(p, p2) {
			t.Fatalf("%q re-encoded as %q, which parses differently:\n%#v\n%#v", text, again, p, p2)
		}
		third, err := AppendPacket(nil, p2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", again, third, err)
		}
	})
}

// checkArgsAgainstStdlib decodes an EVENT's or ACK's array with
// encoding/json, the slow and trusted way, and compares.
func checkArgsAgainstStdlib(t *testing.T, text []byte, p Packet) {
	t.Helper()
	if p.Engine != Message || (p.Socket != Event && p.Socket != Ack) {
		return
	}
	body := text[2:]
	for len(body) > 0 && body[0] >= '0' && body[0] <= '9' {
		body = body[1:]
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		t.Fatalf("%q parsed, but encoding/json refuses its payload: %v", text, err)
	}
	if p.Socket == Event {
		var name string
		if len(elems) == 0 || json.Unmarshal(elems[0], &name) != nil || name != p.Event {
			t.Fatalf("%q: event name %q, encoding/json says %s", text, p.Event, elems[0])
		}
		elems = elems[1:]
	}
	if len(elems) != len(p.Args) {
		t.Fatalf("%q: %d args, encoding/json finds %d", text, len(p.Args), len(elems))
	}
	for i := range elems {
		if !bytes.Equal(elems[i], p.Args[i]) {
			t.Fatalf("%q: arg %d is %s, encoding/json says %s", text, i, p.Args[i], elems[i])
		}
	}
}

// FuzzSplitFrame feeds the frame splitter arbitrary bytes and limits.
//   - SplitFrame never panics, never returns a frame over the limit or an
//     empty one, and a frame it returns is exactly the prefix's N bytes;
//   - "need more" only when the prefix or the body is really incomplete;
//   - a Decoder fed the same bytes in uneven pieces sees the same frames
//     and the same error as SplitFrame run over the whole buffer.
func FuzzSplitFrame(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, []byte(`40`)), []byte(`42["chat","hi"]`)), uint16(0))
	f.Add([]byte{0, 0, 0, 0}, uint16(0))
	f.Add([]byte{0, 0, 0, 6, '1', '2', '3', '4', '5', '6'}, uint16(5))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(0))
	f.Add([]byte{0, 0, 0, 3, '4', '1'}, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := int(limit)
		effective := max
		if effective <= 0 {
			effective = DefaultMaxPayload
		}

		var want []string
		var wantErr error
		rest := data
		for len(rest) > 0 {
			text, n, err := SplitFrame(rest, max)
			if err != nil {
				size := binary.BigEndian.Uint32(rest)
				switch {
				case size == 0 && err == ErrEmptyFrame:
				case uint64(size) > uint64(effective) && errors.Is(err, ErrFrameTooLarge):
				default:
					t.Fatalf("prefix %d with max %d: unexpected error %v", size, effective, err)
				}
				wantErr = err
				break
			}
			if n == 0 {
				if len(rest) >= HeaderLen && HeaderLen+int(binary.BigEndian.Uint32(rest)) <= len(rest) {
					t.Fatalf("said 'need more' with a whole frame in %x", rest)
				}
				break
			}
			if n != HeaderLen+len(text) || len(text) == 0 || len(text) > effective ||
				int(binary.BigEndian.Uint32(rest)) != len(text) || !bytes.Equal(text, rest[HeaderLen:n]) {
				t.Fatalf("bad split of %x: text %x, consumed %d", rest, text, n)
			}
			want = append(want, string(text))
			rest = rest[n:]
		}

		d := Decoder{MaxPayload: max}
		var got []string
		var gotErr error
		for i := 0; i < len(data) && gotErr == nil; {
			step := 1 + int(data[i])%13
			if i+step > len(data) {
				step = len(data) - i
			}
			d.Feed(data[i : i+step])
			i += step
			for {
				text, ok, err := d.Next()
				if err != nil {
					gotErr = err
					break
				}
				if !ok {
					break
				}
				got = append(got, string(text))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("Decoder found %d frames, SplitFrame %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("frame %d: Decoder %q, SplitFrame %q", i, got[i], want[i])
			}
		}
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("Decoder error %v, SplitFrame error %v", gotErr, wantErr)
		}
	})
}
