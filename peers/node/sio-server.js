// sio-server.js: a real socket.io 4.8 server that plays `miniio serve`'s
// demo, for tests.
//
// The Go tests use it to check miniio's own clients against the official
// server: if the Go client gets the same answers from this file as from
// `miniio serve`, it speaks socket.io, not just miniio. Its events are the
// ones demo() in cmd/miniio/serve.go answers, written the Node way:
//
//   chat …        → the others get ["chat", NAME, …] (only the sender's
//                   rooms, if it joined any): socket.broadcast.emit /
//                   socket.to(rooms).emit; then an empty ack
//   shout …       → everyone, the sender too, gets ["shout", NAME, …]:
//                   io.emit; then an empty ack
//   echo …        → acknowledged with the same arguments
//   join R / leave R → in or out of room R, acknowledged with the rooms the
//                   socket is in (sorted, without the room named by its id)
//   on connect    → the others get ["user joined", NAME]   (named clients only)
//   on disconnect → the others get ["user left", NAME]     (named clients only)
//
// NAME is the "name" of the CONNECT's auth ({"name":"ann"}), or the socket's
// id when there is none; clients without a name are not announced. It also
// answers the benchmark's count, count_done, bcast and mem (the contract is
// at the top of scripts/bench), and `stats` with {conns, connected}.
//
// Run:   node sio-server.js [--port 0] [--transports polling,websocket]
//                           [--token T] [--namespaces /admin,/chat]
//                           [--ping-interval MS] [--ping-timeout MS]
//                           [--page FILE] [--cors ORIGIN,…]
//        (install first: npm ci --prefix peers/node)
//
//   --port P          TCP port on 127.0.0.1; 0 (the default) lets the kernel
//                     pick a free one
//   --transports L    what the server accepts: "websocket", or socket.io's
//                     default "polling,websocket" (start on long-polling,
//                     then upgrade)
//   --token T         let in only a CONNECT whose auth carries {"token": T};
//                     others get connect_error "not authorized", miniio's
//                     word for it (wire.ReasonNotAuthorized in internal/wire)
//   --namespaces L    more namespaces with the same demo, besides "/"
//   --ping-interval, --ping-timeout   Engine.IO's heartbeat, in milliseconds
//   --page FILE       answer GET / with FILE as text/html: the chat page
//                     (internal/chatpage/chat.html), same-origin with the
//                     server, as `miniio serve` will serve it. socket.io
//                     itself serves the official client bundle at
//                     /socket.io/socket.io.min.js; any other path is a 404
//   --cors L          let pages from these origins (comma-separated, as
//                     http://127.0.0.1:8080) use the server cross-origin:
//                     socket.io's cors option, off by default
//   --redis URL       join other servers through Redis (redis://127.0.0.1:6379)
//                     with the official @socket.io/redis-adapter; see the
//                     "--redis" section below
//
// Once it listens it prints one line on stdout, `ready PORT`, and nothing
// else there; a line on stderr for each connection and disconnection helps
// read a failed test. SIGTERM or SIGINT ends it at once: the kernel closes
// every connection, as when a real server dies, which is what a client's
// reconnection test wants to see.

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const { Server } = require('socket.io');

const USAGE = `usage: node sio-server.js [--port P] [--transports websocket|polling,websocket]
                          [--token T] [--namespaces /a,/b] [--ping-interval MS] [--ping-timeout MS]
                          [--page FILE] [--cors ORIGIN,...]`;

// The limits miniio's demo puts on rooms (maxRoomName, maxRooms in
// cmd/miniio/serve.go), with the same error answers.
const MAX_NAME = 40;
const MAX_ROOM_NAME = 40;
const MAX_ROOMS = 20;

