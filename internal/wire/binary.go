package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Binary attachments: how socket.io sends bytes that are not text.
//
// JSON has no type for raw bytes, so socket.io takes every Buffer (or
// ArrayBuffer, Blob) out of the arguments, puts a numbered placeholder in
// its place, and sends the bytes after the packet, one message each:
//
//	socket.emit("file", "a.png", buf)
//
//	451-["file","a.png",{"_placeholder":true,"num":0}]   BINARY_EVENT, 1 attachment
//	<the bytes of buf>                                    attachment 0
//
// The `1-` after the type counts the attachments; the receiver waits for
// that many before the handler runs. On a WebSocket each attachment is a
// binary message; on long-polling it is a `b` packet in base64 (payload.go).
// An ACK with bytes in it is a BINARY_ACK, `461-17[{"_placeholder":…}]`.
//
// This package keeps a binary packet's arguments as raw JSON, placeholders
// and all, and hands the attachments alongside, so the plain JSON path
// stays as it was: an Assembler collects the attachments and gives a
// Binary, and AppendEventValues / AppendAckValues turn Go []byte arguments
// into placeholders and attachments.

// DefaultMaxAttachments is how many attachments one binary packet may carry
// unless an Assembler says otherwise: 10, socket.io's own decoder default
// (its maxAttachments option).
const DefaultMaxAttachments = 10

// Binary is a binary packet with its attachments in place.
type Binary struct {
	// Packet is the BINARY_EVENT or BINARY_ACK header. Its Args are raw
	// JSON in which every attachment still stands as its placeholder.
	Packet Packet

	// Attachments[n] is the attachment placeholder num n stands for.
	Attachments [][]byte

	// ArgBytes runs parallel to Packet.Args: ArgBytes[i] is the attachment
	// when Args[i] itself is a placeholder (what socket.emit("x", buf)
	// sends), nil when Args[i] is JSON. A placeholder deeper inside an
	// argument ({"file":buf}) is found with Attachment.
	ArgBytes [][]byte
}

// Attachment returns the bytes a placeholder stands for, when value (any
// raw JSON value from the arguments, at any depth) is one.
func (b *Binary) Attachment(value json.RawMessage) ([]byte, bool) {
	value = trimSpace(value)
	if len(value) == 0 || value[0] != '{' || !validJSON(value) {
		return nil, false
	}
	w := placeholderWalk{n: len(b.Attachments)}
	num, ok, err := w.object(value, 0)
	if err != nil || !ok || num < 0 {
		return nil, false
	}
	return b.Attachments[num], true
}

// Assembler puts a binary packet back together: Start with the header
// packet, then Add each attachment as it arrives; the last Add returns the
// Binary. It is bounded: at most MaxAttachments attachments of at most
// MaxPayload bytes in all, and every placeholder is checked at Start, so a
// header that could never be completed is refused before any byte of an
// attachment is kept.
//
// socket.io sends the attachments right after their header, nothing in
// between; a transport that gets a text packet while Waiting is above zero
// has a broken peer (socket.io's own decoder says "got plaintext data when
// reconstructing a packet"). When the session ends, Reset drops a
// half-assembled packet.
//
// The zero Assembler is ready to use, with the default limits.
type Assembler struct {
	MaxAttachments int // 0 means DefaultMaxAttachments
	MaxPayload     int // total attachment bytes; 0 means DefaultMaxPayload

	header Packet
	atts   [][]byte
	size   int
}

// Waiting is how many attachments the packet being assembled still needs;
// 0 when none is.
func (a *Assembler) Waiting() int {
	if a.header.Attachments == 0 {
		return 0
	}
	return a.header.Attachments - len(a.atts)
}

// Reset drops the packet being assembled, if any.
func (a *Assembler) Reset() {
	clear(a.atts)
	a.header, a.atts, a.size = Packet{}, a.atts[:0], 0
}

// Start begins a binary packet from its header (a BINARY_EVENT or
// BINARY_ACK from ParseSocketIO). The header is copied, so the buffer it
// was parsed from may be reused.
func (a *Assembler) Start(header Packet) error {
	if n := a.Waiting(); n > 0 {
		a.Reset()
		return perr(fmt.Sprintf("a binary packet came while the last one still waited for %d attachments", n))
	}
	if header.Engine != Message || (header.Socket != BinaryEvent && header.Socket != BinaryAck) {
		return perr("not a binary packet: " + header.Socket.String())
	}
	max := a.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	if header.Attachments < 1 || header.Attachments > max {
		return perr(fmt.Sprintf("%d attachments, the limit is %d", header.Attachments, max))
	}
	if err := checkPlaceholders(header.Args, header.Attachments, nil); err != nil {
		return err
	}
	a.Reset()
	a.header = header.Clone()
	return nil
}

