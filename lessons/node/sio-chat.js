// socket.io's own client, in Node, joins miniio's terminal chat (lesson 15).
// Run: node lessons/node/sio-chat.js [NAME] [TEXT]   (once: npm ci --prefix peers/node)
const { io } = require("../../peers/node/node_modules/socket.io-client");
const [name = "dee", text = "hi from socket.io-client"] = process.argv.slice(2);
// WebSocket only: miniio does not serve HTTP long-polling, socket.io's first transport.
const socket = io("http://127.0.0.1:3000", { transports: ["websocket"], auth: { name } });
socket.on("connect", () => {
  console.log(`connected as ${name}, id ${socket.id}`);
  socket.emit("chat", text);
});
socket.on("chat", (from, msg) => console.log(`${from}: ${msg}`));
socket.on("user joined", (who) => console.log(`* ${who} joined`));
socket.on("user left", (who) => console.log(`* ${who} left`));
socket.on("disconnect", (reason) => console.log(`disconnected: ${reason}`));
socket.on("connect_error", (err) => console.log(`connect_error: ${err.message}`));
