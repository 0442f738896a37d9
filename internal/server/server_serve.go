package server

// Serve runs the server on the event loop, accepting on listenFD (a
// non-blocking listening socket; see Listen). It returns nil once
// Shutdown has finished, or the error that stopped the loop.
func (srv *Server) Serve(listenFD int) error { return srv.ServeWithHTTP(listenFD, -1) }

// ServeWithHTTP is Serve with a second listening socket, httpFD, for
// socket.io's own clients: HTTP, then WebSocket (package transport).
// Clients of both share the sockets, rooms and broadcasts of one server.
func (srv *Server) ServeWithHTTP(listenFD, httpFD int) error {
	return srv.tr.Serve(listenFD, httpFD, func(loop eventLoop) {
		srv.mu.Lock()
		srv.loop = loop
		earlyStop := srv.earlyStop
		srv.mu.Unlock()
		if earlyStop != nil {
			srv.Shutdown(*earlyStop) // a Ctrl-C while the loop was being set up
		}
	})
}
