//go:build !unix

package mqttsn

import "net"

// setBroadcast is a no-op where SO_BROADCAST is not set this way.
func setBroadcast(*net.UDPConn) error { return nil }
