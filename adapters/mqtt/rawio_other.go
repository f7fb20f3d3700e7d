//go:build !linux

package mqtt

import (
	"errors"
	"syscall"
)

// sysRead and sysWrite are read(2) and write(2) on a non-blocking socket;
// both retry EINTR.
func sysRead(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Read(fd, b)
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

func sysWrite(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Write(fd, b)
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