// Add takes the next attachment (a copy of it: the caller's buffer may be
// reused). done is true when it was the last one; then b is the whole
// packet and the Assembler is ready for the next. After an error the
// packet is dropped.
func (a *Assembler) Add(attachment []byte) (b Binary, done bool, err error) {
	if a.Waiting() == 0 {
		return Binary{}, false, perr("a binary attachment came with no binary packet waiting for it")
	}
	max := a.MaxPayload
	if max <= 0 {
		max = DefaultMaxPayload
	}
	if len(attachment) > max-a.size {
		a.Reset()
		return Binary{}, false, perr(fmt.Sprintf("binary attachments exceed maxPayload %d", max))
	}
	a.size += len(attachment)
	a.atts = append(a.atts, append([]byte{}, attachment...)) // never nil, even when empty
	if a.Waiting() > 0 {
		return Binary{}, false, nil
	}
	b = Binary{Packet: a.header, Attachments: slices.Clone(a.atts)}
	b.ArgBytes = make([][]byte, len(b.Packet.Args))
	err = checkPlaceholders(b.Packet.Args, len(b.Attachments), func(arg, num int) {
		b.ArgBytes[arg] = b.Attachments[num]
	})
	a.Reset()
	if err != nil { // cannot happen: Start checked the same arguments
		return Binary{}, false, err
	}
	return b, true, nil
}

// Assemble is the whole of an Assembler's work in one call, for a packet
// whose attachments are all at hand: with the default limits, except that
// the attachments may add up to maxPayload bytes (0: DefaultMaxPayload).
func Assemble(header Packet, attachments [][]byte, maxPayload int) (Binary, error) {
	a := Assembler{MaxPayload: maxPayload, MaxAttachments: len(attachments)}
	if len(attachments) != header.Attachments {
		return Binary{}, perr(fmt.Sprintf("%s announces %d attachments, %d given", header.Socket, header.Attachments, len(attachments)))
	}
	if err := a.Start(header); err != nil {
		return Binary{}, err
	}
	for _, att := range attachments {
		b, done, err := a.Add(att)
		if err != nil || done {
			return b, err
		}
	}
	return Binary{}, errScan // unreachable: Start accepted len(attachments) ≥ 1
}

// checkPlaceholders makes sure the placeholders in args number exactly 0 …
// n−1, each once, and calls top(i, num) for each argument that is itself a
// placeholder.
func checkPlaceholders(args []json.RawMessage, n int, top func(arg, num int)) error {
	w := placeholderWalk{n: n, seen: make([]bool, n)}
	for i, arg := range args {
		arg = trimSpace(arg)
		if len(arg) == 0 || !validJSON(arg) {
			return perr("argument " + strconv.Itoa(i+1) + " is not valid JSON")
		}
		if arg[0] == '{' {
			num, ok, err := w.object(arg, 0)
			if err != nil {
				return err
			}
			if ok && top != nil {
				top(i, num)
			}
			continue
		}
		if _, err := w.value(arg, 0); err != nil {
			return err
		}
	}
	for num, seen := range w.seen {
		if !seen {
			return perr(fmt.Sprintf("no placeholder for attachment %d of %d", num, n))
		}
	}
	return nil
}

// placeholderWalk visits every value of valid JSON once, in one pass, and
// notes the placeholders it meets. seen is nil when only one object is
// looked at (Binary.Attachment), so repeats are not counted there.
type placeholderWalk struct {
	n    int
	seen []bool
}

// value walks the value at b[i] and returns the index just past it.
func (w *placeholderWalk) value(b []byte, i int) (int, error) {
	switch b[i] {
	case '[':
		i = skipSpace(b, i+1)
		if b[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := w.value(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if b[i] == ']' {
				return i + 1, nil
			}
			i = skipSpace(b, i+1) // past the ','
		}
	case '{':
		end, _, err := w.objectAt(b, i)
		return end, err
	}
	end := valueEnd(b, i)
	if end < 0 {
		return 0, errScan
	}
	return end, nil
}

// object walks the object that is all of b; ok says it is a placeholder,
// and num is its number.
func (w *placeholderWalk) object(b []byte, i int) (num int, ok bool, err error) {
	var end int
	end, num, err = w.objectAt(b, i)
	if err != nil {
		return 0, false, err
	}
	if skipSpace(b, end) != len(b) {
		return 0, false, errScan
	}
	return num, num >= 0, nil
}

// objectAt walks the object whose '{' is b[i]. num is the placeholder's
// number when the object is one, else −1. A placeholder is an object with
// "_placeholder": true (socket.io's test); here it must also have a "num"
// in range that no other placeholder has, and no other key.
func (w *placeholderWalk) objectAt(b []byte, i int) (end, num int, err error) {
	placeholder, others := false, false
	var numValue []byte
	var keys int
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return i + 1, -1, nil
	}
	for {
		kend := stringEnd(b, i)
		if kend < 0 {
			return 0, 0, errScan
		}
		isPlaceholder, isNum := keyIs(b[i:kend], "_placeholder"), keyIs(b[i:kend], "num")
		i = skipSpace(b, skipSpace(b, kend)+1) // past the ':'
		var vend int
		switch {
		case isPlaceholder || isNum:
			if vend = valueEnd(b, i); vend < 0 {
				return 0, 0, errScan
			}
			if isNum {
				numValue = b[i:vend]
			} else if string(b[i:vend]) == "true" {
				placeholder = true
			}
			keys++
		default:
			if vend, err = w.value(b, i); err != nil {
				return 0, 0, err
			}
			others = true
		}
		i = skipSpace(b, vend)
		if b[i] == '}' {
			end = i + 1
			break
		}
		i = skipSpace(b, i+1) // past the ','
	}
	if !placeholder {
		return end, -1, nil
	}
	if others || keys != 2 || numValue == nil {
		return 0, 0, perr(`a placeholder is {"_placeholder":true,"num":N} and nothing else`)
	}
	num, digits, err := parseAckID(numValue)
	if err != nil || digits == 0 || digits != len(numValue) || num >= w.n {
		return 0, 0, perr(fmt.Sprintf("placeholder number %s out of range: the packet has %d attachments", numValue, w.n))
	}
	if w.seen != nil {
		if w.seen[num] {
			return 0, 0, perr(fmt.Sprintf("placeholder number %d appears twice", num))
		}
		w.seen[num] = true
	}
	return end, num, nil
}

