package server

import "socklab/internal/transport"

// HTTPOptions are the HTTP port's settings beyond WebSocket: CORS
// origins and the pages served next to /socket.io/ (package transport,
// polling.go). SessionTimeout, when zero, is pingInterval + pingTimeout,
// as in socket.io.
type HTTPOptions = transport.HTTPOptions

// SetHTTP sets them; call it before Serve.
func (srv *Server) SetHTTP(o HTTPOptions) {
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = srv.opts.PingInterval + srv.opts.PingTimeout
	}
	srv.tr.SetHTTP(o)
}
