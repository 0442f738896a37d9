package server

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Sockets share their list of event names while they register the same
// events in the same order (server_socket.go, On). Sockets that register
// other events, more, fewer, or add one later from a handler must each
// still get exactly their own handlers, and not change anyone else's.
func TestServerHandlersPerSocket(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	sets := [][]string{
		{"a", "b"},
		{"a", "b"},           // the same: shares the first one's names
		{"a", "b", "c"},      // more: shares them, then takes its own
		{"a", "x", "c"},      // differs in the middle
		{"a", "b"},           // fewer
		{"a", "b", "c", "d"}, // more
		{},                   // none
		{"c", "c", "a"},      // twice the same event: both run, in order
	}
	next := 0
	srv.OnConnection(func(s *Socket) {
		set := sets[next]
		tag := fmt.Sprint(next)
		next++
		for i, event := range set {
			s.On(event, func(args []json.RawMessage, ack func(...any) error) {
				s.Emit("ran", tag, event, i)
			})
		}
		// "add" registers one more handler later, from a handler, for an
		// event named for the socket: sockets that share their names
		// must not write their own into each other's list.
		s.On("add", func(args []json.RawMessage, ack func(...any) error) {
			s.On("late"+tag, func([]json.RawMessage, func(...any) error) { s.Emit("ran", tag, "late") })
		})
	})
	conns := make([]*fakeConn, len(sets))
	for i := range sets {
		conns[i] = join(t, srv)
	}
	added := map[int]bool{0: true, 1: true, 4: true}
	for _, i := range []int{0, 1, 4} {
		conns[i].send(`42["add"]`)
	}
	for i, c := range conns {
		tag := fmt.Sprint(i)
		for _, event := range []string{"a", "b", "c", "d", "x", "late" + tag} {
			c.send(`42["` + event + `"]`)
			var want []string
			for j, e := range sets[i] {
				if e == event {
					want = append(want, fmt.Sprintf(`42["ran","%s","%s",%d]`, tag, event, j))
				}
			}
			if event == "late"+tag && added[i] {
				want = append(want, `42["ran","`+tag+`","late"]`)
			}
			expectFrames(t, c, want...)
		}
	}
}
