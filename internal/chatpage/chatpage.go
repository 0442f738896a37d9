// Package chatpage is miniio's chat page for the browser: one HTML file
// with its CSS and plain JavaScript, no build step, embedded in the
// binary so that `miniio serve` can answer GET / with it.
//
// The page carries its own socket.io client, lessonIO: about 150 lines
// that speak Engine.IO v4 long-polling, the upgrade to WebSocket, and the
// socket.io packets (CONNECT with auth, EVENT, ACK, CONNECT_ERROR,
// DISCONNECT), with acks and reconnection. Every packet is explained in a
// comment with its bytes, as the lesson tells it; ClientJS is that script
// alone, for a lesson to show.
//
// The page reads three query parameters:
//
//	?name=ann                      fill in the name and connect at once
//	?server=http://127.0.0.1:PORT  the socket.io server, when it is not the
//	                               page's own origin (the server must allow
//	                               the page's origin: CORS)
//	?client=official               use the official socket.io.min.js bundle,
//	                               loaded from BundlePath on the page's own
//	                               origin, instead of lessonIO
//
// The package does no I/O: the server that serves the page owns the
// connection. It serves HTML at "/" with ContentType, and, for
// ?client=official, socket.io-client's dist/socket.io.min.js at BundlePath
// (socket.io's own server serves that path too).
//
// See: lessons/16, internal/chatpage/browser_test.go (two real browser
// pages chatting through socket.io's own server), cmd/miniio/serve.go (the
// events the page uses: chat, shout, join, leave, user joined, user left).
package chatpage

import (
	_ "embed"
	"strings"
)

// HTML is the whole page, chat.html.
//
//go:embed chat.html
var HTML []byte

// ContentType is the header to serve HTML with.
const ContentType = "text/html; charset=utf-8"

// BundlePath is where the page loads the official client from, on its own
// origin, when asked for ?client=official.
const BundlePath = "/socket.io/socket.io.min.js"

// ClientJS is the page's hand-written socket.io client, the text of its
// <script id="lesson-client"> element.
var ClientJS = clientJS(string(HTML))

// clientJS cuts the lesson client's script out of the page; it is empty if
// the page lost its marker, which the tests check.
func clientJS(page string) string {
	const open = `<script id="lesson-client">`
	_, rest, found := strings.Cut(page, open)
	if !found {
		return ""
	}
	js, _, found := strings.Cut(rest, "</script>")
	if !found {
		return ""
	}
	return strings.TrimSpace(js) + "\n"
}
