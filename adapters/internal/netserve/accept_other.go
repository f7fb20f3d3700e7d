//go:build !linux || 386

package netserve

import (
	"errors"
	"net"
	"net/netip"
)

// RawListener needs accept4 as a system call of its own (Linux, except
// 386); elsewhere listeners accept through the net package.
type RawListener struct{}

func NewRawListener(net.Listener) (*RawListener, error) {
	return nil, errors.New("raw accept is Linux-only")
}

func (rl *RawListener) Accept() (net.Conn, netip.AddrPort, error) {
	return nil, netip.AddrPort{}, net.ErrClosed
}
func (rl *RawListener) Close() error { return nil }

// sockConn exists only with RawListener.
type sockConn struct{ net.Conn }

func (c *sockConn) setKeepAlive() error { return nil }
