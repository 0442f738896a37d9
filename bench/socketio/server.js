// server.js: the socket.io side of scripts/bench, the server half.
//
// It answers the same workload contract as `miniio serve` (the contract is
// written out at the top of scripts/bench): the events echo, count,
// count_done, bcast and mem, with the same arguments and the same acks, so
// one load generator's numbers can be set beside the other's.
//
// Run:   node --expose-gc server.js PORT
//        (prints "ready" on stdout once it listens on 127.0.0.1:PORT;
//         SIGTERM or SIGINT ends it)
//
// Options are socket.io's defaults except one: transports: ['websocket'].
// The default starts every client on HTTP long-polling and then upgrades it;
// miniio has no such dance, so both sides get a single long-lived
// connection. perMessageDeflate stays off, which is already the default.
// Nothing else is tuned, in either direction.

'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2]);
if (process.argv.length !== 3 || !Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node --expose-gc server.js PORT   (PORT: 1..65535)');
  process.exit(2);
}

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'] });

io.on('connection', (socket) => {
  // `count` events seen on this connection since it connected or since the
  // last `count_done`. Per connection, so two load runs never mix.
  let counted = 0;

  // echo: ack with exactly the arguments that came in (the ack callback is
  // always the last argument when the client asked for one).
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });

  socket.on('count', () => {
    counted++;
  });

  // socket.io hands one connection's events to us in the order they were
  // sent, so when count_done arrives every earlier `count` has been counted.
  socket.on('count_done', (ack) => {
    const total = counted;
    counted = 0;
    if (typeof ack === 'function') ack(total);
  });

  // bcast: to everyone connected except the sender, as `msg`.
  socket.on('bcast', (data) => {
    socket.broadcast.emit('msg', data);
  });

  // mem: a full garbage collection first (only when node runs with
  // --expose-gc), so `heap` counts live objects rather than garbage waiting
  // for the next collection. rss is what the operating system has handed
  // the process; it is the number scripts/bench puts in its table.
  socket.on('mem', (ack) => {
    if (typeof global.gc === 'function') global.gc();
    const m = process.memoryUsage();
    if (typeof ack === 'function') ack({ rss: m.rss, heap: m.heapUsed });
  });
});

httpServer.on('error', (err) => {
  // EADDRINUSE and friends: say it in one line, no stack trace.
  console.error(`server.js: listen on 127.0.0.1:${port}: ${err.code || err.message}`);
  process.exit(1);
});

httpServer.listen(port, '127.0.0.1', () => {
  if (typeof global.gc !== 'function') {
    console.error('server.js: note: run node with --expose-gc so `mem` collects garbage before it measures');
  }
  console.log('ready');
});

// Exit at once on a signal: closing thousands of clients politely would only
// slow the harness down, and the kernel closes every socket when we exit.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
