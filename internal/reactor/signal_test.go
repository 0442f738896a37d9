//go:build linux

package reactor

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func signalNotify(c chan os.Signal) { signal.Notify(c, unix.SIGUSR1) }
func signalStop(c chan os.Signal)   { signal.Stop(c) }
