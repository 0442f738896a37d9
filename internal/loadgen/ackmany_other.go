//go:build !linux

package loadgen

import (
	"errors"
	"time"
)

// Outside Linux each ack client keeps a thread of its own (see runAck).
const haveEpoll = false

func ackOverEpoll([]*conn, int, []time.Duration, time.Duration) (time.Duration, float64, error) {
	return 0, 0, errors.New("epoll is only on Linux")
}
