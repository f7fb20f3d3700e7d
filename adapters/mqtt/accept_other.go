//go:build !linux

package mqtt

import (
	"errors"
	"net"
)

// rawListener is Linux-only; elsewhere listeners accept through the net
// package.
type rawListener struct{}

func newRawListener(net.Listener) (*rawListener, error) {
	return nil, errors.New("raw accept is Linux-only")
}

func (rl *rawListener) accept() (net.Conn, string, error) { return nil, "", net.ErrClosed }
func (rl *rawListener) close() error                      { return nil }

// fileConn is Linux-only.
type fileConn struct{ net.Conn }

func (c *fileConn) setKeepAlive() error { return nil }
