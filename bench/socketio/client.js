// client.js: the socket.io side of scripts/bench, the load generator.
//
// It drives server.js through one workload and prints ONE JSON line on
// stdout with the result, in the same shape `miniio bench -json` prints for
// the miniio server. The workloads, events and fields are the contract
// written at the top of scripts/bench; this file follows it.
//
// Run:   node client.js ack   --port P --count 20000 --size 64
//        node client.js tput  --port P --count 200000 --size 64
//        node client.js bcast --port P --receivers 1000 --messages 300 --size 64
//        node client.js idle  --port P --n 10000        (raise `ulimit -n` first)
//
// Exit status: 0 when the run completed and every message arrived; 1 when it
// did not (the JSON line then carries "error"); 2 for a bad command line.
//
// Choices that shape the numbers, said once here:
// - Every client is its own socket.io-client instance with its own TCP
//   connection (forceNew: true). Without it, io() hands every caller the same
//   underlying connection for the same URL, and "1000 receivers" would be one.
// - transports: ['websocket'], as on the server: no long-polling start.
// - reconnection: false, so a dropped connection fails the run instead of
//   quietly reconnecting and hiding the drop. It changes no hot path.
// - All clients of a run live in this one node process. For bcast that means
//   one process decodes every delivery for all receivers, and with 2 cores it
//   can be the slower side. The result carries client_cpu (cores used by this
//   process on average: 1.0 = one core busy all the time), so a reader can see
//   when the number measured the receivers rather than the server.
//   Splitting receivers over two node processes would not help here: the
//   server needs a core of its own, and this machine has two.
// - Times come from process.hrtime.bigint() (monotonic, nanoseconds).

'use strict';

const { io } = require('socket.io-client');

const USAGE = `usage: node client.js WORKLOAD --port P [options]
  WORKLOAD   ack | tput | bcast | idle
  --port P         server port on 127.0.0.1 (required)
  --count N        ack: round trips (default 20000); tput: events (default 200000)
  --size B         payload length in bytes, an ASCII string (default 64)
  --receivers N    bcast: receiving clients (default 1000)
  --messages M     bcast: broadcasts the sender emits (default 100)
  --n N            idle: idle clients (default 10000)
  --timeout S      give up after S seconds without finishing (default 120)`;

const DEFAULTS = { count: 0, size: 64, receivers: 1000, messages: 100, n: 10000, timeout: 120 };
const WORKLOADS = new Set(['ack', 'tput', 'bcast', 'idle']);

function usageError(msg) {
  console.error(`client.js: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const workload = argv[0];
  if (!WORKLOADS.has(workload)) usageError(`unknown workload ${JSON.stringify(workload ?? '')}`);
  const opts = { ...DEFAULTS, port: 0 };
  for (let i = 1; i < argv.length; i++) {
    let [name, value] = argv[i].split('=', 2);
    if (!name.startsWith('--')) usageError(`unexpected argument ${JSON.stringify(argv[i])}`);
    name = name.slice(2);
    if (!(name in opts)) usageError(`unknown flag --${name}`);
    if (value === undefined) value = argv[++i];
    const num = Number(value);
    if (!Number.isInteger(num) || num < 1) usageError(`--${name} wants a whole number ≥ 1, got ${JSON.stringify(value ?? '')}`);
    opts[name] = num;
  }
  if (!opts.port || opts.port > 65535) usageError('--port is required (1..65535)');
  if (!opts.count) opts.count = workload === 'tput' ? 200000 : 20000;
  return { workload, opts };
}

const { workload, opts } = parseArgs(process.argv.slice(2));
const url = `http://127.0.0.1:${opts.port}`;
const payload = 'x'.repeat(opts.size);
const now = () => process.hrtime.bigint();
const seconds = (ns) => Number(ns) / 1e9;

// The timed part of a run, for client_cpu: how busy this process was while
// the clock ran (connect time and warm-up left out).
const clock = {
  start() {
    this.cpu = process.cpuUsage();
    this.wall = now();
  },
  // Returns the seconds since start().
  stop() {
    const wallNs = now() - this.wall;
    const cpu = process.cpuUsage(this.cpu);
    this.busy = (cpu.user + cpu.system) / (Number(wallNs) / 1000);
    return seconds(wallNs);
  },
};

let finished = false;

function finish(result, code) {
  if (finished) return;
  finished = true;
  if (clock.busy !== undefined) result.client_cpu = round(clock.busy, 2);
  console.log(JSON.stringify(result));
  // Exit without closing each socket: the kernel closes them all at once,
  // and with ten thousand clients a polite goodbye would take a while.
  process.exit(code);
}

function fail(message, extra = {}) {
  finish({ workload, ...extra, error: message }, 1);
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// A run that stalls (a lost ack, a lost broadcast) must not hang the
// harness. The timer also keeps node alive, so a run can never end quietly
// without printing its line.
setTimeout(() => fail(`no result after ${opts.timeout} s`), opts.timeout * 1000);

function connect() {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    socket.once('connect', () => {
      // A drop anywhere, on any client, ends the run as a failure.
      socket.on('disconnect', (reason) => fail(`a client was disconnected: ${reason}`));
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      socket.close();
      // The transport's own error (ECONNREFUSED, EMFILE, …) says more than
      // socket.io's "websocket error", so show it when there is one.
      const cause = err.description && err.description.message;
      reject(new Error(`connect to ${url}: ${cause || err.message}`));
    });
  });
}

// Opens `count` clients, at most `inFlight` handshakes at a time, so ten
// thousand connects do not all land in the server's accept queue at once.
async function connectMany(count, inFlight = 200) {
  const out = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      out[i] = await connect();
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return out;
}

// Nearest-rank percentile of sorted values: the smallest value with at least
// p of all values at or below it.
function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}

