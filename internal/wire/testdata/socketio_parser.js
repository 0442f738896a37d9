// Runs socket.io's own parsers (engine.io-parser and socket.io-parser, from
// bench/socketio/node_modules) over the cases that socketio_test.go sends on
// stdin, and prints what they make of them as JSON on stdout.
//
// stdin:  {"encode": [ {engine:"message", sio:{type,data,id}} | {engine:"open", json:{…}} … ],
//          (json is sent through JSON.stringify, data is sent as it is)
//          "decode": [ "42[\"chat\",\"hi\"]", … ]}
// stdout: {"encoded": ["42[\"chat\",\"hi\"]", …],
//          "decoded": [ {"engine":"message","sio":{…},"again":"…"} | {"error":"…"} … ]}
// "again" is the decoded packet encoded once more by the same parsers.
"use strict";
const eio = require("engine.io-parser");
const sio = require("socket.io-parser");

function encodeOne(c) {
  let data = c.json === undefined ? c.data : JSON.stringify(c.json);
  if (c.engine === "message") {
    const parts = new sio.Encoder().encode(c.sio);
    if (parts.length !== 1) throw new Error("binary packet in a text test");
    data = parts[0];
  }
  let out;
  eio.encodePacket({ type: c.engine, data }, false, (s) => { out = s; });
  return out;
}

function decodeOne(text) {
  const e = eio.decodePacket(text);
  if (e.type === "error") return { error: "engine.io: " + e.data };
  if (e.type !== "message") {
    return { engine: e.type, again: encodeOne({ engine: e.type, data: e.data }) };
  }
  const dec = new sio.Decoder();
  let packet = null;
  dec.on("decoded", (p) => { packet = p; });
  try {
    dec.add(e.data);
  } catch (err) {
    return { error: "socket.io: " + err.message };
  }
  if (packet === null) return { error: "socket.io: no packet (binary attachments pending)" };
  return { engine: "message", sio: packet, again: encodeOne({ engine: "message", sio: packet }) };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  process.stdout.write(JSON.stringify({
    encoded: req.encode.map(encodeOne),
    decoded: req.decode.map(decodeOne),
  }));
});
