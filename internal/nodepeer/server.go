package nodepeer

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// ServerOptions are sio-server.js's flags. The zero value is socket.io's
// defaults on a free port.
type ServerOptions struct {
	// Port on 127.0.0.1; 0 lets the kernel pick a free one. A restart test
	// gives the port the first server had.
	Port int
	// Transports the server accepts: {"websocket"}, or nil for socket.io's
	// default, long-polling first and then the upgrade to WebSocket.
	Transports []string
	// Token, when set, lets in only a CONNECT whose auth carries
	// {"token": Token}; the others get connect_error "not authorized".
	Token string
	// Namespaces besides "/" that play the same demo ("/admin", …).
	Namespaces []string
	// Engine.IO's heartbeat; 0 keeps socket.io's 25 s and 20 s.
	PingInterval, PingTimeout time.Duration
	// Page, when set, is a file the server answers GET / with (the chat
	// page, same-origin); CORS lists the page origins allowed cross-origin.
	Page string
	CORS []string
}

// Server is a running sio-server.js.
type Server struct {
	Port int
	Proc *proctest.Proc
}

// ready is the one line sio-server.js prints on stdout once it listens.
var ready = regexp.MustCompile(`(?m)^ready (\d+)$`)

// StartServer starts a socket.io server playing miniio's demo and returns
// its port once it listens. It is ended by its PID when the test ends.
func StartServer(t *testing.T, opts ServerOptions) (port int) {
	t.Helper()
	return StartServerProc(t, opts).Port
}

// StartServerProc is StartServer for a test that also stops the server
// before the end (a restart test, say): it returns the running server.
func StartServerProc(t *testing.T, opts ServerOptions) *Server {
	t.Helper()
	node, dir := setup(t)
	args := []string{"sio-server.js", "--port", strconv.Itoa(opts.Port)}
	if opts.Transports != nil {
		args = append(args, "--transports", strings.Join(opts.Transports, ","))
	}
	if opts.Token != "" {
		args = append(args, "--token", opts.Token)
	}
	if len(opts.Namespaces) > 0 {
		args = append(args, "--namespaces", strings.Join(opts.Namespaces, ","))
	}
	if opts.PingInterval > 0 {
		args = append(args, "--ping-interval", strconv.FormatInt(opts.PingInterval.Milliseconds(), 10))
	}
	if opts.PingTimeout > 0 {
		args = append(args, "--ping-timeout", strconv.FormatInt(opts.PingTimeout.Milliseconds(), 10))
	}
	if opts.Page != "" {
		args = append(args, "--page", opts.Page)
	}
	if len(opts.CORS) > 0 {
		args = append(args, "--cors", strings.Join(opts.CORS, ","))
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	p := proctest.Start(t, cmd)
	m := p.WaitMatch(t, &p.Stdout, ready)
	port, err := strconv.Atoi(m[1])
	if err != nil || port < 1 || port > 65535 || (opts.Port != 0 && port != opts.Port) {
		t.Fatalf("sio-server.js said %q (asked for port %d)", m[0], opts.Port)
	}
	return &Server{Port: port, Proc: p}
}

// URL is the address a client is given for this server.
func (s *Server) URL() string { return URL(s.Port) }

// Stop ends the server by its PID with SIGTERM, as a person would, and
// waits (at most proctest.Limit) until it is gone; its clients see their
// connections close.
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.Proc.Done:
		t.Fatalf("sio-server.js on port %d had already exited\n%s", s.Port, s.output())
	default:
	}
	s.Proc.Signal(t, syscall.SIGTERM)
	if code := s.Proc.ExitCode(t); code != 0 {
		t.Fatalf("sio-server.js exited %d after SIGTERM\n%s", code, s.output())
	}
}

// Stderr is what the server logged: a line per connection and
// disconnection.
func (s *Server) Stderr() string { return s.Proc.Stderr.String() }

func (s *Server) output() string {
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", s.Proc.Stdout.String(), s.Proc.Stderr.String())
}