// ack: one client, one echo in flight at a time; each round trip timed.
async function runAck() {
  const socket = await connect();
  const warmup = Math.max(1, Math.floor(opts.count / 10));
  for (let i = 0; i < warmup; i++) await socket.emitWithAck('echo', payload);

  const latencyNs = new Float64Array(opts.count);
  clock.start();
  for (let i = 0; i < opts.count; i++) {
    const t = now();
    const reply = await socket.emitWithAck('echo', payload);
    latencyNs[i] = Number(now() - t);
    if (reply !== payload) return fail(`echo came back different (round trip ${i})`);
  }
  const elapsed = clock.stop();
  latencyNs.sort();
  return {
    workload: 'ack',
    count: opts.count,
    seconds: round(elapsed, 6),
    per_sec: Math.round(opts.count / elapsed),
    p50_us: round(percentile(latencyNs, 0.5) / 1000, 1),
    p99_us: round(percentile(latencyNs, 0.99) / 1000, 1),
  };
}

// tput: one client fires `count` events without waiting, then one ack'd
// count_done; the ack comes back once the server has counted them all.
async function runTput() {
  const socket = await connect();
  const warmup = Math.max(1, Math.floor(opts.count / 10));
  for (let i = 0; i < warmup; i++) socket.emit('count', payload);
  const warmCounted = await socket.emitWithAck('count_done');
  if (warmCounted !== warmup) return fail(`warm-up: server counted ${warmCounted} of ${warmup}`);

  clock.start();
  for (let i = 0; i < opts.count; i++) socket.emit('count', payload);
  const counted = await socket.emitWithAck('count_done');
  const elapsed = clock.stop();
  if (counted !== opts.count) return fail(`server counted ${counted} of ${opts.count}`, { count: opts.count, counted });
  return {
    workload: 'tput',
    count: opts.count,
    seconds: round(elapsed, 6),
    per_sec: Math.round(opts.count / elapsed),
  };
}

// bcast: `receivers` clients listen for `msg`; one more client emits
// `messages` bcast events back to back. Timed from the first emit to the
// moment the last receiver has its last message.
async function runBcast() {
  const n = opts.receivers;
  const m = opts.messages;
  const receivers = await connectMany(n);
  const sender = await connect();

  const perReceiver = new Uint32Array(n);
  let delivered = 0;
  let target = n; // first the single warm-up broadcast, then n * m
  let reached = null;
  let wrongPayload = 0;
  let toSender = 0;
  receivers.forEach((socket, i) => {
    socket.on('msg', (data) => {
      if (data !== payload) wrongPayload++;
      perReceiver[i]++;
      if (++delivered === target && reached) reached();
    });
  });
  sender.on('msg', () => toSender++);

  // Warm-up: one broadcast every receiver must see. It also proves the
  // server has every receiver registered before the clock starts.
  await new Promise((resolve) => {
    reached = resolve;
    sender.emit('bcast', payload);
  });

  perReceiver.fill(0);
  delivered = 0;
  target = n * m;
  await new Promise((resolve) => {
    reached = resolve;
    clock.start();
    for (let i = 0; i < m; i++) sender.emit('bcast', payload);
  });
  const elapsed = clock.stop();

  const result = {
    workload: 'bcast',
    receivers: n,
    messages: m,
    delivered,
    expected: n * m,
    seconds: round(elapsed, 6),
    per_sec: Math.round(delivered / elapsed),
  };
  const short = perReceiver.filter((c) => c !== m).length;
  if (short) return fail(`${short} receivers did not get exactly ${m} messages`, result);
  if (wrongPayload) return fail(`${wrongPayload} deliveries carried the wrong payload`, result);
  if (toSender) return fail(`the sender got ${toSender} of its own broadcasts`, result);
  return result;
}

// idle: memory the server holds for each connected, silent client. A probe
// client asks for `mem` before and after the idle clients connect; the probe
// is there both times, so the difference is the idle clients alone.
async function runIdle() {
  const n = opts.n;
  const probe = await connect();
  const before = await probe.emitWithAck('mem');
  clock.start();
  const idle = await connectMany(n);
  const connectSeconds = clock.stop();
  const after = await probe.emitWithAck('mem');
  const stillUp = idle.filter((s) => s.connected).length;
  if (stillUp !== n) return fail(`${n - stillUp} idle clients dropped`);
  return {
    workload: 'idle',
    n,
    server_rss_before: before.rss,
    server_rss_after: after.rss,
    bytes_per_conn: Math.round((after.rss - before.rss) / n),
    server_heap_before: before.heap,
    server_heap_after: after.heap,
    heap_bytes_per_conn: Math.round((after.heap - before.heap) / n),
    connect_seconds: round(connectSeconds, 3),
  };
}

const runs = { ack: runAck, tput: runTput, bcast: runBcast, idle: runIdle };
runs[workload]().then(
  (result) => {
    if (result) finish(result, 0);
  },
  (err) => fail(err.message),
);
