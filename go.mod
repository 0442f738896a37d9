module socklab

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/fatih/color v1.19.0
	github.com/mattn/go-isatty v0.0.20
	github.com/redis/go-redis/v9 v9.23.0
	github.com/vmihailenco/msgpack/v5 v5.4.1
	golang.org/x/sys v0.50.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
)

// Go's runtime otherwise keeps the container's CPU-limit files open
// (fds 3 and 4 on a cgroup v1 machine) so that it can follow changes to
// the limit. With them closed, a program's first socket is fd 3 on every
// machine, as the lessons say.
godebug containermaxprocs=0
