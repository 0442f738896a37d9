package server

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeAdapter records what the server hands to other servers.
type fakeAdapter struct {
	mu         sync.Mutex
	namespaces []string
	published  []AdapterBroadcast
	sse        []string
	joins      []Selection
}

func (a *fakeAdapter) AddNamespace(nsp string) {
	a.mu.Lock()
	a.namespaces = append(a.namespaces, nsp)
	a.mu.Unlock()
}

func (a *fakeAdapter) Publish(b AdapterBroadcast) error {
	a.mu.Lock()
	a.published = append(a.published, b)
	a.mu.Unlock()
	return nil
}

func (a *fakeAdapter) ServerSideEmit(nsp, event string, args []json.RawMessage, _ time.Duration, answers func([]json.RawMessage, error)) error {
	a.mu.Lock()
	a.sse = append(a.sse, nsp+" "+event)
	a.mu.Unlock()
	if answers != nil {
		answers([]json.RawMessage{json.RawMessage(`"other"`)}, nil)
	}
	return nil
}

func (a *fakeAdapter) SocketsJoin(nsp string, sel Selection, rooms []string) error {
	a.mu.Lock()
	a.joins = append(a.joins, sel)
	a.mu.Unlock()
	return nil
}
func (a *fakeAdapter) SocketsLeave(string, Selection, []string) error  { return nil }
func (a *fakeAdapter) DisconnectSockets(string, Selection, bool) error { return nil }
func (a *fakeAdapter) FetchSockets(_ string, _ Selection, _ time.Duration, done func([]RemoteSocket, error)) error {
	done([]RemoteSocket{{ID: "remote1"}}, nil)
	return nil
}

func (a *fakeAdapter) take() []AdapterBroadcast {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.published
	a.published = nil
	return p
}

// Every broadcast scope is published with who it is for; Local ones and
// a socket's own Emit are not.
func TestAdapterPublishes(t *testing.T) {
	srv, _ := newFakeServer(t, ServerOptions{})
	a := &fakeAdapter{}
	srv.SetAdapter(a)
	admin := srv.Of("/admin")
	if !slices.Equal(a.namespaces, []string{"/", "/admin"}) {
		t.Fatalf("namespaces announced: %q, want / and /admin", a.namespaces)
	}
	var sender *Socket
	srv.OnConnection(func(s *Socket) {
		sender = s
		s.On("go", func([]json.RawMessage, func(...any) error) {
			s.Emit("self", 1)                     // to the client: not published
			s.Broadcast().Emit("chat", "hi")      // everyone but s
			srv.To("r").Except("x").Emit("r", 2)  // io.to("r").except("x")
			srv.Local().Emit("local", 3)          // io.local: not published
			admin.Emit("adm", 4)                  // another namespace
			srv.To("r").Local().Emit("local2", 5) // local, narrowed
		})
	})
	c := join(t, srv)
	c.send(`42["go"]`)
	got := a.take()
	if len(got) != 3 {
		t.Fatalf("published %d broadcasts, want 3: %+v", len(got), got)
	}
	want := []struct {
		nsp, event, args string
		rooms, except    []string
	}{
		{"/", "chat", `["hi"]`, nil, []string{sender.ID()}},
		{"/", "r", `[2]`, []string{"r"}, []string{"x"}},
		{"/admin", "adm", `[4]`, nil, nil},
	}
	for i, w := range want {
		b := got[i]
		args, _ := json.Marshal(b.Args)
		if b.Namespace != w.nsp || b.Event != w.event || string(args) != w.args ||
			!slices.Equal(b.Rooms, w.rooms) || !slices.Equal(b.Except, w.except) {
			t.Errorf("broadcast %d: %+v (args %s), want %+v", i, b, args, w)
		}
	}
}

// A broadcast from another server reaches the matching local sockets
// once and is not published again.
func TestAdapterDeliverBroadcast(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	a := &fakeAdapter{}
	srv.SetAdapter(a)
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(args []json.RawMessage, _ func(...any) error) { s.Join("r") })
	})
	in, out := join(t, srv), join(t, srv)
	in.send(`42["join"]`)
	in.frames(t)
	out.frames(t)

	deliver := func(b AdapterBroadcast) {
		t.Helper()
		if err := srv.DeliverBroadcast(b); err != nil {
			t.Fatal(err)
		}
		loop.runPosted()
	}
	deliver(AdapterBroadcast{Namespace: "/", Event: "chat", Args: []json.RawMessage{json.RawMessage(`"x"`)}})
	expectFrames(t, in, `42["chat","x"]`)
	expectFrames(t, out, `42["chat","x"]`)
	deliver(AdapterBroadcast{Namespace: "/", Event: "room", Rooms: []string{"r"}})
	expectFrames(t, in, `42["room"]`)
	expectFrames(t, out)
	deliver(AdapterBroadcast{Namespace: "/", Event: "but", Except: []string{in.s.ID()}})
	expectFrames(t, in)
	expectFrames(t, out, `42["but"]`)
	deliver(AdapterBroadcast{Namespace: "/", Event: "both", Rooms: []string{"r", out.s.ID()}})
	expectFrames(t, in, `42["both"]`)
	expectFrames(t, out, `42["both"]`)
	if p := a.take(); len(p) != 0 {
		t.Errorf("a broadcast from another server was published again: %+v", p)
	}
	if err := srv.DeliverBroadcast(AdapterBroadcast{Namespace: "/nope", Event: "x"}); err == nil {
		t.Error("a broadcast for an unknown namespace was accepted")
	}
	if err := srv.DeliverBroadcast(AdapterBroadcast{Namespace: "/", Event: "connect"}); err == nil {
		t.Error("a broadcast of a reserved event was accepted")
	}
}

