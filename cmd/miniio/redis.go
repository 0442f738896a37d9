package main

// miniio serve -redis: one server of several, joined through Redis with
// the protocol of socket.io's Redis adapter, so that miniio servers and
// Node socket.io servers on one Redis serve one chat (lessons/17-*.md).
//
// The server (internal/server) knows an Adapter; package redisadapter
// knows Redis. This file is the bridge between them: what the server
// publishes goes on the Bus; what the Bus hears from other servers goes
// to the server, which queues it for its event loop.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fatih/color"

	"socklab/internal/redisadapter"
	"socklab/internal/server"
)

// redisWait is how long -redis waits for Redis at start.
const redisWait = 5 * time.Second

// maxAsking is how many of our requests may wait for answers at once.
const maxAsking = 1024

// clusterNode is this server's link to the others.
type clusterNode struct {
	srv *server.Server
	bus *redisadapter.Bus
	log *logger

	mu      sync.Mutex
	pending map[string]*pendingRequest // our requests waiting for answers, by id
	nextID  uint64

	lastFull  atomic.Int64  // unix nanoseconds of the last "queue full" line
	lastBusy  atomic.Int64  // and of the last "loop is behind" line
	busyDrops atomic.Uint64 // messages from other servers dropped: the loop was behind
	asking    atomic.Int64  // our requests waiting for answers (ask)
	alone     atomic.Bool   // Redis was not there at start (-redis-optional)
}

// pendingRequest is one request of ours that wants answers: one from
// each of want other servers, or whatever came when the timer fires.
type pendingRequest struct {
	want    int
	answers []json.RawMessage
	fetched []server.RemoteSocket
	timer   *time.Timer
	done    func(answers []json.RawMessage, fetched []server.RemoteSocket, err error)
}

// joinCluster connects srv to the other servers on Redis at url. When
// Redis is not there within redisWait it is an error, unless optional:
// then the server serves alone, says so loudly, and the Bus goes on
// trying in the background. The returned function closes the link.
func joinCluster(srv *server.Server, url string, optional bool, log *logger) (func(), error) {
	node := &clusterNode{srv: srv, log: log, pending: make(map[string]*pendingRequest)}
	bus, err := redisadapter.New(redisadapter.Config{
		URL:        url,
		Namespaces: []string{"/"},
		OnMessage:  node.onMessage,
		OnStatus:   node.onStatus,
	})
	if err != nil {
		return nil, err
	}
	node.bus = bus
	ctx, cancel := context.WithTimeout(context.Background(), redisWait)
	err = bus.WaitSubscribed(ctx)
	cancel()
	if err != nil && !optional {
		bus.Close()
		return nil, fmt.Errorf("%v\n(is redis-server running? start it, or add -redis-optional to serve alone until it comes)", err)
	}
	if err != nil {
		node.alone.Store(true)
		node.alert("redis: NOT CONNECTED (%v): serving local clients only; broadcasts to other servers are lost until Redis is back", err)
	} else {
		log.info("redis adapter on %s: node %s, channels %s#/#*", url, bus.UID(), bus.Key())
	}
	srv.SetAdapter(node)
	clusterDemo(srv)
	return func() { bus.Close() }, nil
}

// alert prints a line about the cluster even with -q: these are the
// lines that say messages may have been lost.
func (c *clusterNode) alert(format string, args ...any) {
	c.log.mu.Lock()
	fmt.Fprintln(os.Stderr, color.YellowString("warning: "+format, args...))
	c.log.mu.Unlock()
}

func (c *clusterNode) onStatus(s redisadapter.Status) {
	switch s.Kind {
	case redisadapter.Subscribed:
		if c.alone.Load() { // late: the start-up line said we were alone
			c.alert("redis: subscribed: broadcasts reach the other servers from now on")
		}
	default:
		c.alert("%s", s)
	}
}

// onMessage gets what another server published, on the Bus's goroutine.
func (c *clusterNode) onMessage(m redisadapter.Message) {
	switch m.Kind {
	case redisadapter.KindBroadcast:
		b := m.Broadcast
		err := c.srv.DeliverBroadcast(server.AdapterBroadcast{
			Namespace: m.Namespace, Event: b.Packet.Event, Args: b.Packet.Args, Attachments: b.Packet.Attachments,
			Rooms: b.Opts.Rooms, Except: b.Opts.Except, Volatile: b.Opts.Flags.Volatile,
		})
		c.refused(err, "a broadcast from node "+b.UID)
	case redisadapter.KindRequest:
		c.request(m.Namespace, m.Request)
	case redisadapter.KindResponse:
		c.response(m.Response)
	}
}

