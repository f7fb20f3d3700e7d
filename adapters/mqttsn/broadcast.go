//go:build unix

package mqttsn

import (
	"net"
	"syscall"
)

// setBroadcast allows sock to send to a broadcast address (SO_BROADCAST).
func setBroadcast(sock *net.UDPConn) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
