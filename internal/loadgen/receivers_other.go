//go:build !linux

package loadgen

import (
	"errors"
	"time"
)

// receiverSet needs epoll to watch a thousand receivers from one thread;
// elsewhere bcast says so instead of pretending with a slower design.
type receiverSet struct {
	delivered, wrong int
}

func newReceiverSet(want []byte, quiet time.Duration) (*receiverSet, error) {
	return nil, errors.New("bcast watches its receivers with epoll, which is only on Linux")
}

func (s *receiverSet) add(cn *conn) error             { return errors.New("only on Linux") }
func (s *receiverSet) expect(target int)              {}
func (s *receiverSet) wait() (time.Time, error)       { return time.Time{}, errors.New("only on Linux") }
func (s *receiverSet) barrier(arg []byte) error       { return errors.New("only on Linux") }
func (s *receiverSet) miscounted() (short, extra int) { return 0, 0 }
func (s *receiverSet) close()                         {}