// request answers another server's request.
func (c *clusterNode) request(nsp string, r *redisadapter.Request) {
	respond := func(resp redisadapter.Response, forType redisadapter.RequestType) {
		if r.RequestID == "" {
			return
		}
		resp.RequestID = r.RequestID
		if err := c.bus.PublishResponse(nsp, resp, forType, ""); err != nil {
			c.log.warn("redis: answer to %v: %v", r.Type, err)
		}
	}
	sel := func() server.Selection {
		if r.Opts != nil {
			return server.Selection{Rooms: r.Opts.Rooms, Except: r.Opts.Except}
		}
		return server.Selection{Rooms: []string{r.SID}} // an older node names one socket
	}
	rooms := r.Rooms
	if r.Opts == nil && r.Room != "" {
		rooms = []string{r.Room}
	}
	switch r.Type {
	case redisadapter.ServerSideEmit:
		var event string
		if json.Unmarshal(r.Data[0], &event) != nil {
			return
		}
		var reply func(json.RawMessage)
		if r.RequestID != "" {
			reply = func(v json.RawMessage) {
				respond(redisadapter.Response{Type: redisadapter.ServerSideEmit, Data: v}, redisadapter.ServerSideEmit)
			}
		}
		c.refused(c.srv.DeliverServerSideEmit(nsp, event, r.Data[1:], reply), "serverSideEmit "+strconv.Quote(event))
	case redisadapter.RemoteJoin:
		c.refused(c.srv.DeliverSocketsJoin(nsp, sel(), rooms), "socketsJoin")
		respond(redisadapter.Response{Type: redisadapter.NoType}, redisadapter.RemoteJoin)
	case redisadapter.RemoteLeave:
		c.refused(c.srv.DeliverSocketsLeave(nsp, sel(), rooms), "socketsLeave")
		respond(redisadapter.Response{Type: redisadapter.NoType}, redisadapter.RemoteLeave)
	case redisadapter.RemoteDisconnect:
		c.refused(c.srv.DeliverDisconnectSockets(nsp, sel(), r.Close), "disconnectSockets")
		respond(redisadapter.Response{Type: redisadapter.NoType}, redisadapter.RemoteDisconnect)
	case redisadapter.RemoteFetch:
		c.refused(c.srv.DeliverFetchSockets(nsp, sel(), func(list []server.RemoteSocket) {
			resp := redisadapter.Response{Type: redisadapter.NoType}
			for _, s := range list {
				resp.Fetched = append(resp.Fetched, redisadapter.FetchedSocket{ID: s.ID, Handshake: s.Handshake, Rooms: s.Rooms, Data: s.Data})
			}
			respond(resp, redisadapter.RemoteFetch)
		}), "fetchSockets")
	case redisadapter.Sockets:
		c.refused(c.srv.DeliverFetchSockets(nsp, server.Selection{Rooms: r.Rooms}, func(list []server.RemoteSocket) {
			resp := redisadapter.Response{Type: redisadapter.NoType, Sockets: []string{}}
			for _, s := range list {
				resp.Sockets = append(resp.Sockets, s.ID)
			}
			respond(resp, redisadapter.Sockets)
		}), "sockets")
	case redisadapter.AllRooms:
		c.refused(c.srv.DeliverRooms(nsp, func(rooms []string) {
			respond(redisadapter.Response{Type: redisadapter.NoType, Rooms: rooms}, redisadapter.AllRooms)
		}), "allRooms")
	case redisadapter.BroadcastWithAck:
		// A broadcast whose clients answer: io.timeout(ms).emit(…, ack).
		// First how many of ours got it, then each one's answer.
		p := r.Packet
		err := c.srv.DeliverBroadcastWithAck(server.AdapterBroadcast{
			Namespace: nsp, Event: p.Event, Args: p.Args, Attachments: p.Attachments, Rooms: r.Opts.Rooms, Except: r.Opts.Except,
		}, time.Duration(r.Opts.Flags.Timeout)*time.Millisecond, func(n int) {
			respond(redisadapter.Response{Type: redisadapter.BroadcastClientCount, ClientCount: n}, redisadapter.BroadcastClientCount)
		}, func(v json.RawMessage) {
			respond(redisadapter.Response{Type: redisadapter.BroadcastAck, Ack: v}, redisadapter.BroadcastAck)
		})
		if err != nil {
			// Not delivered here: say so at once (none of ours got it)
			// rather than let the sender wait for its timeout.
			c.refused(err, "a broadcast with acks")
			respond(redisadapter.Response{Type: redisadapter.BroadcastClientCount, ClientCount: 0}, redisadapter.BroadcastClientCount)
		}
	}
}

