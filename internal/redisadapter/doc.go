// Package redisadapter speaks the protocol of socket.io's Redis adapter
// (npm @socket.io/redis-adapter 8.x, the classic pub/sub one), so that
// miniio servers and Node socket.io servers on one Redis serve one chat.
//
// # Why an adapter
//
// One server process knows only its own clients. When ann, on server A,
// sends `chat` to everyone, bob on server B must get it too, so A also
// publishes the broadcast on Redis; every other server is subscribed, and
// delivers it to its own clients, as if one of them had emitted it. Redis
// pub/sub keeps nothing: a server that is not subscribed at that moment
// (Redis restarting, the connection broken) never sees the message. That
// is the adapter's one guarantee, at most once, and this package reports
// the windows in which messages were lost instead of hiding them.
//
// # What goes on Redis
//
// For namespace "/" with the default key "socket.io" (channel.go):
//
//	PUBLISH socket.io#/#        a broadcast to the namespace, or to several rooms
//	PUBLISH socket.io#/#news#   a broadcast to exactly the room "news"
//	PUBLISH socket.io-request#/#    a request to the other servers
//	PUBLISH socket.io-response#/#   an answer
//
// A broadcast (message.go) is a MessagePack array; what `redis-cli
// SUBSCRIBE` shows as bytes is this value:
//
//	["Ab12Cd", {type: 2, data: ["chat", "ann", "hi"], nsp: "/"}, {rooms: [], except: ["sid-of-ann"], flags: {}}]
//	 the sender  the socket.io packet, before socket.io-parser   who gets it: socket.broadcast.emit
//	             turns it into the text 42["chat","ann","hi"]   is "everyone but me"
//
// Requests (request.go) carry everything else a cluster does together:
// serverSideEmit (an event for the other servers, not their clients),
// fetchSockets, socketsJoin, socketsLeave, disconnectSockets, and
// broadcasts whose clients must answer (acks). The Node adapter writes
// them as JSON, except the broadcast with acks, whose packet may hold
// bytes: MessagePack. Answers go back on the response channel.
//
// miniio keeps a packet's arguments as the JSON text a client sent, with
// socket.io's placeholders where bytes were (internal/wire); msgpack.go
// turns that into MessagePack and back, with bytes as MessagePack bins,
// byte for byte as the Node adapter's notepack.io writes them.
//
// # The Bus
//
// A Bus (bus.go) is one server's connection to Redis, with go-redis
// underneath: a publishing goroutine that takes from a bounded queue, a
// subscribing goroutine that reads and reconnects with backoff, and a
// delivering goroutine that decodes and calls OnMessage. When Redis is
// slow or gone, the queue stops at its bound and the Bus drops and counts
// (Stats); when the subscription is lost and comes back, OnStatus hears
// the window (Status). Nothing here touches a socket's state: the server
// posts what OnMessage gets onto its event loop.
//
// # What the server provides
//
// The package does not import the server. The server is expected to wire
// a Bus to its event loop roughly like this, every method running on the
// loop's goroutine:
//
//	// Local is what the adapter needs from the server, for one namespace.
//	type Local interface {
//		// HasRoom: a broadcast on a room's channel for a room with no
//		// member here is dropped without delivering (as Node does).
//		HasRoom(nsp, room string) bool
//		// BroadcastLocal delivers p to this node's sockets in opts.Rooms
//		// (all when empty) but not in opts.Except, as if emitted here;
//		// it does not publish again.
//		BroadcastLocal(p redisadapter.Packet, opts redisadapter.BroadcastOptions)
//		// BroadcastLocalWithAck is BroadcastLocal for a packet whose
//		// clients answer: count says how many got it, ack is called
//		// once per client answer.
//		BroadcastLocalWithAck(p redisadapter.Packet, opts redisadapter.BroadcastOptions,
//			count func(int), ack func(arg json.RawMessage, attachments [][]byte))
//		// ServerSideEmit runs the namespace's handlers for a server-side
//		// event (io.on(event, …) in Node); reply is nil when the sender
//		// wants no answer, else called at most once with one value.
//		ServerSideEmit(nsp string, event string, args []json.RawMessage, reply func(json.RawMessage))
//		// The socket-set requests: the sockets in opts.Rooms but not in
//		// opts.Except join, leave, are disconnected, are listed.
//		AddSockets(nsp string, opts redisadapter.BroadcastOptions, rooms []string)
//		DelSockets(nsp string, opts redisadapter.BroadcastOptions, rooms []string)
//		DisconnectSockets(nsp string, opts redisadapter.BroadcastOptions, close bool)
//		FetchSockets(nsp string, opts redisadapter.BroadcastOptions) []redisadapter.FetchedSocket
//		Rooms(nsp string) []string
//	}
//
// and on the sending side: every broadcast that is not Flags.Local goes
// to Bus.PublishBroadcast besides local delivery; serverSideEmit is
// Bus.PublishRequest(Request{Type: ServerSideEmit, …}), with a RequestID
// and Bus.ServerCount−1 answers to wait for when it wants acks. A request
// from a Node server is answered with Bus.PublishResponse on the common
// response channel (toUID ""), which is where Node listens unless it was
// set up with publishOnSpecificResponseChannel.
//
// See lesson 17 (more than one server) and socket.io's adapter pages.
package redisadapter
