package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// AppendEventArgs writes the EVENT that emit(name, args…) sends, with Go
// values for arguments: `42["chat","hi"]`, or `4217["chat","hi"]` when
// ackID is not NoAck. Each argument is written as AppendArg says. It is
// the one encoder of events for both ends (the server's Emit and the
// client's); the envelope (a TCP frame, a WebSocket message) is added by
// whoever sends it. On error dst comes back unchanged.
func AppendEventArgs(dst []byte, ackID int, name string, args ...any) ([]byte, error) {
	return AppendEventArgsTo(dst, "", ackID, name, args...)
}

// AppendEventArgsTo is AppendEventArgs in the namespace nsp:
// `42/admin,["chat","hi"]` ("" or "/" is the main one, written as
// nothing). A []byte argument is written as AppendArg writes it, as JSON;
// AppendEventValues makes it a binary attachment instead.
func AppendEventArgsTo(dst []byte, nsp string, ackID int, name string, args ...any) ([]byte, error) {
	if IsReserved(name) {
		return dst, fmt.Errorf("reserved event name %q", name)
	}
	if !utf8.ValidString(name) {
		return dst, errors.New("event name is not valid UTF-8")
	}
	if ackID != NoAck && (ackID < 0 || ackID > MaxAckID) {
		return dst, errors.New("ack id out of range")
	}
	start := len(dst)
	buf, err := appendHeader(dst, Event, 0, nsp, ackID)
	if err != nil {
		return dst[:start], err
	}
	buf = append(buf, '[')
	buf = AppendString(buf, name)
	for i, a := range args {
		buf = append(buf, ',')
		if buf, err = AppendArg(buf, a); err != nil {
			return dst[:start], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return append(buf, ']'), nil
}

// AppendAckArgs writes the ACK for ack(args…), the answer to the event
// with that id: `4317["ok"]`, or `4317[]` with no args.
func AppendAckArgs(dst []byte, ackID int, args ...any) ([]byte, error) {
	return AppendAckArgsTo(dst, "", ackID, args...)
}

// AppendAckArgsTo is AppendAckArgs in the namespace nsp: `43/admin,17["ok"]`.
func AppendAckArgsTo(dst []byte, nsp string, ackID int, args ...any) ([]byte, error) {
	if ackID < 0 || ackID > MaxAckID {
		return dst, errors.New("ack id out of range")
	}
	start := len(dst)
	buf, err := appendHeader(dst, Ack, 0, nsp, ackID)
	if err != nil {
		return dst[:start], err
	}
	buf = append(buf, '[')
	for i, a := range args {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = AppendArg(buf, a); err != nil {
			return dst[:start], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return append(buf, ']'), nil
}

// AppendArg writes one argument as JSON: a json.RawMessage as it is (it
// must be valid JSON), a string, bool or int directly, anything else
// through encoding/json. The common kinds are written by hand because
// this is the hot path of every emit; the rest take the slow road
// through encoding/json.
func AppendArg(dst []byte, a any) ([]byte, error) {
	switch v := a.(type) {
	case json.RawMessage:
		if len(v) == 0 || !json.Valid(v) {
			return dst, errors.New("not valid JSON")
		}
		return append(dst, v...), nil
	case string:
		return AppendString(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case nil:
		return append(dst, "null"...), nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}
