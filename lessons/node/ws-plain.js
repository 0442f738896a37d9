// A plain WebSocket client, which knows WebSocket but not Engine.IO or
// socket.io (lesson 15): it connects to socket.io's URL, prints what
// arrives, and says hello. The ws package is the WebSocket library that
// socket.io-client itself uses in Node.
// Run: node lessons/node/ws-plain.js   (once: npm ci --prefix peers/node)
const WebSocket = require("../../peers/node/node_modules/ws");
const ws = new WebSocket("ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket");
ws.on("open", () => {
  console.log("open");
  ws.send("hello");
});
ws.on("message", (data) => console.log(`message: ${data}`));
ws.on("close", (code, reason) => console.log(`close: ${code} ${reason}`));
ws.on("error", (err) => console.log(`error: ${err.message}`));