// refused reports a message from another server that this one did not
// take: a bad one, or one too many while its loop is busy (at most one
// line a second for those: they come in floods).
func (c *clusterNode) refused(err error, what string) {
	switch {
	case err == nil:
	case errors.Is(err, server.ErrBusy):
		n := c.busyDrops.Add(1)
		now := time.Now().UnixNano()
		if last := c.lastBusy.Load(); now-last > int64(time.Second) && c.lastBusy.CompareAndSwap(last, now) {
			c.alert("redis: the event loop is behind: %d messages from other servers dropped so far (%s)", n, what)
		}
	default:
		c.log.warn("redis: %s: %v", what, err)
	}
}

// response files an answer to one of our requests.
func (c *clusterNode) response(r *redisadapter.Response) {
	c.mu.Lock()
	p := c.pending[r.RequestID]
	if p == nil {
		c.mu.Unlock()
		return // someone else's, or too late
	}
	if r.Data != nil || r.Type == redisadapter.ServerSideEmit {
		p.answers = append(p.answers, r.Data)
	}
	for _, f := range r.Fetched {
		p.fetched = append(p.fetched, server.RemoteSocket{ID: f.ID, Rooms: f.Rooms, Handshake: f.Handshake, Data: f.Data})
	}
	p.want--
	finished := p.want <= 0
	if finished {
		delete(c.pending, r.RequestID)
		p.timer.Stop()
	}
	c.mu.Unlock()
	if finished {
		p.done(p.answers, p.fetched, nil)
	}
}

// ask publishes a request that wants one answer from every other server
// of nsp, and calls done once: with all of them, or at the timeout with
// what came. Counting the servers is a round trip to Redis, so it all
// happens on a goroutine of its own: the loop never waits for Redis.
func (c *clusterNode) ask(nsp string, r redisadapter.Request, timeout time.Duration,
	finish func([]json.RawMessage, []server.RemoteSocket, error)) {
	// A client that asks faster than the answers come must not pile up
	// goroutines and timers without end: maxAsking at once.
	if c.asking.Add(1) > maxAsking {
		c.asking.Add(-1)
		finish(nil, nil, fmt.Errorf("more than %d requests to other servers are waiting for answers; try later", maxAsking))
		return
	}
	done := func(a []json.RawMessage, f []server.RemoteSocket, err error) {
		c.asking.Add(-1)
		finish(a, f, err)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		n, err := c.bus.ServerCount(ctx, nsp)
		cancel()
		if err != nil {
			done(nil, nil, err)
			return
		}
		want := n - 1 // the others
		if want <= 0 {
			done([]json.RawMessage{}, nil, nil)
			return
		}
		c.mu.Lock()
		c.nextID++
		id := c.bus.UID() + "-" + strconv.FormatUint(c.nextID, 10)
		p := &pendingRequest{want: want, answers: []json.RawMessage{}, done: done}
		c.pending[id] = p
		p.timer = time.AfterFunc(timeout, func() {
			c.mu.Lock()
			_, still := c.pending[id]
			delete(c.pending, id)
			c.mu.Unlock()
			if still {
				p.done(p.answers, p.fetched, fmt.Errorf("timed out after %v: %d of %d servers did not answer", timeout, p.want, want))
			}
		})
		c.mu.Unlock()
		r.RequestID = id
		if err := c.bus.PublishRequest(nsp, r); err != nil {
			c.mu.Lock()
			delete(c.pending, id)
			c.mu.Unlock()
			p.timer.Stop()
			done(nil, nil, err)
		}
	}()
}

// The server.Adapter methods.

func (c *clusterNode) AddNamespace(nsp string) {
	if err := c.bus.Subscribe(nsp); err != nil {
		c.log.warn("redis: subscribe %s: %v", nsp, err)
	}
}

func (c *clusterNode) Publish(b server.AdapterBroadcast) error {
	err := c.bus.PublishBroadcast(redisadapter.Broadcast{
		Packet: redisadapter.EventPacket(b.Namespace, b.Event, b.Args, b.Attachments),
		Opts:   redisadapter.BroadcastOptions{Rooms: b.Rooms, Except: b.Except, Flags: redisadapter.Flags{Volatile: b.Volatile}},
	})
	if errors.Is(err, redisadapter.ErrQueueFull) {
		// Once a second at most: a stream of broadcasts into a full
		// queue would otherwise be a stream of lines.
		now := time.Now().UnixNano()
		if last := c.lastFull.Load(); now-last > int64(time.Second) && c.lastFull.CompareAndSwap(last, now) {
			c.alert("redis: publish queue full (Redis slow or away): %d broadcasts to other servers dropped so far", c.bus.Stats().QueueDropped)
		}
	}
	return err
}

