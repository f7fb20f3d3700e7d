//go:build !linux || 386

package netserve

import (
	"errors"
	"net"
	"net/netip"
)

// rawListener needs accept4 as a system call of its own (Linux, except
// 386); elsewhere listeners accept through the net package.
type rawListener struct{}

func newRawListener(net.Listener) (*rawListener, error) {
	return nil, errors.New("raw accept is Linux-only")
}

func (rl *rawListener) accept() (net.Conn, netip.AddrPort, error) {
	return nil, netip.AddrPort{}, net.ErrClosed
}
func (rl *rawListener) close() error { return nil }

// sockConn exists only with rawListener.
type sockConn struct{ net.Conn }

func (c *sockConn) setKeepAlive() error { return nil }
