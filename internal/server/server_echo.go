package server

// ServeEngineIOEcho serves, next to /socket.io/, a bare Engine.IO
// endpoint at path ("/engine.io/") that sends every message back, with
// the server's heartbeat: what engine.io-protocol's conformance suite
// talks to (package transport, echo.go). Call it before Serve.
func (srv *Server) ServeEngineIOEcho(path string) {
	srv.tr.EnableEcho(path, srv.opts.PingInterval, srv.opts.PingTimeout)
}
