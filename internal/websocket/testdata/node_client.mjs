// A real WebSocket client for peer_test.go: Node's own (undici's) WebSocket,
// run as `node --experimental-websocket node_client.mjs ws://127.0.0.1:PORT/path`.
// It prints one line per event, which the Go test compares:
//   open
//   text <JSON string>             for each text message
//   binary <length> <byte sum>     for each binary message
//   close <code> <reason> <wasClean>
// After the fourth message it closes with 4000 and a non-ASCII reason.
const ws = new WebSocket(process.argv[2]);
ws.binaryType = "arraybuffer";
let received = 0;

ws.onopen = () => {
  console.log("open");
  ws.send("héllo €uro 𝄞");                // 7-bit length
  ws.send("a".repeat(300) + "é");          // 16-bit length
  const big = new Uint8Array(70000);       // 64-bit length
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  ws.send(big);
};

ws.onmessage = (ev) => {
  if (typeof ev.data === "string") {
    console.log("text " + JSON.stringify(ev.data));
  } else {
    const bytes = new Uint8Array(ev.data);
    let sum = 0;
    for (const b of bytes) sum += b;
    console.log(`binary ${bytes.length} ${sum}`);
  }
  if (++received === 4) ws.close(4000, "bye ✓");
};

ws.onerror = (ev) => console.log("error " + (ev.message || ev.error || "unknown"));
ws.onclose = (ev) => {
  console.log(`close ${ev.code} ${ev.reason} ${ev.wasClean}`);
  process.exit(0);
};

// Never hang the test: give up after 10 s.
setTimeout(() => { console.log("timeout"); process.exit(2); }, 10000).unref();
