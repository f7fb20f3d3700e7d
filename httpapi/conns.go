package httpapi

import (
	"sync"

	"github.com/mqgate/mqgate/core"
)

// Conns counts connections by protocol and listener from the core's
// Connected and Disconnected events, which fire once per connection, never
// per message.
type Conns struct {
	mu sync.Mutex
	m  map[ConnKey]*ConnCount
}

// ConnKey names a listener of a protocol.
type ConnKey struct{ Protocol, Listener string }

// ConnCount is what Conns keeps per listener.
type ConnCount struct {
	Current     int64 // open now
	Connects    int64 // since start
	Disconnects int64
}

// Events returns the event functions to pass to core.Broker.Listen.
func (c *Conns) Events() core.Events {
	return core.Events{
		Connected: func(info *core.ClientInfo, _ bool) {
			c.mu.Lock()
			n := c.countLocked(info)
			n.Current++
			n.Connects++
			c.mu.Unlock()
		},
		Disconnected: func(info *core.ClientInfo, _ string) {
			c.mu.Lock()
			n := c.countLocked(info)
			n.Current--
			n.Disconnects++
			c.mu.Unlock()
		},
	}
}

func (c *Conns) countLocked(info *core.ClientInfo) *ConnCount {
	k := ConnKey{info.Protocol, info.Listener}
	n := c.m[k]
	if n == nil {
		if c.m == nil {
			c.m = map[ConnKey]*ConnCount{}
		}
		n = new(ConnCount)
		c.m[k] = n
	}
	return n
}

// Get returns the counts of one listener.
func (c *Conns) Get(protocol, listener string) ConnCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.m[ConnKey{protocol, listener}]; n != nil {
		return *n
	}
	return ConnCount{}
}

// All returns the counts of every listener that has had a connection.
func (c *Conns) All() map[ConnKey]ConnCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[ConnKey]ConnCount, len(c.m))
	for k, n := range c.m {
		out[k] = *n
	}
	return out
}
