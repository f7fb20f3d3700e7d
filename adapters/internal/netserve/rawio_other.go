//go:build !linux && !windows

package netserve

import (
	"errors"
	"syscall"
)

// RawSocketIO says connections may read and write with SysRead and
// SysWrite inside RawConn callbacks.
const RawSocketIO = true

// SysRead and SysWrite are read(2) and write(2) on a non-blocking socket;
// both retry EINTR.
func SysRead(fd int, b []byte) (int, syscall.Errno) { return retryIO(syscall.Read, fd, b) }

func SysWrite(fd int, b []byte) (int, syscall.Errno) { return retryIO(syscall.Write, fd, b) }

func retryIO(op func(int, []byte) (int, error), fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := op(fd, b)
		if err == nil {
			return n, 0
		}
		var e syscall.Errno
		if !errors.As(err, &e) {
			return -1, syscall.EIO
		}
		if e != syscall.EINTR {
			return -1, e
		}
	}
}
