// A miniio client in plain Node (lesson 11): net.Socket and 4-byte frames.
const net = require("net");
const [name = "dee", text = "hi from node"] = process.argv.slice(2);
const handlers = {};
const on = (event, fn) => { handlers[event] = fn; };
const sock = net.connect(7070, "127.0.0.1");
const send = (packet) => { // one frame: uint32 big-endian length, then the text
  const body = Buffer.from(packet), head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  sock.write(Buffer.concat([head, body]));
};
const emit = (event, ...args) => send("42" + JSON.stringify([event, ...args]));
let buf = Buffer.alloc(0);
sock.on("data", (chunk) => { // TCP is a byte stream: cut it into frames
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const packet = buf.subarray(4, 4 + buf.readUInt32BE(0)).toString();
    buf = buf.subarray(4 + buf.readUInt32BE(0));
    if (packet[0] === "0") send("40" + JSON.stringify({ name })); // OPEN: answer CONNECT
    else if (packet === "2") send("3"); // PING: answer PONG
    else if (packet.startsWith("40")) handlers.connect?.();
    else if (packet.startsWith("42")) { const [event, ...args] = JSON.parse(packet.slice(2)); handlers[event]?.(...args); }
  }
});
on("connect", () => { console.log("connected as", name); emit("chat", text); });
on("chat", (from, msg) => console.log(`${from}: ${msg}`));
on("user joined", (who) => console.log(`* ${who} joined`));
on("user left", (who) => console.log(`* ${who} left`));
