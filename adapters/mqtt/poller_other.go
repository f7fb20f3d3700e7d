//go:build !linux

package mqtt

import "errors"

// poller is Linux-only; elsewhere every connection is served by a
// goroutine blocked in Read.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("no epoll on this platform") }

func (pl *poller) arm(*conn)         {}
func (pl *poller) remove(*conn, int) {}
func (pl *poller) close()            {}

func (c *conn) armFD(uintptr) {}
