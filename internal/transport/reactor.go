package transport

import (
	"errors"
	"io"
	"math"
	"time"

	"socklab/internal/reactor"
	"socklab/internal/sys"
	"socklab/internal/wire"
)

// Serve runs the transport on the event loop, accepting on listenFD (a
// non-blocking listening socket). ready is called with the loop once it
// exists, before the first connection: the layer above starts its timers
// on it. Serve returns when the loop stops.
//
// httpFD, when not -1, is a second listening socket whose clients speak
// HTTP and then WebSocket (websocket.go).
func (t *Transport) Serve(listenFD, httpFD int, ready func(Loop)) error {
	o := t.opts
	ro := reactor.Options{
		// The server counts and refuses connections itself, so that the
		// client is told why in a CLOSE packet.
		MaxConns: 0,
		// A whole frame and no more may wait half-read.
		MaxInput: o.MaxPayload + wire.HeaderLen,
		// The server's own cap (MaxOutput) comes first and ends the
		// connection with a reason; the loop's is above it by one largest
		// frame and room for the CLOSE packet, so it never refuses a frame
		// the server let through.
		MaxOutput:    math.MaxInt / 2,
		CloseTimeout: o.CloseTimeout,
	}
	if o.MaxOutput > 0 {
		ro.MaxOutput = o.MaxOutput + o.MaxPayload + wire.HeaderLen + 64<<10
	}
	loop, err := reactor.New(reactorHandler{t}, ro)
	if err != nil {
		return err
	}
	if err := loop.Serve(listenFD); err != nil {
		return err
	}
	if httpFD >= 0 {
		if err := loop.Serve(httpFD); err != nil {
			return err
		}
	}
	t.httpFD = httpFD
	t.Attach(reactorLoop{loop})
	ready(t.loop)
	return loop.Run()
}

// reactorLoop and reactorLink fit package reactor's types to the small
// interfaces the transport uses (Loop, Link).
type reactorLoop struct{ *reactor.Loop }

func (l reactorLoop) AfterFunc(d time.Duration, f func()) Stopper { return l.Loop.AfterFunc(d, f) }

type reactorLink struct{ *reactor.Conn }

func (c reactorLink) Write(p []byte) error {
	err := c.Conn.Write(p)
	if err == reactor.ErrClosed {
		// The peer hung up and the loop is closing the connection (its
		// OnClose comes at the end of this turn): the frame has nowhere
		// to go, and the connection's end is reported then.
		return nil
	}
	return err
}

type reactorHandler struct{ t *Transport }

func (h reactorHandler) OnOpen(rc *reactor.Conn) {
	// Context is set before the handler hears of the connection: an
	// Opened that ends it at once (server full) reaches OnClose with it.
	c := &Conn{t: h.t, link: reactorLink{rc}, fd: int32(rc.FD()), peer: sys.Addr(rc.Peer())}
	rc.Context = c
	if rc.ListenFD() == h.t.httpFD {
		h.t.openWebSocket(c) // the layer above hears of it after the 101
		return
	}
	c.opened = true
	h.t.h.Opened(c)
}

func (h reactorHandler) OnData(rc *reactor.Conn, in []byte) int {
	return h.t.Data(rc.Context.(*Conn), in)
}

func (h reactorHandler) OnClose(rc *reactor.Conn, err error) {
	if c, ok := rc.Context.(*Conn); ok {
		h.t.Hangup(c, closeReason(err))
	}
}

// closeReason puts why the loop closed a connection in socket.io's words.
func closeReason(err error) string {
	switch {
	case err == nil, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, reactor.ErrHangup):
		return wire.ReasonTransportClose // the peer closed, cleanly or mid-frame
	case errors.Is(err, reactor.ErrStopped):
		return wire.ReasonShuttingDown
	}
	return wire.ReasonTransportError + ": " + sys.Describe(err)
}