// Server-side events run their handlers on the loop and answer once;
// socketsJoin and fetchSockets from another server act on local sockets.
func TestAdapterRequests(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	a := &fakeAdapter{}
	srv.SetAdapter(a)
	var heard []string
	srv.OnServerSideEmit("ping", func(args []json.RawMessage, reply func(any) error) {
		heard = append(heard, string(args[0]))
		reply("first")
		reply("second")
	})
	x, y := join(t, srv), join(t, srv)

	var replies []string
	srv.DeliverServerSideEmit("/", "ping", []json.RawMessage{json.RawMessage(`1`)}, func(v json.RawMessage) {
		replies = append(replies, string(v))
	})
	srv.DeliverServerSideEmit("/", "ping", []json.RawMessage{json.RawMessage(`2`)}, nil)
	srv.DeliverServerSideEmit("/", "unknown", nil, func(json.RawMessage) { t.Error("an event without handlers answered") })
	loop.runPosted()
	if !slices.Equal(heard, []string{"1", "2"}) || !slices.Equal(replies, []string{`"first"`}) {
		t.Errorf("heard %q, replies %q; want 1 and 2 heard, one reply \"first\"", heard, replies)
	}

	srv.DeliverSocketsJoin("/", Selection{Except: []string{y.s.ID()}}, []string{"z"})
	loop.runPosted()
	if r := x.s.Rooms(); !slices.Equal(r, []string{"z"}) {
		t.Errorf("x's rooms after socketsJoin: %q", r)
	}
	if r := y.s.Rooms(); len(r) != 0 {
		t.Errorf("y, excepted, joined %q", r)
	}
	var fetched []RemoteSocket
	srv.DeliverFetchSockets("/", Selection{Rooms: []string{"z"}}, func(l []RemoteSocket) { fetched = l })
	loop.runPosted()
	if len(fetched) != 1 || fetched[0].ID != x.s.ID() || !slices.Equal(fetched[0].Rooms, []string{x.s.ID(), "z"}) {
		t.Errorf("fetchSockets in z: %+v", fetched)
	}

	// And from this server: local part here, the rest through the adapter.
	var answers []json.RawMessage
	if err := srv.ServerSideEmitWithAck("hello", time.Second, func(got []json.RawMessage, err error) { answers = got }, "a"); err != nil {
		t.Fatal(err)
	}
	var all []RemoteSocket
	srv.To("z").FetchSockets(time.Second, func(l []RemoteSocket, err error) { all = l })
	srv.To("z").SocketsJoin("w")
	loop.runPosted()
	if len(answers) != 1 || string(answers[0]) != `"other"` || !slices.Equal(a.sse, []string{"/ hello"}) {
		t.Errorf("serverSideEmitWithAck: answers %s, sent %q", answers, a.sse)
	}
	if len(all) != 2 || all[0].ID != x.s.ID() || all[1].ID != "remote1" {
		t.Errorf("FetchSockets: %+v, want x here and remote1", all)
	}
	if len(a.joins) != 1 || !slices.Equal(a.joins[0].Rooms, []string{"z"}) || !slices.Contains(x.s.Rooms(), "w") {
		t.Errorf("SocketsJoin: sent %+v, x in %q", a.joins, x.s.Rooms())
	}
}

// Messages from other servers wait for the loop in a bounded number:
// past MaxRemoteQueued they are refused, and taken again once the loop
// has caught up.
func TestAdapterRemoteQueueBounded(t *testing.T) {
	srv, loop := newFakeServer(t, ServerOptions{})
	srv.SetAdapter(&fakeAdapter{})
	c := join(t, srv)
	b := AdapterBroadcast{Namespace: "/", Event: "x"}
	for i := 0; i < MaxRemoteQueued; i++ {
		if err := srv.DeliverBroadcast(b); err != nil {
			t.Fatalf("broadcast %d refused: %v", i, err)
		}
	}
	if err := srv.DeliverBroadcast(b); err != ErrBusy {
		t.Fatalf("broadcast %d: %v, want ErrBusy", MaxRemoteQueued+1, err)
	}
	if err := srv.DeliverSocketsJoin("/", Selection{}, []string{"r"}); err != ErrBusy {
		t.Fatalf("socketsJoin past the bound: %v, want ErrBusy", err)
	}
	loop.runPosted()
	if n := len(c.frames(t)); n != MaxRemoteQueued {
		t.Fatalf("the client got %d broadcasts, want %d", n, MaxRemoteQueued)
	}
	if err := srv.DeliverBroadcast(b); err != nil {
		t.Fatalf("after the loop caught up: %v", err)
	}
}
