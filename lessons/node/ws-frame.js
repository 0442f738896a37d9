// One WebSocket frame from a client, on stdout (lesson 15), to pipe into
// xxd to look at, or into nc to send.
//
//   node lessons/node/ws-frame.js [-op text|continuation|close|ping] [-more] [-unmasked] PAYLOAD
//
// -more clears FIN (more fragments follow); -unmasked leaves out the mask,
// which a server must refuse. A close frame's PAYLOAD is "CODE reason".
// The mask key is fixed, 37 fa 21 3d (RFC 6455's example), so that the
// bytes are the same on every run; a real client draws a new random key
// for every frame.
const ops = { continuation: 0x0, text: 0x1, close: 0x8, ping: 0x9 };
const args = process.argv.slice(2);
let op = "text", fin = true, masked = true;
while (args[0]?.startsWith("-")) {
  const flag = args.shift();
  if (flag === "-op") op = args.shift();
  else if (flag === "-more") fin = false;
  else if (flag === "-unmasked") masked = false;
}
let payload = Buffer.from(args[0] ?? "");
if (op === "close") { // two bytes of code, big-endian, then the reason
  const [code, ...reason] = (args[0] ?? "1000").split(" ");
  payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason.join(" "))]);
}
// The length: up to 125 in the second byte itself; 126 there means "the
// next 2 bytes hold it", 127 "the next 8 bytes" (big-endian, as every
// number on the wire).
let length;
if (payload.length <= 125) length = Buffer.from([payload.length]);
else if (payload.length <= 0xffff) length = Buffer.from([126, payload.length >> 8, payload.length & 0xff]);
else { length = Buffer.alloc(9); length[0] = 127; length.writeBigUInt64BE(BigInt(payload.length), 1); }
length[0] |= masked ? 0x80 : 0; // the MASK bit shares the byte with the length
const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const head = Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | ops[op]]), length]);
const body = masked ? payload.map((b, i) => b ^ key[i % 4]) : payload; // XOR, byte by byte
// A reader that stops early (`| head`) closes the pipe: not an error here.
process.stdout.on("error", (err) => { if (err.code !== "EPIPE") throw err; });
process.stdout.write(Buffer.concat(masked ? [head, key, body] : [head, body]));
