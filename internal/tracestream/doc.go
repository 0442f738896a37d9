// Package tracestream carries the server's own trace, the strace-style
// lines package sys prints on stderr, to the pages that watch it: the
// miniio server's /trace namespace puts the chat and the system calls
// that carried it side by side.
//
// The lines come from a sys.Tap. A Stream redacts each line once, then
// offers it to every Viewer. Nothing here opens a socket or starts a
// goroutine: the server calls Pump and Take from its own loop.
//
// # Watching must not change what is watched
//
// The server's chat clients must not notice the pages. So:
//
//   - Nothing waits for a page. Each viewer has a ring of Config.Ring
//     items; when it is full the oldest item goes, and the viewer's next
//     delivery starts with "… N lines dropped". The tap in package sys
//     does the same one level down (Delivery.TapDropped).
//   - Under load, a page gets a count per second instead of every line:
//     when more than SummaryRate lines arrive in a second (every viewer),
//     or when a viewer has SummaryBehind items waiting (that viewer only).
//     It is told when this starts and when every line comes back (the
//     rate at most half of SummaryRate and the backlog at most half of
//     SummaryBehind, so it does not flap).
//   - A page's own connection is left out (sys.TapExclude): the stream's
//     write to a page would be traced, that line streamed, that write
//     traced, and so on. Those calls are counted instead, and a page
//     should show Delivery.HiddenText: "N calls of the viewers' own
//     connections not shown".
//   - Pump from a timer (every 100 ms, say), not from a wake-up per line:
//     waking the loop is itself a traced call (a write to an eventfd), so
//     a wake per line would feed itself as surely as a page's own writes.
//
// # Redaction: why a trace page hides secrets
//
// A trace line shows the bytes a read or write carried. On a server many
// people use, that includes other people's: the auth a socket.io client
// sends when it joins (`40{"token":"…"}`, or `40/admin,{"token":"…"}`),
// a password in an event, a session id, an Authorization or Cookie header
// in an HTTP request. strace on the server shows them to whoever runs it,
// who could read the server's memory anyway. A page is different: anyone
// allowed to watch the trace would read every other user's token in it,
// and could then join as them. A window onto the server's system calls
// must not become a way to collect other people's credentials.
//
// So before any viewer gets a line, the Redactor replaces the value of
// every secret with [redacted]:
//
//   - JSON keys that name a secret: token, password, passwd, secret,
//     apikey, credential, cookie, session…, and exactly sid, auth, key,
//     pass, pwd, jwt (an Engine.IO sid is a capability: with it, anyone
//     can post into that client's long-polling session);
//   - the HTTP headers Authorization, Proxy-Authorization, Cookie,
//     Set-Cookie, X-Api-Key, X-Auth-Token;
//   - URL query parameters with such names (?token=…, &sid=…).
//
// It reads the bytes a quoted string stands for, not its spelling, so \"
// and strace -x's \x22 and octal \42 are all quotes. The data of the
// read and write calls on one descriptor is one stream in each
// direction, and a secret split across calls is still found: the
// Redactor keeps the last bytes of each stream and any value left open.
// A string cut short by strace's -s limit is redacted up to the cut, and
// the next call is treated with suspicion (a leading `abc"}` could be the
// end of a value we never saw). The rest of the line is left exactly as
// printed. A line whose secret it cannot place (a line not in strace's
// form) loses all its arguments rather than risk one. The fuzz targets
// hold it to this: no input makes it panic, and no "token":"secret"
// comes out, in a line, a quoted string, or a descriptor's stream.
//
// The terminal's trace is not redacted: it is the server operator's own.
//
// # Use
//
//	tap := sys.NewTap(8192)
//	sys.SetTap(tap)
//	stream := tracestream.New(tracestream.Config{})
//
//	// a page joins /trace on connection fd:
//	sys.TapExclude(fd) // before the first write to it; close(fd) ends it
//	viewer := stream.Subscribe()
//
//	// every 100 ms on the loop:
//	stream.Pump(tap, 0)
//	d := viewer.Take(500) // send d.Items, d.HiddenText(), d.Summary
//
//	// the page leaves:
//	viewer.Close()
package tracestream
