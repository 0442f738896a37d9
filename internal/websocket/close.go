package websocket

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Close codes (RFC 6455 section 7.4.1).
const (
	CloseNormal          = 1000 // done, goodbye
	CloseGoingAway       = 1001 // server shutting down, page navigated away
	CloseProtocolError   = 1002 // the peer broke the protocol
	CloseUnsupportedData = 1003 // a kind of data this end does not take
	CloseNoStatus        = 1005 // never sent: "the close frame had no code"
	CloseAbnormal        = 1006 // never sent: "the connection ended without a close frame"
	CloseInvalidPayload  = 1007 // text that is not UTF-8
	ClosePolicyViolation = 1008
	CloseMessageTooBig   = 1009
	CloseMandatoryExt    = 1010 // client side: the server did not agree to an extension
	CloseInternalError   = 1011 // the server's own fault
	CloseTLSHandshake    = 1015 // never sent
)

// CloseError is a reason to close the connection: the code to send in the
// close frame and one line saying why.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket: close %d: %s", e.Code, e.Reason)
}

func protocolError(format string, args ...any) *CloseError {
	return &CloseError{Code: CloseProtocolError, Reason: fmt.Sprintf(format, args...)}
}

// The faults found on every bad frame are made once, so refusing a flood of
// bad frames allocates nothing either.
var (
	errRSV               = &CloseError{CloseProtocolError, "RSV bits set, but no extension was agreed"}
	errFragmentedControl = &CloseError{CloseProtocolError, "fragmented control frame"}
	errLongControl       = &CloseError{CloseProtocolError, "control frame over 125 bytes"}
	errUnmasked          = &CloseError{CloseProtocolError, "unmasked frame from a client"}
	errMasked            = &CloseError{CloseProtocolError, "masked frame from a server"}
	errLengthHighBit     = &CloseError{CloseProtocolError, "64-bit length with its high bit set"}
	errNoStart           = &CloseError{CloseProtocolError, "continuation frame without a message to continue"}
	errNotContinued      = &CloseError{CloseProtocolError, "new data frame while a fragmented message is open"}
	errBadUTF8           = &CloseError{CloseInvalidPayload, "text message is not valid UTF-8"}
	errCloseOneByte      = &CloseError{CloseProtocolError, "close frame with a 1-byte payload"}
	errCloseReasonUTF8   = &CloseError{CloseInvalidPayload, "close reason is not valid UTF-8"}
)

// validSentCode reports whether a peer may put code in a close frame:
// 1000–1003, 1007–1014 (the IANA registry), and 3000–4999 (for libraries
// and applications). 1004 is reserved; 1005, 1006 and 1015 only stand for
// "no code" in an API and must never travel.
func validSentCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClose reads a close frame's payload: a 2-byte code (big-endian)
// then a UTF-8 reason. An empty payload is allowed and reads as 1005, "no
// code". reason is a slice of payload.
func ParseClose(payload []byte) (code uint16, reason []byte, err error) {
	switch len(payload) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, errCloseOneByte
	}
	code = binary.BigEndian.Uint16(payload)
	if !validSentCode(code) {
		return 0, nil, protocolError("close code %d may not be sent", code)
	}
	reason = payload[2:]
	if !utf8.Valid(reason) {
		return 0, nil, errCloseReasonUTF8
	}
	return code, reason, nil
}

// AppendClosePayload writes code and reason as a close payload. The reason
// is cut to fit the 125-byte control-frame limit, at a character boundary
// so it stays UTF-8. A code of 1005 writes an empty payload.
func AppendClosePayload(dst []byte, code uint16, reason string) []byte {
	if code == CloseNoStatus {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, code)
	if len(reason) > MaxControlPayload-2 {
		cut := MaxControlPayload - 2
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append(dst, reason...)
}

// AppendCloseFrame writes a server's close frame with code and reason.
func AppendCloseFrame(dst []byte, code uint16, reason string) []byte {
	var payload [MaxControlPayload]byte
	return AppendFrame(dst, true, OpClose, AppendClosePayload(payload[:0], code, reason))
}

// AppendMaskedCloseFrame writes a client's close frame.
func AppendMaskedCloseFrame(dst []byte, key [4]byte, code uint16, reason string) []byte {
	var payload [MaxControlPayload]byte
	return AppendMaskedFrame(dst, true, OpClose, key, AppendClosePayload(payload[:0], code, reason))
}