// keyIs reports whether the JSON string token (quotes included) reads as
// name, the way JSON.parse reads it ("_plac\u0065holder" too). The usual
// key has no backslash and is compared without a copy.
func keyIs(token []byte, name string) bool {
	body := token[1 : len(token)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body) == name
	}
	s, err := decodeString(token)
	return err == nil && s == name
}

// AppendEventValues writes what socket.io's emit(name, args…) sends when
// the arguments may hold bytes. Each argument is one of
//
//	json.RawMessage   written as it is (it must be valid JSON)
//	[]byte            an attachment: written as a placeholder
//	string, bool, int, nil
//	[]any, map[string]any   walked, so []byte inside them is an attachment too
//
// Without any []byte it writes a plain EVENT (`42…`), as socket.io does;
// with some, a BINARY_EVENT header (`451-…`) and the attachments to send
// after it, in placeholder order. The attachments are the caller's slices,
// not copies. A map's keys are written sorted, since a Go map has no order
// (JavaScript would keep the order they were added in).
func AppendEventValues(dst []byte, nsp string, ackID int, name string, args ...any) (out []byte, attachments [][]byte, err error) {
	raw, attachments, err := valuesToJSON(args)
	if err != nil {
		return dst, nil, err
	}
	t := Event
	if len(attachments) > 0 {
		t = BinaryEvent
	}
	out, err = appendEvent(dst, t, len(attachments), nsp, ackID, name, raw)
	if err != nil {
		return dst, nil, err
	}
	return out, attachments, nil
}

// AppendAckValues is AppendEventValues for an ACK: `43…`, or a BINARY_ACK
// (`461-17[…]`) when the arguments hold bytes.
func AppendAckValues(dst []byte, nsp string, ackID int, args ...any) (out []byte, attachments [][]byte, err error) {
	raw, attachments, err := valuesToJSON(args)
	if err != nil {
		return dst, nil, err
	}
	t := Ack
	if len(attachments) > 0 {
		t = BinaryAck
	}
	out, err = appendAck(dst, t, len(attachments), nsp, ackID, raw)
	if err != nil {
		return dst, nil, err
	}
	return out, attachments, nil
}

// valuesToJSON writes each Go argument as raw JSON, pulling the []byte out
// as attachments. It allocates; the JSON-only path (AppendEvent) does not.
func valuesToJSON(args []any) ([]json.RawMessage, [][]byte, error) {
	var mem []byte
	var attachments [][]byte
	ends := make([]int, len(args))
	for i, arg := range args {
		var err error
		mem, err = appendValue(mem, arg, &attachments, 0)
		if err != nil {
			return nil, nil, perr("argument " + strconv.Itoa(i+1) + ": " + err.Error())
		}
		ends[i] = len(mem)
	}
	raw := make([]json.RawMessage, len(args))
	start := 0
	for i, end := range ends {
		raw[i] = json.RawMessage(mem[start:end:end])
		start = end
	}
	return raw, attachments, nil
}

// maxValueDepth bounds how deeply []any and map[string]any may nest in
// AppendEventValues' arguments (a slice can even hold itself).
const maxValueDepth = 1000

func appendValue(dst []byte, v any, attachments *[][]byte, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return dst, perr(fmt.Sprintf("nested deeper than %d", maxValueDepth))
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case string:
		out, ok := appendString(dst, v)
		if !ok {
			return dst, perr("string is not valid UTF-8")
		}
		return out, nil
	case json.RawMessage:
		v = trimSpace(v)
		if len(v) == 0 || !validJSON(v) {
			return dst, perr("not valid JSON")
		}
		return append(dst, v...), nil
	case []byte:
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*attachments)), 10)
		*attachments = append(*attachments, v)
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, attachments, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendString(dst, k); !ok {
				return dst, perr("map key is not valid UTF-8")
			}
			dst = append(dst, ':')
			var err error
			if dst, err = appendValue(dst, v[k], attachments, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, perr(fmt.Sprintf("a %T cannot be sent: use json.RawMessage, []byte, string, bool, int, nil, []any or map[string]any", v))
}
