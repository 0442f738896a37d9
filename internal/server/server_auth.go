package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"time"

	"socklab/internal/wire"
)

// ErrNotAuthorized is what TokenAuth refuses a wrong or missing token
// with; ErrTooManyAttempts what it refuses every CONNECT with from an
// address that got ErrNotAuthorized too often in a short time.
var (
	ErrNotAuthorized   = errors.New(wire.ReasonNotAuthorized)
	ErrTooManyAttempts = errors.New(wire.ReasonTooManyTries)
)

// How many wrong tokens one address may send: a bucket of authBurst
// tries, refilled at authRate a second. A person who mistypes is not
// slowed down; a program guessing gets two tries a second instead of
// thousands. The buckets of at most authAddrs addresses are kept.
const (
	authBurst = 10
	authRate  = 2
	authAddrs = 4096
)

// TokenAuth returns a check for Use that lets in only a CONNECT carrying
// this token: 40{"token":"…"}.
//
// The key is exactly "token", once. (Go's encoding/json would also take
// "TOKEN" or "ToKeN", and the last of two "token" keys: two readers of
// one auth object could then disagree on what it says.)
//
// The comparison takes the same time whatever the token sent: comparing
// byte by byte and stopping at the first difference would let a patient
// attacker find the token one byte at a time by timing the answers. Both
// sides are hashed first so that even the token's length does not show.
//
// An address that sends more than a few wrong tokens in a short time is
// refused with "too many attempts", right token or not, until its bucket
// refills (see authBurst). On loopback every local user is the same
// address: a guesser there makes everyone wait a few seconds.
func TokenAuth(token string) func(s *Socket, auth json.RawMessage) error {
	want := sha256.Sum256([]byte(token))
	tries := &authLimiter{buckets: make(map[string]*authBucket)}
	return func(s *Socket, auth json.RawMessage) error {
		addr := hostOf(s.Peer())
		now := time.Now()
		if !tries.allowed(addr, now) {
			return ErrTooManyAttempts
		}
		sent, ok := tokenOf(auth)
		got := sha256.Sum256([]byte(sent))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok {
			tries.failed(addr, now)
			return ErrNotAuthorized
		}
		return nil
	}
}

// tokenOf is the value of the auth object's "token" key. ok is false
// when auth is not an object, or the key is missing, twice, or not a
// string.
func tokenOf(auth json.RawMessage) (token string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(auth))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
		if key != "token" {
			continue
		}
		if found || json.Unmarshal(value, &token) != nil {
			return "", false
		}
		found = true
	}
	return token, found
}

// hostOf is the address part of "127.0.0.1:51234".
func hostOf(peer string) string {
	if host, _, err := net.SplitHostPort(peer); err == nil {
		return host
	}
	return peer
}

// authLimiter keeps a token bucket of wrong guesses per address.
type authLimiter struct {
	mu      sync.Mutex
	buckets map[string]*authBucket
}

type authBucket struct {
	tries float64 // tries left
	at    time.Time
}

// refill brings b's tries up to date.
func (b *authBucket) refill(now time.Time) {
	b.tries = min(authBurst, b.tries+now.Sub(b.at).Seconds()*authRate)
	b.at = now
}

// allowed says whether addr has a try left.
func (l *authLimiter) allowed(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		return true
	}
	b.refill(now)
	return b.tries >= 1
}

// failed takes one try from addr's bucket.
func (l *authLimiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= authAddrs {
			l.forget(now)
		}
		b = &authBucket{tries: authBurst, at: now}
		l.buckets[addr] = b
	}
	b.refill(now)
	b.tries--
}

// forget makes room in a full map: the buckets that are full again say
// nothing, and go; if none is, an arbitrary one does.
func (l *authLimiter) forget(now time.Time) {
	for addr, b := range l.buckets {
		if b.refill(now); b.tries >= authBurst {
			delete(l.buckets, addr)
		}
	}
	for addr := range l.buckets {
		if len(l.buckets) < authAddrs {
			break
		}
		delete(l.buckets, addr)
	}
}
