package netserve

import (
	"crypto/tls"
	"net"
)

// isTCP says nc is a plain TCP connection: one that raw socket I/O and
// the poller can serve.
func isTCP(nc net.Conn) bool {
	switch nc.(type) {
	case *net.TCPConn, *sockConn:
		return true
	}
	return false
}

// SetKeepAlive turns on TCP keep-alive probes on nc, or on the TCP
// connection under it (TLS), as net.KeepAliveConfig{Enable: true} does:
// 15 s idle, 15 s apart, 9 of them. Listeners accept connections without
// them (four system calls each); a protocol turns them on for a peer that
// it does not watch itself, so one that vanished is still noticed. Other
// connections (WebSocket) are left as they are.
func SetKeepAlive(nc net.Conn) error {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	switch tc := nc.(type) {
	case *net.TCPConn:
		return tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true})
	case *sockConn:
		return tc.setKeepAlive()
	}
	return nil
}
