// What a browser's socket.io does (lesson 16): the official socket.io-client,
// with its default transports (long-polling first, then the upgrade to
// WebSocket), against `miniio serve`. It says which transport the session
// opened on and when it upgraded; once connected and upgraded it sends a
// chat line and a Buffer, tries a namespace the server does not have, and
// leaves.
//
// Run from the repository root (after npm ci --prefix peers/node):
//   node lessons/node/browser-like.js [URL]
const { io } = require("../../peers/node/node_modules/socket.io-client");
const url = process.argv[2] || "http://127.0.0.1:3000";

const socket = io(url, { auth: { name: "dee" }, reconnection: false });
const engine = socket.io.engine; // the Engine.IO session under the socket
console.log("session opened over", engine.transport.name);
let connected = false, upgraded = false;
const ready = () => {
  if (!connected || !upgraded) return;
  socket.emit("chat", "hi from dee");
  socket.emit("chat", Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  const admin = io(url + "/admin", { reconnection: false }); // same Manager: same connection
  admin.on("connect_error", (err) => {
    console.log("/admin refused:", err.message);
    setTimeout(() => { socket.disconnect(); admin.disconnect(); }, 200);
  });
};
engine.on("upgrade", (t) => { console.log("upgraded to", t.name); upgraded = true; ready(); });
socket.on("connect", () => { connected = true; ready(); });
socket.on("connect_error", (err) => { console.log("connect_error:", err.message); process.exit(1); });
