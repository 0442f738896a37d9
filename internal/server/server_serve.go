package server

// Serve runs the server on the event loop, accepting on listenFD (a
// non-blocking listening socket; see Listen). It returns nil once
// Shutdown has finished, or the error that stopped the loop.
func (srv *Server) Serve(listenFD int) error {
	return srv.tr.Serve(listenFD, func(loop eventLoop) {
		srv.mu.Lock()
		srv.loop = loop
		earlyStop := srv.earlyStop
		srv.mu.Unlock()
		if earlyStop != nil {
			srv.Shutdown(*earlyStop) // a Ctrl-C while the loop was being set up
		}
	})
}