function usageError(msg) {
  console.error(`sio-server.js: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, transports: 'polling,websocket', token: null, namespaces: '', pingInterval: 0, pingTimeout: 0, page: null, cors: '' };
  const names = { port: 'port', transports: 'transports', token: 'token', namespaces: 'namespaces', 'ping-interval': 'pingInterval', 'ping-timeout': 'pingTimeout', page: 'page', cors: 'cors' };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    if (!flag.startsWith('--') || !(flag.slice(2) in names)) usageError(`unknown argument ${JSON.stringify(argv[i])}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) usageError(`${flag} wants a value`);
      value = argv[++i];
    }
    opts[names[flag.slice(2)]] = value;
  }
  opts.port = Number(opts.port);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usageError('--port wants 0..65535');
  opts.transports = opts.transports.split(',');
  for (const t of opts.transports) {
    if (t !== 'polling' && t !== 'websocket') usageError(`unknown transport ${JSON.stringify(t)} (polling, websocket)`);
  }
  opts.namespaces = opts.namespaces ? opts.namespaces.split(',') : [];
  for (const ns of opts.namespaces) {
    if (!ns.startsWith('/')) usageError(`a namespace starts with "/": ${JSON.stringify(ns)}`);
  }
  for (const key of ['pingInterval', 'pingTimeout']) {
    opts[key] = Number(opts[key]);
    if (!Number.isInteger(opts[key]) || opts[key] < 0) usageError('--ping-interval and --ping-timeout want milliseconds');
  }
  opts.cors = opts.cors ? opts.cors.split(',') : [];
  for (const origin of opts.cors) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) usageError(`--cors wants origins such as http://127.0.0.1:8080, not ${JSON.stringify(origin)}`);
  }
  return opts;
}

const redisURL = takeRedisOption(process.argv);
const opts = parseArgs(process.argv.slice(2));

// The page is read once, at start, so that a missing file is an error
// now and not a 500 later.
let page = null;
if (opts.page !== null) {
  try {
    page = fs.readFileSync(opts.page);
  } catch (err) {
    usageError(`--page: ${err.message}`);
  }
}

// socket.io answers everything under /socket.io/ before this handler
// sees it (the bundle included); the rest is the page or a 404.
const httpServer = page === null ? http.createServer() : http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const serverOptions = { transports: opts.transports };
if (opts.cors.length > 0) serverOptions.cors = { origin: opts.cors };
if (opts.pingInterval) serverOptions.pingInterval = opts.pingInterval;
if (opts.pingTimeout) serverOptions.pingTimeout = opts.pingTimeout;
const io = new Server(httpServer, serverOptions);

// The name a client gave in its auth, as miniio's nameOf takes it: a
// non-empty string of at most 40 characters, or else the socket's id.
function nameOf(socket) {
  const name = socket.handshake.auth && socket.handshake.auth.name;
  if (typeof name === 'string' && name !== '' && [...name].length <= MAX_NAME) {
    return { name, named: true };
  }
  return { name: socket.id, named: false };
}

// The rooms a socket is in, as miniio's Socket.Rooms lists them: without
// the room socket.io makes for every socket's own id, sorted by bytes (Go's
// sort.Strings), not by JavaScript's UTF-16 units.
function roomsOf(socket) {
  return [...socket.rooms]
    .filter((r) => r !== socket.id)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// socket.io hands the ack callback as the last argument when the client
// asked for one; without it, answering is a no-op, as in miniio.
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === 'function') {
    const ack = args.pop();
    return ack;
  }
  return () => {};
}

// roomArg checks join's and leave's argument, answering an error as miniio
// does when it is not a usable room name.
function roomArg(args, ack) {
  const room = args[0];
  if (typeof room !== 'string' || room === '') {
    ack({ error: 'join and leave take a room name, a non-empty string' });
    return null;
  }
  if ([...room].length > MAX_ROOM_NAME) {
    ack({ error: `a room name has at most ${MAX_ROOM_NAME} characters` });
    return null;
  }
  return room;
}

