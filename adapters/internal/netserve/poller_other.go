//go:build !linux

package netserve

import "errors"

// poller is Linux-only; elsewhere every connection is served by a
// goroutine blocked in Read.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("no epoll on this platform") }

func (pl *poller) arm(*Conn)         {}
func (pl *poller) remove(*Conn, int) {}
func (pl *poller) close()            {}

func (c *Conn) armFD(uintptr) {}
