package websocket

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// describeMax is how much of a payload Describe shows; the rest is counted.
const describeMax = 200

// Describe is one line about a frame for the -wire view, in the order of
// the bytes on the wire:
//
//	FIN text mask=37fa213d len=15 "42[\"chat\",\"hi\"]"
//	--- continuation len=3 "llo"
//	FIN close len=5 1000 "bye"
//
// FIN or --- is the FIN bit (--- means "more fragments follow"); the mask
// key appears only on masked frames. The payload is shown as Go-quoted
// text, so control bytes and invalid UTF-8 stay visible and on one line;
// payloads past 200 bytes are cut with a count of what was left out.
func Describe(f Frame) string {
	var b strings.Builder
	if f.Fin {
		b.WriteString("FIN ")
	} else {
		b.WriteString("--- ")
	}
	b.WriteString(f.Opcode.String())
	if f.Masked {
		fmt.Fprintf(&b, " mask=%02x%02x%02x%02x", f.MaskKey[0], f.MaskKey[1], f.MaskKey[2], f.MaskKey[3])
	}
	fmt.Fprintf(&b, " len=%d", len(f.Payload))
	payload := f.Payload
	if f.Opcode == OpClose && len(payload) >= 2 {
		fmt.Fprintf(&b, " %d", binary.BigEndian.Uint16(payload))
		payload = payload[2:]
	}
	if len(payload) == 0 {
		return b.String()
	}
	b.WriteByte(' ')
	shown := payload
	if len(shown) > describeMax {
		shown = shown[:describeMax]
	}
	b.WriteString(strconv.Quote(string(shown)))
	if len(payload) > len(shown) {
		fmt.Fprintf(&b, "…(%d more bytes)", len(payload)-len(shown))
	}
	return b.String()
}
