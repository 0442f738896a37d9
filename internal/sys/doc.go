// Package sys is socklab's traced system-call layer: one thin wrapper per
// socket call, named like the call (Socket, Bind, Listen, Accept, Connect,
// Read, Write, Shutdown, Close, …).
//
// Each wrapper makes the real call through golang.org/x/sys/unix and then,
// unless tracing is off, prints it on stderr the way strace prints it:
//
//	socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
//	bind(3, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
//	connect(3, {sa_family=AF_INET, sin_port=htons(7001), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)
//
// The promise: run the same program under `strace -f` and the socket calls
// strace shows are the ones printed here, with the same names, file
// descriptors, return values and order. The tests hold the package to it.
// Two things strace shows that we do not print: a call the process is
// still blocked in when it exits (strace marks it "<unfinished ...>"), and
// a call the kernel restarted by itself after a signal ("ERESTARTSYS"): the
// program never saw either return.
//
// The flags every program shares (RegisterFlags):
//
//	-q        no trace (benchmarks, scripts)
//	-explain  a plain-language line under each call, and for TCP sockets
//	          the kernel's view of the socket afterwards (its TCP state)
//	-step     stop before each call until Enter is pressed on the terminal
//	-color    auto, always or never (NO_COLOR is honoured)
//
// Tracing off costs one boolean test per call.
package sys
