package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// The fuzz targets of the socket.io side: ParseSocketIO, SplitPayload and
// the Assembler. Run one with, for example,
//
//	go test ./internal/wire -run '^$' -fuzz FuzzSplitPayload -fuzztime 60s -fuzzminimizetime 2s
//
// Their seeds are the test vectors plus testdata/fuzz/<name>, which plain
// `go test` runs as well.

// isProtocolError fails the test unless err is a *ProtocolError with a
// reason, and never the scanner's "lost its place".
func isProtocolError(t *testing.T, input any, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reason == "" {
		t.Fatalf("%q: error %#v is not a *ProtocolError with a reason", input, err)
	}
	if err == errScan {
		t.Fatalf("%q: the scanner lost its place on valid JSON", input)
	}
}

// FuzzParseSocketIO: what holds for ParsePacket (FuzzParse) holds here too,
// and ParseSocketIO reads everything ParsePacket reads the same way.
func FuzzParseSocketIO(f *testing.F) {
	for _, v := range socketIOVectors {
		f.Add([]byte(v.text))
	}
	for _, v := range vectors {
		f.Add([]byte(v.text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := ParseSocketIO(text)
		if core, coreErr := ParsePacket(text); coreErr == nil && (err != nil || !samePacket(p, core)) {
			t.Fatalf("%q: ParsePacket gives %#v, ParseSocketIO %#v (%v)", text, core, p, err)
		}
		if err != nil {
			isProtocolError(t, text, err)
			return
		}
		if p.Engine == Message && p.Namespace != "" && checkNamespace(p.Namespace) != nil {
			t.Fatalf("%q: namespace %q should have been refused", text, p.Namespace)
		}
		checkSocketIOArgs(t, text, p)
		again, err := AppendPacket(nil, p)
		if err != nil {
			t.Fatalf("ParseSocketIO(%q) = %#v, which AppendPacket refuses: %v", text, p, err)
		}
		p2, err := ParseSocketIO(again)
		if err != nil || !samePacket(p, p2) {
			t.Fatalf("%q re-encoded as %q, which parses differently (%v):\n%#v\n%#v", text, again, err, p, p2)
		}
		if third, err := AppendPacket(nil, p2); err != nil || !bytes.Equal(again, third) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", again, third, err)
		}
	})
}

