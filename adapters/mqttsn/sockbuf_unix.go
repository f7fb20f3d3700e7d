//go:build unix

package mqttsn

import (
	"runtime"
	"syscall"
)

// socketBuffers returns the usable receive and send buffer sizes of c.
func socketBuffers(c syscall.Conn) (rcv, snd int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var rerr, serr error
	err = rc.Control(func(fd uintptr) {
		rcv, rerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	for _, e := range []error{err, rerr, serr} {
		if e != nil {
			return 0, 0, e
		}
	}
	if runtime.GOOS == "linux" {
		// Linux doubles the size asked for, for its bookkeeping, and
		// reports the doubled value [socket(7)].
		rcv, snd = rcv/2, snd/2
	}
	return rcv, snd, nil
}