func (c *clusterNode) ServerSideEmit(nsp, event string, args []json.RawMessage, timeout time.Duration, answers func([]json.RawMessage, error)) error {
	name, _ := json.Marshal(event)
	r := redisadapter.Request{Type: redisadapter.ServerSideEmit, Data: append([]json.RawMessage{name}, args...)}
	if answers == nil {
		return c.bus.PublishRequest(nsp, r)
	}
	c.ask(nsp, r, timeout, func(got []json.RawMessage, _ []server.RemoteSocket, err error) { answers(got, err) })
	return nil
}

func options(sel server.Selection) *redisadapter.BroadcastOptions {
	return &redisadapter.BroadcastOptions{Rooms: sel.Rooms, Except: sel.Except}
}

func (c *clusterNode) SocketsJoin(nsp string, sel server.Selection, rooms []string) error {
	return c.bus.PublishRequest(nsp, redisadapter.Request{Type: redisadapter.RemoteJoin, Opts: options(sel), Rooms: rooms})
}

func (c *clusterNode) SocketsLeave(nsp string, sel server.Selection, rooms []string) error {
	return c.bus.PublishRequest(nsp, redisadapter.Request{Type: redisadapter.RemoteLeave, Opts: options(sel), Rooms: rooms})
}

func (c *clusterNode) DisconnectSockets(nsp string, sel server.Selection, close bool) error {
	return c.bus.PublishRequest(nsp, redisadapter.Request{Type: redisadapter.RemoteDisconnect, Opts: options(sel), Close: close})
}

func (c *clusterNode) FetchSockets(nsp string, sel server.Selection, timeout time.Duration, done func([]server.RemoteSocket, error)) error {
	c.ask(nsp, redisadapter.Request{Type: redisadapter.RemoteFetch, Opts: options(sel)}, timeout,
		func(_ []json.RawMessage, fetched []server.RemoteSocket, err error) { done(fetched, err) })
	return nil
}

// clusterDemo adds the demo's cluster events, as sio-server.js --redis
// has them:
//
//	sse …          from a client → io.serverSideEmit("sse", …) to the other
//	               servers; with an ack, the client gets their answers
//	"sse" from another server → this server's clients get ["sse", …]
//	               (io.local: not passed on again), and the sender's ack,
//	               if it wants one, gets "miniio"
//	except R …     everyone but the members of room R, on every server,
//	               gets ["except", R, …]: io.except(R).emit
//	sockets R      acknowledged with the ids of every socket in room R,
//	               on every server: io.in(R).fetchSockets()
//	kick R         every socket in room R, on every server, is
//	               disconnected: io.in(R).disconnectSockets()
func clusterDemo(srv *server.Server) {
	srv.OnServerSideEmit("sse", func(args []json.RawMessage, reply func(any) error) {
		srv.Local().Emit("sse", raw(args)...)
		reply("miniio")
	})
	srv.OnConnection(func(s *server.Socket) {
		s.On("sse", func(args []json.RawMessage, ack func(...any) error) {
			// The answers are for the client's ack; a client that asked
			// for none makes ack a no-op, and they are dropped.
			err := srv.ServerSideEmitWithAck("sse", 5*time.Second, func(answers []json.RawMessage, err error) {
				if err != nil {
					ack(map[string]any{"error": err.Error(), "responses": answers})
					return
				}
				ack(answers)
			}, raw(args)...)
			if err != nil {
				ack(map[string]string{"error": err.Error()})
			}
		})
		s.On("except", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			if len(args) == 0 || json.Unmarshal(args[0], &room) != nil || room == "" {
				ack(map[string]string{"error": "except takes a room name"})
				return
			}
			srv.Except(room).Emit("except", raw(args)...)
			ack()
		})
		s.On("sockets", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			if len(args) == 0 || json.Unmarshal(args[0], &room) != nil || room == "" {
				ack(map[string]string{"error": "sockets takes a room name"})
				return
			}
			srv.To(room).FetchSockets(5*time.Second, func(list []server.RemoteSocket, err error) {
				ids := []string{}
				for _, f := range list {
					ids = append(ids, f.ID)
				}
				if err != nil {
					ack(map[string]any{"error": err.Error(), "ids": ids})
					return
				}
				ack(ids)
			})
		})
		s.On("kick", func(args []json.RawMessage, ack func(...any) error) {
			var room string
			if len(args) == 0 || json.Unmarshal(args[0], &room) != nil || room == "" {
				ack(map[string]string{"error": "kick takes a room name"})
				return
			}
			ack()
			srv.To(room).DisconnectSockets(true)
		})
	})
}
