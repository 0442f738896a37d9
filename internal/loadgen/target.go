package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"socklab/internal/httpwire"
	"socklab/internal/websocket"
)

// target is where the workloads connect and in which envelope: miniio's
// TCP frames at addr, or (ws) socket.io's WebSocket transport at addr,
// with host for the Host header and path for the Engine.IO endpoint.
type target struct {
	addr string
	ws   bool
	host string
	path string // "/socket.io/"
}

// target reads Config.URL when it is set ("ws://127.0.0.1:3000" means the
// WebSocket envelope), else Config.Addr. Only bcast takes several URLs
// (see targets).
func (c Config) target() (target, error) {
	ts, err := c.targets()
	if err != nil {
		return target{}, err
	}
	if len(ts) > 1 {
		return target{}, fmt.Errorf("-url %q lists %d servers; only -workload bcast spreads over several", c.URL, len(ts))
	}
	return ts[0], nil
}

// targets reads Config.URL as a comma-separated list ("ws://A:1,ws://B:2":
// servers of one cluster), else Config.Addr alone.
func (c Config) targets() ([]target, error) {
	if c.URL == "" {
		return []target{{addr: c.Addr}}, nil
	}
	var ts []target
	for _, one := range strings.Split(c.URL, ",") {
		t, err := parseURL(one)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// parseURL reads one ws://HOST:PORT[/path].
func parseURL(raw string) (target, error) {
	if raw == "" {
		return target{}, errors.New("-url has an empty entry; write ws://HOST:PORT[,ws://HOST:PORT…]")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("-url: %v", err)
	}
	switch {
	case u.Scheme == "wss":
		return target{}, errors.New("-url: wss:// (TLS) is not supported; use ws://HOST:PORT")
	case u.Scheme != "ws":
		return target{}, fmt.Errorf("-url must start with ws://, not %q", raw)
	case u.Port() == "":
		return target{}, fmt.Errorf("-url %q needs a port: ws://HOST:PORT", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return target{}, fmt.Errorf("-url %q: only ws://HOST:PORT and an optional path are accepted", raw)
	}
	path := u.EscapedPath()
	if path == "" || path == "/" {
		path = "/socket.io/" // socket.io's default endpoint
	}
	return target{addr: net.JoinHostPort(u.Hostname(), u.Port()), ws: true, host: u.Host, path: path}, nil
}

// engineQuery asks for Engine.IO protocol 4 on the WebSocket transport
// from the start, as a socket.io client with transports: ['websocket'] does.
const engineQuery = "?EIO=4&transport=websocket"

// wsUpgrade is the opening handshake (RFC 6455 4.1): send the GET with a
// fresh key, read the answer's head, and check it is the 101 that matches
// the key. Bytes behind the head (the server's OPEN may ride in the same
// segment) stay in c.in for frame().
func (c *conn) wsUpgrade(t target) error {
	key := websocket.NewKey()
	req := websocket.AppendClientRequest(nil, t.host, t.path+engineQuery, key, nil)
	if err := c.write(req); err != nil {
		return fmt.Errorf("sending the WebSocket upgrade: %w", err)
	}
	for {
		resp, n, err := httpwire.ParseResponse(c.in[c.r:c.w], httpwire.Limits{})
		if err != nil {
			return fmt.Errorf("the answer to the WebSocket upgrade: %v", err)
		}
		if n > 0 {
			c.r += n
			if err := websocket.CheckResponse(&resp, key); err != nil {
				return err
			}
			return nil
		}
		if err := c.fill(); err != nil {
			return fmt.Errorf("waiting for the answer to the WebSocket upgrade: %w", err)
		}
	}
}
