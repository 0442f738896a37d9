package httpwire

import (
	"net/url"
	"strings"
)

// Param is one key=value pair of a query string.
type Param struct {
	Key, Value string
}

// Query is a query string's pairs in the order they came. Engine.IO reads
// three of them: EIO (the protocol version, "4"), transport ("websocket" or
// "polling") and, after the first request, sid.
type Query []Param

// ParseQuery splits "EIO=4&transport=websocket&sid=ab%2Dc" into pairs and
// decodes %XX escapes and "+" (a space, as a browser's form encoding
// writes it). A bad escape is a 400: guessing what it meant could make two
// readers of one URL see different values.
func ParseQuery(raw string) (Query, error) {
	var q Query
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errorf(400, "bad %%-escape in query %.60q", part)
		}
		q = append(q, Param{key, value})
	}
	return q, nil
}

// Get returns the first value for key. ok is false when the key is absent.
func (q Query) Get(key string) (value string, ok bool) {
	for _, p := range q {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Count is how many times key appears. A server can refuse a repeated
// "transport" rather than pick one of them.
func (q Query) Count(key string) int {
	n := 0
	for _, p := range q {
		if p.Key == key {
			n++
		}
	}
	return n
}
