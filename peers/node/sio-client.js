// sio-client.js: the official socket.io client (npm socket.io-client 4.8),
// driven line by line, for tests.
//
// A Go test starts it, writes commands as JSON lines on its stdin, and reads
// everything that happens as JSON lines on its stdout, one line per
// happening, so it can check what the real client makes of a server (see
// internal/nodepeer, which does exactly that).
//
// Run:   node sio-client.js URL [--transports websocket] [--auth JSON]
//                              [--namespace /x] [--path /socket.io]
//                              [--reconnection-delay MS] [--reconnection-delay-max MS]
//                              [--no-reconnection] [--timeout MS]
//        (install first: npm ci --prefix peers/node)
//
//   URL               http://127.0.0.1:PORT (the server's, no namespace)
//   --transports L    "websocket", or the default "polling,websocket"
//                     (start on long-polling, then upgrade)
//   --auth JSON       the CONNECT's auth object, e.g. '{"name":"ann"}'
//   --namespace /x    connect to namespace /x instead of "/"
//   --path P          Engine.IO's path (default /socket.io)
//   --reconnection-delay MS, --reconnection-delay-max MS
//                     the reconnection back-off (socket.io's defaults are
//                     1000 and 5000); reconnection itself stays on, as in
//                     socket.io, unless --no-reconnection
//   --timeout MS      how long one connection attempt may take (default 20000)
//
// Commands, one JSON object per line on stdin:
//
//   {"emit":"chat","args":["hi"]}                         emit, no ack
//   {"emit":"echo","args":["hi"],"ack":true,"id":7}       emit with an ack; the
//                                     answer comes back as {"type":"ack","id":7,…}
//   … ,"timeout":500                  with ack: give up after 500 ms
//                                     ({"type":"ack_timeout","id":7})
//   {"reply":3,"args":["ok"]}         answer the server's event that carried
//                                     "reply":3 (the server asked for an ack)
//   {"disconnect":true}               socket.disconnect(): leave on purpose
//   {"connect":true}                  socket.connect(): come back
//
// Output, one JSON object per line on stdout:
//
//   {"type":"connect","id":SOCKET_ID,"transport":"websocket"|"polling"}
//   {"type":"connect_error","message":…,"data":…}
//   {"type":"event","event":"chat","args":[…]}     ("reply":N when the
//                                                    server wants an ack)
//   {"type":"ack","id":7,"args":[…]}
//   {"type":"ack_timeout","id":7}
//   {"type":"disconnect","reason":"transport close"}
//   {"type":"reconnect_attempt","n":1}, {"type":"reconnect","n":1},
//   {"type":"reconnect_error","message":…}, {"type":"reconnect_failed"}
//   {"type":"open","transport":"polling"}          (the engine opened, before any upgrade)
//   {"type":"upgrade","transport":"websocket"}     (the engine upgraded)
//   {"type":"error","message":…}                   (a command it could not run)
//
// Binary arguments travel as {"$binary":"BASE64"} both ways: a command's
// argument of that shape is sent as a Buffer (a socket.io attachment), and a
// Buffer or ArrayBuffer that arrives is printed in that shape.
//
// It exits 0 when stdin ends or on SIGTERM/SIGINT; 2 for a bad command line.

'use strict';

const readline = require('node:readline');
const { io } = require('socket.io-client');

const USAGE = `usage: node sio-client.js URL [--transports websocket|polling,websocket] [--auth JSON]
       [--namespace /x] [--path /socket.io] [--reconnection-delay MS]
       [--reconnection-delay-max MS] [--no-reconnection] [--timeout MS]`;

function usageError(msg) {
  console.error(`sio-client.js: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.length === 0 || argv[0].startsWith('--')) usageError('the server URL comes first');
  let url;
  try {
    url = new URL(argv[0]);
  } catch {
    usageError(`not a URL: ${JSON.stringify(argv[0])}`);
  }
  const opts = { forceNew: true };
  let namespace = '/';
  const wantsValue = new Set(['transports', 'auth', 'namespace', 'path', 'reconnection-delay', 'reconnection-delay-max', 'timeout']);
  for (let i = 1; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    const name = flag.slice(2);
    if (flag === '--no-reconnection' && value === undefined) {
      opts.reconnection = false;
      continue;
    }
    if (!flag.startsWith('--') || !wantsValue.has(name)) usageError(`unknown argument ${JSON.stringify(argv[i])}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) usageError(`${flag} wants a value`);
      value = argv[++i];
    }
    switch (name) {
      case 'transports':
        opts.transports = value.split(',');
        if (!opts.transports.every((t) => t === 'polling' || t === 'websocket')) usageError(`--transports: polling, websocket, or both`);
        break;
      case 'auth':
        try {
          opts.auth = JSON.parse(value);
        } catch (err) {
          usageError(`--auth is not JSON: ${err.message}`);
        }
        if (opts.auth === null || typeof opts.auth !== 'object' || Array.isArray(opts.auth)) usageError('--auth wants a JSON object');
        break;
      case 'namespace':
        if (!value.startsWith('/')) usageError('--namespace starts with "/"');
        namespace = value;
        break;
      case 'path':
        opts.path = value;
        break;
      default: {
        const ms = Number(value);
        if (!Number.isInteger(ms) || ms < 0) usageError(`${flag} wants milliseconds`);
        const key = { 'reconnection-delay': 'reconnectionDelay', 'reconnection-delay-max': 'reconnectionDelayMax', timeout: 'timeout' }[name];
        opts[key] = ms;
      }
    }
  }
  // socket.io-client reads the namespace from the URL's path.
  url.pathname = namespace;
  return { url: url.href, opts };
}

