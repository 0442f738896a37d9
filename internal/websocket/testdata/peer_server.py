"""A WebSocket server written from RFC 6455 with Python's standard library
only, for peer_test.go's client-side check. It knows nothing of our Go code.

Run: python3 peer_server.py   (prints "port N", serves one connection)

It checks the client's handshake, answers 101 with its own
Sec-WebSocket-Accept, then sends:
  a text message in two fragments, cut inside the 3 bytes of "€",
  with a ping between the fragments;
  a 300-byte binary message (16-bit length).
It then echoes every client message (which must be masked) and prints:
  pong <payload>        for the client's pong
  echo <opcode> <len>   for each echoed message
  close <code> <reason> for the client's close, which it answers and exits 0.
Any fault prints "fault: ..." and exits 1.
"""
import base64
import hashlib
import socket
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def fault(why):
    print("fault: " + why, flush=True)
    sys.exit(1)


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            fault("connection closed mid-frame")
        data += chunk
    return data


def read_frame(conn):
    b0, b1 = read_exact(conn, 2)
    if b0 & 0x70:
        fault("RSV bits set")
    if not b1 & 0x80:
        fault("client frame not masked")
    length = b1 & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exact(conn, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exact(conn, 8))
    key = read_exact(conn, 4)
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(read_exact(conn, length)))
    return bool(b0 & 0x80), b0 & 0x0F, payload


def frame(fin, opcode, payload):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    print("port %d" % listener.getsockname()[1], flush=True)
    conn, _ = listener.accept()
    conn.settimeout(10)

    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            fault("closed during the handshake")
        head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    if not lines[0].startswith("GET /chat HTTP/1.1"):
        fault("request line " + lines[0])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        fault("no Upgrade: websocket")
    if "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
        fault("Connection lacks upgrade")
    if headers.get("sec-websocket-version") != "13":
        fault("version")
    key = headers.get("sec-websocket-key", "")
    if len(base64.b64decode(key)) != 16:
        fault("key is not 16 bytes")
    if "host" not in headers:
        fault("no Host")
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())

    text = "frag: €".encode()
    cut = len(text) - 2  # inside the euro sign
    conn.sendall(frame(False, 0x1, text[:cut]) + frame(True, 0x9, b"are you there?")
                 + frame(True, 0x0, text[cut:]))
    conn.sendall(frame(True, 0x2, bytes(i % 256 for i in range(300))))

    while True:
        fin, opcode, payload = read_frame(conn)
        if not fin:
            fault("unexpected fragment from the client")
        if opcode == 0xA:
            print("pong " + payload.decode(), flush=True)
        elif opcode in (0x1, 0x2):
            conn.sendall(frame(True, opcode, payload))
            print("echo %d %d" % (opcode, len(payload)), flush=True)
        elif opcode == 0x8:
            (code,) = struct.unpack("!H", payload[:2])
            print("close %d %s" % (code, payload[2:].decode()), flush=True)
            conn.sendall(frame(True, 0x8, payload[:2]))
            conn.close()
            return
        else:
            fault("opcode %d" % opcode)


main()
