package redisadapter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Two encodings of one JavaScript value.
//
// miniio keeps a packet's arguments as the JSON text a client sent
// (wire.Packet.Args), with socket.io's placeholders
// {"_placeholder":true,"num":N} where bytes were, and the bytes beside
// them. The Node adapter puts the same arguments into Redis as MessagePack
// (npm notepack.io), where bytes are just bytes (a "bin" value). The two
// functions here turn one into the other:
//
//	JSON  ["file",{"_placeholder":true,"num":0}]  + attachment 0 = "\x89PNG"
//	msgpack  92 a4 "file" c4 04 "\x89PNG"
//
// They follow JavaScript where the two encodings disagree: a JSON number is
// a double, so 2.0 goes out as the integer 2 (notepack writes every whole
// number as an integer); NaN and Infinity come back as null
// (JSON.stringify's answer); a MessagePack timestamp comes back as the ISO
// string a Date becomes in JSON. On purpose we are more exact than
// JavaScript in one place: a JSON integer too large for a double but
// within 64 bits keeps every digit.

// maxDepth bounds how deeply arrays and objects may nest, both ways: a
// hostile message cannot run the decoder out of stack. socket.io
// payloads are a few levels deep.
const maxDepth = 500

// errTrailing says a message held more than one value.
var errTrailing = errors.New("msgpack: bytes after the value")

