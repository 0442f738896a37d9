module socklab

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/fatih/color v1.19.0
	github.com/mattn/go-isatty v0.0.20
	golang.org/x/sys v0.50.0
)

require github.com/mattn/go-colorable v0.1.14 // indirect

// Go's runtime otherwise keeps the container's CPU-limit files open
// (fds 3 and 4 on a cgroup v1 machine) so that it can follow changes to
// the limit. With them closed, a program's first socket is fd 3 on every
// machine, as the lessons say.
godebug containermaxprocs=0
