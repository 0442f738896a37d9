package server

import (
	"encoding/binary"
	"encoding/json"
	"testing"
)

// keptConn is a fakeConn that also remembers each slice the server hands
// to Write, as the event loop does (it queues the slice, it does not copy
// it), so a test can see whether two receivers got the very same bytes.
type keptConn struct {
	fakeConn
	kept [][]byte
}

func (c *keptConn) Write(p []byte) error {
	c.kept = append(c.kept, p)
	return c.fakeConn.Write(p)
}

// A broadcast is encoded once and every receiver's queue gets the same
// bytes: one frame in memory for a thousand receivers, not a thousand
// copies. Checked for all three scopes: Broadcast (everyone but the
// sender), the server's Emit (everyone) and To(room).
func TestServerBroadcastSharesOneFrame(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	srv.OnConnection(func(s *Socket) {
		s.Join("r")
		s.On("bcast", func(args []json.RawMessage, _ func(...any) error) { s.Broadcast().Emit("b", args[0]) })
		s.On("all", func(args []json.RawMessage, _ func(...any) error) { srv.Emit("a", args[0]) })
		s.On("room", func(args []json.RawMessage, _ func(...any) error) { srv.To("r").Emit("r", args[0]) })
	})
	var conns []*keptConn
	for range 3 {
		c := &keptConn{}
		c.srv = srv
		fakeFD++
		c.s = openFake(srv, c, fakeFD, "127.0.0.1:5000")
		c.fakeConn.send("40")
		conns = append(conns, c)
	}
	sender := conns[0]
	for _, event := range []string{"bcast", "all", "room"} {
		for _, c := range conns {
			c.kept = nil
		}
		text := `42["` + event + `","x"]`
		sender.fakeConn.send(text)
		var first []byte
		for i, c := range conns {
			if event == "bcast" && c == sender {
				if len(c.kept) != 0 {
					t.Fatalf("%s: the sender got %d frames", event, len(c.kept))
				}
				continue
			}
			if len(c.kept) != 1 {
				t.Fatalf("%s: receiver %d got %d frames, want 1", event, i, len(c.kept))
			}
			f := c.kept[0]
			if n := binary.BigEndian.Uint32(f); int(n) != len(f)-4 {
				t.Fatalf("%s: receiver %d got %q, not one whole frame", event, i, f)
			}
			if first == nil {
				first = f
			} else if &f[0] != &first[0] || len(f) != len(first) {
				t.Fatalf("%s: receiver %d got its own copy of the frame; a broadcast must queue the same bytes for every receiver", event, i)
			}
		}
	}
}
