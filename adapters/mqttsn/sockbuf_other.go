//go:build !unix

package mqttsn

import (
	"errors"
	"syscall"
)

// socketBuffers cannot read the buffer sizes on this platform.
func socketBuffers(syscall.Conn) (rcv, snd int, err error) {
	return 0, 0, errors.ErrUnsupported
}