// jsonToMsgpack writes the JSON text js as one MessagePack value. When
// attachments is not empty, every placeholder object in js is replaced by
// the attachment it names (a placeholder without attachments is an
// ordinary object, as in socket.io's plain EVENT).
func jsonToMsgpack(js []byte, attachments [][]byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("json: more than one value")
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := writeMsgpack(enc, v, attachments); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonValue is one parsed JSON value that keeps its object keys in order
// (a Go map would lose it, and the Node side reads objects in order).
type jsonValue struct {
	kind  byte // 'n' null, 'b' bool, '#' number, 's' string, '[' array, '{' object
	b     bool
	num   json.Number
	str   string
	keys  []string    // '{'
	items []jsonValue // '[' elements, '{' values
}

func readJSON(dec *json.Decoder, depth int) (jsonValue, error) {
	if depth > maxDepth {
		return jsonValue{}, fmt.Errorf("json: nested deeper than %d", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonValue{}, fmt.Errorf("json: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return jsonValue{kind: 'n'}, nil
	case bool:
		return jsonValue{kind: 'b', b: t}, nil
	case json.Number:
		return jsonValue{kind: '#', num: t}, nil
	case string:
		return jsonValue{kind: 's', str: t}, nil
	case json.Delim:
		v := jsonValue{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return v, fmt.Errorf("json: %w", err)
				}
				v.keys = append(v.keys, k.(string))
			}
			item, err := readJSON(dec, depth+1)
			if err != nil {
				return v, err
			}
			v.items = append(v.items, item)
		}
		if _, err := dec.Token(); err != nil { // the closing ] or }
			return v, fmt.Errorf("json: %w", err)
		}
		return v, nil
	}
	return jsonValue{}, fmt.Errorf("json: unexpected %v", tok)
}

// placeholder reports whether v is socket.io's stand-in for bytes, and
// which attachment it names. Like socket.io-parser's reconstructPacket,
// any object whose _placeholder is true counts, and its num must be valid.
func (v jsonValue) placeholder(n int) (num int, ok bool, err error) {
	if v.kind != '{' {
		return 0, false, nil
	}
	isPlaceholder, numAt := false, -1
	for i, k := range v.keys {
		switch k {
		case "_placeholder":
			isPlaceholder = v.items[i].kind == 'b' && v.items[i].b
		case "num":
			numAt = i
		}
	}
	if !isPlaceholder {
		return 0, false, nil
	}
	if numAt >= 0 && v.items[numAt].kind == '#' {
		if i, err := strconv.Atoi(string(v.items[numAt].num)); err == nil && i >= 0 && i < n {
			return i, true, nil
		}
	}
	return 0, false, fmt.Errorf("a placeholder names no attachment (there are %d)", n)
}

func writeMsgpack(enc *msgpack.Encoder, v jsonValue, attachments [][]byte) error {
	switch v.kind {
	case 'n':
		return enc.EncodeNil()
	case 'b':
		return enc.EncodeBool(v.b)
	case '#':
		return writeNumber(enc, v.num)
	case 's':
		return enc.EncodeString(v.str)
	case '[':
		if err := enc.EncodeArrayLen(len(v.items)); err != nil {
			return err
		}
		for _, item := range v.items {
			if err := writeMsgpack(enc, item, attachments); err != nil {
				return err
			}
		}
		return nil
	case '{':
		if len(attachments) > 0 {
			num, ok, err := v.placeholder(len(attachments))
			if err != nil {
				return err
			}
			if ok {
				return enc.EncodeBytes(attachments[num])
			}
		}
		if err := enc.EncodeMapLen(len(v.keys)); err != nil {
			return err
		}
		for i, k := range v.keys {
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := writeMsgpack(enc, v.items[i], attachments); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("json: unknown value kind %q", v.kind)
}

// writeNumber writes a JSON number as notepack writes the JavaScript
// number it would become: whole numbers as the smallest integer, others
// as a float64.
func writeNumber(enc *msgpack.Encoder, num json.Number) error {
	s := string(num)
	if !strings.ContainsAny(s, ".eE") {
		// An integer literal: exact, when it fits in 64 bits.
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return enc.EncodeInt(i)
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return enc.EncodeUint(u)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("json: number %s: %w", s, err)
	}
	// Out of range is ±Infinity (or 0) in JavaScript too.
	switch {
	case f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63:
		return enc.EncodeInt(int64(f))
	case f == math.Trunc(f) && f >= 0 && f < 1<<64:
		return enc.EncodeUint(uint64(f))
	}
	return enc.EncodeFloat64(f)
}

// msgpackToJSON reads one MessagePack value from b and writes it as JSON,
// appending every bin value to attachments and writing a placeholder in
// its place. Any bytes after the value are an error.
func msgpackToJSON(b []byte, attachments [][]byte) (js []byte, atts [][]byte, err error) {
	r := bytes.NewReader(b)
	dec := msgpack.NewDecoder(r)
	c := converter{dec: dec, r: r, atts: attachments}
	if err := c.value(0); err != nil {
		return nil, nil, err
	}
	if r.Len() > 0 {
		return nil, nil, errTrailing
	}
	return c.out, c.atts, nil
}

type converter struct {
	dec  *msgpack.Decoder
	r    *bytes.Reader // what is left to read, to check a length before allocating
	out  []byte
	atts [][]byte
}

// room checks that a declared length can be in what is left of the input
// (every element takes at least one byte), so that no length field makes
// us allocate or loop for more than the message holds.
func (c *converter) room(n int) error {
	if n < 0 || n > c.r.Len() {
		return fmt.Errorf("msgpack: a length of %d in %d bytes left", n, c.r.Len())
	}
	return nil
}

func (c *converter) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("msgpack: nested deeper than %d", maxDepth)
	}
	code, err := c.dec.PeekCode()
	if err != nil {
		return fmt.Errorf("msgpack: %w", err)
	}
	switch {
	case code == msgpcode.Nil:
		c.dec.DecodeNil()
		c.out = append(c.out, "null"...)
	case code == msgpcode.False || code == msgpcode.True:
		v, _ := c.dec.DecodeBool()
		c.out = strconv.AppendBool(c.out, v)
	case msgpcode.IsFixedNum(code) || (code >= msgpcode.Uint8 && code <= msgpcode.Int64):
		return c.integer(code)
	case code == msgpcode.Float || code == msgpcode.Double:
		f, err := c.dec.DecodeFloat64()
		if err != nil {
			return err
		}
		c.float(f)
	case msgpcode.IsString(code):
		n, err := c.peekLen()
		if err != nil {
			return err
		}
		if err := c.room(n); err != nil {
			return err
		}
		s, err := c.dec.DecodeString()
		if err != nil {
			return err
		}
		c.out = appendJSONString(c.out, s)
	case msgpcode.IsBin(code):
		n, err := c.peekLen()
		if err != nil {
			return err
		}
		if err := c.room(n); err != nil {
			return err
		}
		b, err := c.dec.DecodeBytes()
		if err != nil {
			return err
		}
		c.attach(b)
	case msgpcode.IsFixedArray(code) || code == msgpcode.Array16 || code == msgpcode.Array32:
		return c.array(depth)
	case msgpcode.IsFixedMap(code) || code == msgpcode.Map16 || code == msgpcode.Map32:
		return c.object(depth)
	case msgpcode.IsExt(code) || msgpcode.IsFixedExt(code):
		return c.ext()
	default:
		return fmt.Errorf("msgpack: unknown type byte 0x%02x", code)
	}
	return nil
}

// peekLen reads the length of the string or bin that starts here without
// consuming it. vmihailenco/msgpack has no call for that, so it is read
// from the raw bytes.
func (c *converter) peekLen() (int, error) {
	var head [5]byte
	at := int64(c.r.Size()) - int64(c.r.Len())
	n, _ := c.r.ReadAt(head[:], at)
	code := head[0]
	switch {
	case msgpcode.IsFixedString(code):
		return int(code & msgpcode.FixedStrMask), nil
	case (code == msgpcode.Str8 || code == msgpcode.Bin8) && n >= 2:
		return int(head[1]), nil
	case (code == msgpcode.Str16 || code == msgpcode.Bin16) && n >= 3:
		return int(binary.BigEndian.Uint16(head[1:])), nil
	case (code == msgpcode.Str32 || code == msgpcode.Bin32) && n >= 5:
		return int(binary.BigEndian.Uint32(head[1:])), nil
	}
	return 0, errors.New("msgpack: truncated length")
}

func (c *converter) integer(code byte) error {
	if code == msgpcode.Uint64 {
		u, err := c.dec.DecodeUint64()
		if err != nil {
			return err
		}
		c.out = strconv.AppendUint(c.out, u, 10)
		return nil
	}
	i, err := c.dec.DecodeInt64()
	if err != nil {
		return err
	}
	c.out = strconv.AppendInt(c.out, i, 10)
	return nil
}

// float writes a double as JSON.stringify would: NaN and ±Infinity are
// null; encoding/json formats the rest the way JavaScript does (1e+21,
// 1e-7).
func (c *converter) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		c.out = append(c.out, "null"...)
		return
	}
	b, _ := json.Marshal(f)
	c.out = append(c.out, b...)
}