// print writes one happening as one line. Pipes are written synchronously
// on Linux, so lines come out in the order things happened.
function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Binary in and out: {"$binary":"BASE64"} stands for a Buffer, since JSON
// has no bytes.
function fromJSON(value) {
  if (Array.isArray(value)) return value.map(fromJSON);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$binary' && typeof value.$binary === 'string') {
      return Buffer.from(value.$binary, 'base64');
    }
    const out = {};
    for (const k of keys) out[k] = fromJSON(value[k]);
    return out;
  }
  return value;
}

function toJSON(value) {
  if (Buffer.isBuffer(value)) return { $binary: value.toString('base64') };
  if (value instanceof ArrayBuffer) return { $binary: Buffer.from(value).toString('base64') };
  if (ArrayBuffer.isView(value)) return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(toJSON);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value)) out[k] = toJSON(value[k]);
    return out;
  }
  return value;
}

const { url, opts } = parseArgs(process.argv.slice(2));
const socket = io(url, opts);

// The server's events that asked for an ack, by the number we printed.
const replies = new Map();
let nextReply = 1;

socket.on('connect', () => {
  print({ type: 'connect', id: socket.id, transport: socket.io.engine.transport.name });
});
socket.on('connect_error', (err) => {
  const line = { type: 'connect_error', message: err.message };
  if (err.data !== undefined) line.data = err.data;
  // "websocket error" says little; the cause (ECONNREFUSED, …) says more.
  if (err.description && err.description.message) line.description = err.description.message;
  print(line);
});
socket.on('disconnect', (reason) => {
  print({ type: 'disconnect', reason });
});
socket.onAny((event, ...args) => {
  const line = { type: 'event', event };
  if (args.length > 0 && typeof args[args.length - 1] === 'function') {
    line.reply = nextReply++;
    replies.set(line.reply, args.pop());
  }
  line.args = toJSON(args);
  print(line);
});

// The manager (socket.io) owns reconnection and the Engine.IO connection;
// a new engine is made for every reconnection, so hook each one as it opens.
socket.io.on('reconnect_attempt', (n) => print({ type: 'reconnect_attempt', n }));
socket.io.on('reconnect', (n) => print({ type: 'reconnect', n }));
socket.io.on('reconnect_error', (err) => print({ type: 'reconnect_error', message: err.message }));
socket.io.on('reconnect_failed', () => print({ type: 'reconnect_failed' }));
socket.io.on('open', () => {
  // The transport the engine opened on, before any upgrade: by the time
  // the socket.io "connect" line prints, the upgrade may already be done.
  print({ type: 'open', transport: socket.io.engine.transport.name });
  socket.io.engine.on('upgrade', (transport) => print({ type: 'upgrade', transport: transport.name }));
});

function run(cmd) {
  if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd)) throw new Error('a command is a JSON object');
  if (cmd.disconnect === true) {
    socket.disconnect();
  } else if (cmd.connect === true) {
    socket.connect();
  } else if (typeof cmd.emit === 'string') {
    const args = cmd.args === undefined ? [] : cmd.args;
    if (!Array.isArray(args)) throw new Error('"args" is a JSON array');
    const values = fromJSON(args);
    if (!cmd.ack) {
      socket.emit(cmd.emit, ...values);
      return;
    }
    if (!Number.isInteger(cmd.id)) throw new Error('an emit with "ack" needs a whole-number "id"');
    const id = cmd.id;
    if (cmd.timeout !== undefined) {
      if (!Number.isInteger(cmd.timeout) || cmd.timeout < 0) throw new Error('"timeout" is in whole milliseconds');
      socket.timeout(cmd.timeout).emit(cmd.emit, ...values, (err, ...answer) => {
        if (err) print({ type: 'ack_timeout', id });
        else print({ type: 'ack', id, args: toJSON(answer) });
      });
      return;
    }
    socket.emit(cmd.emit, ...values, (...answer) => print({ type: 'ack', id, args: toJSON(answer) }));
  } else if (cmd.reply !== undefined) {
    const answer = replies.get(cmd.reply);
    if (!answer) throw new Error(`no event is waiting for reply ${JSON.stringify(cmd.reply)}`);
    replies.delete(cmd.reply);
    const args = cmd.args === undefined ? [] : cmd.args;
    if (!Array.isArray(args)) throw new Error('"args" is a JSON array');
    answer(...fromJSON(args));
  } else {
    throw new Error('unknown command: want "emit", "reply", "disconnect" or "connect"');
  }
}

let lineNo = 0;
const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (text) => {
  lineNo++;
  if (text.trim() === '') return;
  try {
    run(JSON.parse(text));
  } catch (err) {
    // A bad command is reported and skipped; the client carries on.
    // socket.io itself throws for reserved event names ("connect", …).
    print({ type: 'error', message: `stdin line ${lineNo}: ${err.message}` });
  }
});
input.on('close', () => {
  socket.close();
  process.exit(0);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