// checkSocketIOArgs is checkArgsAgainstStdlib for packets with a namespace
// or an attachment count: the header is spelled one way only, so writing
// it again says where the JSON starts.
func checkSocketIOArgs(t *testing.T, text []byte, p Packet) {
	t.Helper()
	if p.Engine != Message {
		return
	}
	switch p.Socket {
	case Event, Ack, BinaryEvent, BinaryAck:
	default:
		return
	}
	id := NoAck
	if p.HasAck {
		id = p.AckID
	}
	header, err := appendHeader(nil, p.Socket, p.Attachments, p.Namespace, id)
	if err != nil || !bytes.HasPrefix(text, header) {
		t.Fatalf("%q: header written again as %q (%v)", text, header, err)
	}
	body := text[len(header):]
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		t.Fatalf("%q parsed, but encoding/json refuses its payload: %v", text, err)
	}
	if p.Socket == Event || p.Socket == BinaryEvent {
		var name string
		if len(elems) == 0 || json.Unmarshal(elems[0], &name) != nil || name != p.Event {
			t.Fatalf("%q: event name %q, encoding/json disagrees", text, p.Event)
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

// FuzzSplitPayload: SplitPayload never panics; it refuses with a
// *ProtocolError and leaves dst alone, or it returns packets within both
// limits that AppendPayload joins back into the very same bytes (there is
// one spelling of a payload: strict base64, no empty packets).
func FuzzSplitPayload(f *testing.F) {
	f.Add([]byte("2\x1e42[\"chat\",\"hi\"]"), uint16(0), uint8(0))
	f.Add([]byte("451-[\"f\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"), uint16(0), uint8(0))
	f.Add([]byte("b\x1eb/w==\x1e6"), uint16(0), uint8(2))
	f.Add([]byte("2\x1e"), uint16(0), uint8(0))
	f.Add([]byte("bAR=="), uint16(0), uint8(0))
	f.Add([]byte("42[\"x\"]"), uint16(3), uint8(0))
	f.Fuzz(func(t *testing.T, payload []byte, maxPayload uint16, maxPackets uint8) {
		keep := []PollPacket{{Data: []byte("kept")}}
		got, err := SplitPayload(keep, payload, int(maxPayload), int(maxPackets))
		if err != nil {
			isProtocolError(t, payload, err)
			if len(got) != 1 || string(got[0].Data) != "kept" {
				t.Fatalf("%q: refused, but dst changed to %q", payload, got)
			}
			return
		}
		got = got[1:]
		if (maxPayload > 0 && len(payload) > int(maxPayload)) || (maxPackets > 0 && len(got) > int(maxPackets)) {
			t.Fatalf("%q with limits %d bytes, %d packets: accepted %d packets", payload, maxPayload, maxPackets, len(got))
		}
		for i, p := range got {
			if !p.Binary && (len(p.Data) == 0 || p.Data[0] < '0' || p.Data[0] > '6' || bytes.IndexByte(p.Data, RecordSeparator) >= 0) {
				t.Fatalf("%q: packet %d is %q", payload, i, p.Data)
			}
		}
		again, err := AppendPayload(nil, got...)
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("%q split into %q, joined back as %q (%v)", payload, got, again, err)
		}
	})
}

// FuzzAssemble: a header (parsed with ParseSocketIO) and attachments cut
// from blob. The Assembler never panics, refuses with a *ProtocolError and
// drops the packet, never keeps more than MaxPayload bytes, finishes
// exactly at the announced count, and puts every attachment where
// encoding/json, reading the arguments independently, finds its
// placeholder.
func FuzzAssemble(f *testing.F) {
	f.Add([]byte(`451-["ev",{"_placeholder":true,"num":0}]`), []byte("\x03abc"), uint8(0))
	f.Add([]byte(`452-/custom,9["ev",{"a":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":0}]`), []byte("\x01x\x00"), uint8(8))
	f.Add([]byte(`461-17[{"_placeholder":true,"num":0}]`), []byte{}, uint8(1))
	f.Add([]byte(`452-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`), []byte("\x01a\x01b"), uint8(0))
	f.Add([]byte(`451-["ev",{"_placeholder":true,"num":1}]`), []byte("\x01a"), uint8(0))
	f.Add([]byte(`451-["ev",{"_plac\u0065holder":true,"num":0}]`), []byte("\x01a"), uint8(0))
	f.Fuzz(func(t *testing.T, header, blob []byte, limit uint8) {
		p, err := ParseSocketIO(header)
		if err != nil || (p.Socket != BinaryEvent && p.Socket != BinaryAck) || p.Engine != Message {
			return
		}
		a := Assembler{MaxPayload: int(limit)}
		max := int(limit)
		if max == 0 {
			max = DefaultMaxPayload
		}
		if err := a.Start(p); err != nil {
			isProtocolError(t, header, err)
			if a.Waiting() != 0 {
				t.Fatalf("%q refused, yet waiting for %d", header, a.Waiting())
			}
			return
		}
		// Each attachment is a length byte and that many bytes of blob.
		total := 0
		for n := 1; ; n++ {
			if a.Waiting() != p.Attachments-n+1 {
				t.Fatalf("%q: Waiting() = %d before attachment %d", header, a.Waiting(), n)
			}
			var att []byte
			if len(blob) > 0 {
				size := min(int(blob[0]), len(blob)-1)
				att, blob = blob[1:1+size], blob[1+size:]
			}
			total += len(att)
			b, done, err := a.Add(att)
			if err != nil {
				isProtocolError(t, header, err)
				if total <= max || a.Waiting() != 0 {
					t.Fatalf("%q: attachment %d refused (%v) with %d bytes of %d, waiting %d", header, n, err, total, max, a.Waiting())
				}
				return
			}
			if total > max {
				t.Fatalf("%q: %d attachment bytes kept, MaxPayload %d", header, total, max)
			}
			if done != (n == p.Attachments) {
				t.Fatalf("%q: done %v after %d of %d attachments", header, done, n, p.Attachments)
			}
			if done {
				checkAssembled(t, header, b)
				return
			}
		}
	})
}

// checkAssembled finds the placeholders with encoding/json and compares.
func checkAssembled(t *testing.T, header []byte, b Binary) {
	t.Helper()
	seen := make(map[string]int)
	var walk func(v any) (num string, ok bool)
	walk = func(v any) (string, bool) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if v["_placeholder"] == true {
				num := fmt.Sprint(v["num"])
				seen[num]++
				return num, true
			}
			for _, e := range v {
				walk(e)
			}
		}
		return "", false
	}
	for i, arg := range b.Packet.Args {
		dec := json.NewDecoder(bytes.NewReader(arg))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: argument %d %s: %v", header, i, arg, err)
		}
		num, ok := walk(v)
		if ok != (b.ArgBytes[i] != nil) {
			t.Fatalf("%q: argument %d is a placeholder: %v, but ArgBytes[%d] = %q", header, i, ok, i, b.ArgBytes[i])
		}
		if ok {
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n >= len(b.Attachments) || !bytes.Equal(b.ArgBytes[i], b.Attachments[n]) {
				t.Fatalf("%q: argument %d is placeholder %s, but ArgBytes[%d] = %q", header, i, num, i, b.ArgBytes[i])
			}
		}
	}
	if len(seen) != len(b.Attachments) {
		t.Fatalf("%q: encoding/json finds placeholders %v for %d attachments", header, seen, len(b.Attachments))
	}
	for n := range b.Attachments {
		if seen[fmt.Sprint(n)] != 1 {
			t.Fatalf("%q: placeholder %d appears %d times", header, n, seen[fmt.Sprint(n)])
		}
	}
}