func (c *converter) attach(b []byte) {
	c.out = append(c.out, `{"_placeholder":true,"num":`...)
	c.out = strconv.AppendInt(c.out, int64(len(c.atts)), 10)
	c.out = append(c.out, '}')
	c.atts = append(c.atts, b)
}

func (c *converter) array(depth int) error {
	n, err := c.dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if err := c.room(n); err != nil {
		return err
	}
	c.out = append(c.out, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	c.out = append(c.out, ']')
	return nil
}

// object writes a map as a JSON object. JavaScript object keys are
// strings; a number key (another encoder may write one) becomes its
// decimal text, as JavaScript would make it.
func (c *converter) object(depth int) error {
	n, err := c.dec.DecodeMapLen()
	if err != nil {
		return err
	}
	if err := c.room(2 * n); err != nil {
		return err
	}
	c.out = append(c.out, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		code, err := c.dec.PeekCode()
		if err != nil {
			return fmt.Errorf("msgpack: %w", err)
		}
		switch {
		case msgpcode.IsString(code):
			if err := c.value(depth + 1); err != nil {
				return err
			}
		case msgpcode.IsFixedNum(code) || (code >= msgpcode.Uint8 && code <= msgpcode.Int64):
			c.out = append(c.out, '"')
			if err := c.integer(code); err != nil {
				return err
			}
			c.out = append(c.out, '"')
		default:
			return fmt.Errorf("msgpack: a map key of type byte 0x%02x (want a string)", code)
		}
		c.out = append(c.out, ':')
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	c.out = append(c.out, '}')
	return nil
}

// ext reads the extension types notepack writes: -1 is a timestamp (a
// JavaScript Date), 0 an ArrayBuffer (older notepack), and a 1-byte type 0
// is undefined (older notepack again).
func (c *converter) ext() error {
	id, n, err := c.dec.DecodeExtHeader()
	if err != nil {
		return err
	}
	if err := c.room(n); err != nil {
		return err
	}
	data := make([]byte, n)
	if err := c.dec.ReadFull(data); err != nil {
		return err
	}
	switch {
	case id == -1:
		t, err := timestamp(data)
		if err != nil {
			return err
		}
		// Date.prototype.toJSON: toISOString, always UTC, milliseconds.
		c.out = appendJSONString(c.out, t.UTC().Format("2006-01-02T15:04:05.000Z"))
	case id == 0 && n == 1:
		c.out = append(c.out, "null"...)
	case id == 0:
		c.attach(data)
	default:
		return fmt.Errorf("msgpack: unknown extension type %d", id)
	}
	return nil
}

// timestamp decodes MessagePack's timestamp extension (32, 64 or 96 bits).
func timestamp(b []byte) (time.Time, error) {
	switch len(b) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(b)), 0), nil
	case 8:
		v := binary.BigEndian.Uint64(b)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)), nil
	case 12:
		return time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b))), nil
	}
	return time.Time{}, fmt.Errorf("msgpack: a timestamp of %d bytes", len(b))
}

// appendJSONString writes s as a JSON string the way JSON.stringify does:
// only the quote, the backslash and control characters are escaped.
// Bytes that are not UTF-8 become U+FFFD, as Node's decoder makes them.
func appendJSONString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
