package miniio

import (
	"errors"
	"io"
	"math"
	"time"

	"socklab/internal/reactor"
	"socklab/internal/sys"
	"socklab/internal/wire"
)

// Serve runs the server on the event loop, accepting on listenFD (a
// non-blocking listening socket; see Listen). It returns nil once
// Shutdown has finished, or the error that stopped the loop.
func (srv *Server) Serve(listenFD int) error {
	o := srv.opts
	ro := reactor.Options{
		// The server counts and refuses connections itself, so that the
		// client is told why in a CLOSE frame.
		MaxConns: 0,
		// A whole frame and no more may wait half-read.
		MaxInput: o.MaxPayload + wire.HeaderLen,
		// Our own cap (MaxOutput) comes first and ends the connection with
		// a reason; the loop's is above it by one largest frame and room
		// for the CLOSE frame, so it never refuses a frame we let through.
		MaxOutput:    math.MaxInt / 2,
		CloseTimeout: closeLinger,
	}
	if o.MaxOutput > 0 {
		ro.MaxOutput = o.MaxOutput + o.MaxPayload + wire.HeaderLen + 64<<10
	}
	loop, err := reactor.New(reactorHandler{srv}, ro)
	if err != nil {
		return err
	}
	if err := loop.Serve(listenFD); err != nil {
		return err
	}
	srv.mu.Lock()
	srv.loop = reactorLoop{loop}
	earlyStop := srv.earlyStop
	srv.mu.Unlock()
	if earlyStop != nil {
		srv.Shutdown(*earlyStop) // a Ctrl-C while the loop was being set up
	}
	return loop.Run()
}

// reactorLoop and reactorConn fit package reactor's types to the small
// interfaces the server uses (eventLoop, transport).
type reactorLoop struct{ *reactor.Loop }

func (l reactorLoop) AfterFunc(d time.Duration, f func()) stopper { return l.Loop.AfterFunc(d, f) }

type reactorConn struct{ *reactor.Conn }

func (c reactorConn) Write(p []byte) error {
	err := c.Conn.Write(p)
	if err == reactor.ErrClosed {
		// The peer hung up and the loop is closing the connection (its
		// OnClose comes at the end of this turn): the frame has nowhere
		// to go, and the socket's end is reported then.
		return nil
	}
	return err
}

type reactorHandler struct{ srv *Server }

func (h reactorHandler) OnOpen(c *reactor.Conn) {
	s := h.srv.newSocket(reactorConn{c}, c.FD(), sys.Addr(c.Peer()))
	c.Context = s
	h.srv.handleOpen(s)
}

func (h reactorHandler) OnData(c *reactor.Conn, in []byte) int {
	return h.srv.handleData(c.Context.(*Socket), in)
}

func (h reactorHandler) OnClose(c *reactor.Conn, err error) {
	if s, ok := c.Context.(*Socket); ok {
		h.srv.handleClose(s, closeReason(err))
	}
}

// closeReason puts why the loop closed a connection in socket.io's words.
func closeReason(err error) string {
	switch {
	case err == nil, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, reactor.ErrHangup):
		return ReasonTransportClose // the peer closed, cleanly or mid-frame
	case errors.Is(err, reactor.ErrStopped):
		return ReasonShuttingDown
	}
	return ReasonTransportError + ": " + sys.Describe(err)
}
