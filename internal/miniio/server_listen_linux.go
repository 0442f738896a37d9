package miniio

import "golang.org/x/sys/unix"

// The event loop needs a non-blocking listening socket: it calls accept
// until EAGAIN, and on a blocking socket the last call would wait. Linux
// says so in socket(2)'s type argument.
const listenType = unix.SOCK_STREAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
