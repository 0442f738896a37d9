// Runs socket.io's own parsers over what binary_test.go and payload_test.go
// send on stdin: binary packets (socket.io-parser's Encoder and Decoder,
// attachments and all) and long-polling payloads (engine.io-parser's
// encodePayload and decodePayload). Bytes travel through JSON as
// {"$bytes":"<base64>"}, in both directions.
//
// stdin:  {"encodeSio":     [ {type, nsp, data, id} … ],        data may hold {"$bytes"}
//          "decodeSio":     [ ["451-[…]", {"$bytes"} …] … ],     a header and its attachments
//          "encodePayload": [ [ {type, data} … ] … ],            data a string or {"$bytes"}
//          "decodePayload": [ "2\u001e42[…]" … ]}
// stdout: {"encodedSio":     [ ["451-[…]", {"$bytes"} …] … ],
//          "decodedSio":     [ {"packet": {…}} | {"error": "…"} … ],
//          "encodedPayload": [ "…" … ],
//          "decodedPayload": [ [ {type, data} … ] … ]}
"use strict";
const eio = require("engine.io-parser");
const sio = require("socket.io-parser");

// fromJSON turns {"$bytes"} into Buffers, toJSON turns Buffers back.
function fromJSON(v) {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v !== null && typeof v === "object") {
    if (typeof v.$bytes === "string") return Buffer.from(v.$bytes, "base64");
    const out = {};
    for (const k of Object.keys(v)) out[k] = fromJSON(v[k]);
    return out;
  }
  return v;
}
function toJSON(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bytes: Buffer.from(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(toJSON);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = toJSON(v[k]);
    return out;
  }
  return v;
}

function decodeSio(parts) {
  const dec = new sio.Decoder();
  let packet = null;
  dec.on("decoded", (p) => { packet = p; });
  try {
    for (const part of parts) dec.add(fromJSON(part));
  } catch (err) {
    return { error: err.message };
  }
  if (packet === null) return { error: "no packet: attachments still pending" };
  return { packet: toJSON(packet) };
}

function encodePayload(packets) {
  let out;
  eio.encodePayload(packets.map((p) => ({ type: p.type, data: fromJSON(p.data) })), (s) => { out = s; });
  return out;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  process.stdout.write(JSON.stringify({
    encodedSio: (req.encodeSio || []).map((p) => toJSON(new sio.Encoder().encode(fromJSON(p)))),
    decodedSio: (req.decodeSio || []).map(decodeSio),
    encodedPayload: (req.encodePayload || []).map(encodePayload),
    decodedPayload: (req.decodePayload || []).map((s) => toJSON(eio.decodePayload(s, "nodebuffer"))),
  }));
});