function demo(nsp) {
  if (opts.token !== null) {
    nsp.use((socket, next) => {
      const auth = socket.handshake.auth || {};
      if (auth.token !== opts.token) return next(new Error('not authorized'));
      next();
    });
  }

  nsp.on('connection', (socket) => {
    const { name, named } = nameOf(socket);
    console.error(`${nsp.name} ${name} connected: sid ${socket.id}, ${socket.conn.transport.name}`);
    if (named) socket.broadcast.emit('user joined', name);

    // chat: to the others, or only the sender's rooms when it joined any.
    socket.on('chat', (...args) => {
      const ack = splitAck(args);
      const rooms = roomsOf(socket);
      const out = rooms.length > 0 ? socket.to(rooms) : socket.broadcast;
      out.emit('chat', name, ...args);
      ack();
    });

    // shout: everyone, the sender included.
    socket.on('shout', (...args) => {
      const ack = splitAck(args);
      nsp.emit('shout', name, ...args);
      ack();
    });

    socket.on('echo', (...args) => {
      const ack = splitAck(args);
      ack(...args);
    });

    socket.on('join', (...args) => {
      const ack = splitAck(args);
      const room = roomArg(args, ack);
      if (room === null) return;
      const rooms = roomsOf(socket);
      if (rooms.length >= MAX_ROOMS && !rooms.includes(room)) {
        ack({ error: `at most ${MAX_ROOMS} rooms at once: leave one first` });
        return;
      }
      socket.join(room);
      ack(roomsOf(socket));
    });

    socket.on('leave', (...args) => {
      const ack = splitAck(args);
      const room = roomArg(args, ack);
      if (room === null) return;
      socket.leave(room);
      ack(roomsOf(socket));
    });

    socket.on('disconnect', (reason) => {
      console.error(`${nsp.name} ${name} disconnected: ${reason}`);
      if (named) socket.broadcast.emit('user left', name);
    });

    // The benchmark's events (scripts/bench, "The workload contract").
    let counted = 0;
    socket.on('count', () => {
      counted++;
    });
    socket.on('count_done', (...args) => {
      splitAck(args)(counted);
      counted = 0;
    });
    socket.on('bcast', (...args) => {
      splitAck(args);
      if (args.length > 0) socket.broadcast.emit('msg', args[0]);
    });
    socket.on('mem', (...args) => {
      const m = process.memoryUsage();
      splitAck(args)({ rss: m.rss, heap: m.heapUsed });
    });
    // stats: miniio's answer without its "goroutines", which Node has not.
    socket.on('stats', (...args) => {
      splitAck(args)({ conns: io.engine.clientsCount, connected: nsp.sockets.size });
    });
  });
}

demo(io.of('/'));
for (const ns of opts.namespaces) demo(io.of(ns));

// --redis URL: the official Redis adapter (npm @socket.io/redis-adapter,
// the classic pub/sub one), so that this server and others on the same
// Redis (Node or miniio) serve one chat: every broadcast is also published
// on Redis, and what other servers publish reaches this server's clients.
// It adds one event for the adapter's server-side emits:
//
//   sse …   from a client → io.serverSideEmit("sse", …) to the other
//           servers; with an ack, serverSideEmitWithAck, and the client
//           gets their answers (or {error, responses} on a timeout)
//   "sse" from another server → this server's clients get ["sse", …]
//           (io.local: not published again), and the sender's ack, if it
//           wants one, gets "node"
//
// Once both Redis connections are up it says `redis adapter on URL` on
// stderr; whether the subscriptions are in place is for Redis to say
// (PUBSUB NUMSUB socket.io-request#/#).
function takeRedisOption(argv) {
  for (let i = 2; i < argv.length; i++) {
    const [flag, value] = argv[i].split(/=(.*)/s, 2);
    if (flag !== '--redis') continue;
    if (value !== undefined) {
      argv.splice(i, 1);
      return value;
    }
    if (i + 1 >= argv.length) usageError('--redis wants a URL');
    return argv.splice(i, 2)[1];
  }
  return null;
}

if (redisURL !== null) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: redisURL });
  const sub = pub.duplicate();
  for (const [name, client] of [['pub', pub], ['sub', sub]]) {
    client.on('error', (err) => console.error(`redis ${name}: ${err.message}`));
  }
  // Connecting first: the adapter subscribes at once, and node-redis
  // queues commands only on a client that is connecting.
  const connected = Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  connected.then(
    () => console.error(`redis adapter on ${redisURL}`),
    (err) => {
      console.error(`sio-server.js: redis ${redisURL}: ${err.message}`);
      process.exit(1);
    },
  );

  io.on('sse', (...args) => {
    const ack = splitAck(args);
    io.local.emit('sse', ...args);
    ack('node');
  });
  io.on('connection', (socket) => {
    socket.on('sse', (...args) => {
      if (typeof args[args.length - 1] !== 'function') {
        io.serverSideEmit('sse', ...args);
        return;
      }
      const ack = args.pop();
      io.serverSideEmitWithAck('sse', ...args).then(
        (responses) => ack(responses),
        (err) => ack({ error: err.message, responses: err.responses }),
      );
    });
  });
}

httpServer.on('error', (err) => {
  // EADDRINUSE and friends: one line, no stack trace.
  console.error(`sio-server.js: listen on 127.0.0.1:${opts.port}: ${err.code || err.message}`);
  process.exit(1);
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  console.log(`ready ${httpServer.address().port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
