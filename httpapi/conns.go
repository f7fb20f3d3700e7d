package httpapi

import (
	"strings"
	"sync"

	"github.com/mqgate/mqgate/core"
)

// Conns counts connections by protocol and listener from the core's
// Connected and Disconnected events, which fire once per connection, never
// per message.
type Conns struct {
	mu      sync.Mutex
	m       map[ConnKey]*ConnCount
	reasons map[ReasonKey]int64
}

// ReasonKey names a kind of disconnect of a protocol.
type ReasonKey struct{ Protocol, Reason string }

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
		Disconnected: func(info *core.ClientInfo, reason string) {
			c.mu.Lock()
			n := c.countLocked(info)
			n.Current--
			n.Disconnects++
			if c.reasons == nil {
				c.reasons = map[ReasonKey]int64{}
			}
			c.reasons[ReasonKey{info.Protocol, DisconnectReason(reason)}]++
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

// Reasons returns the disconnects by protocol and kind of reason.
func (c *Conns) Reasons() map[ReasonKey]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[ReasonKey]int64, len(c.reasons))
	for k, n := range c.reasons {
		out[k] = n
	}
	return out
}

// DisconnectReason sorts the reason an adapter gave for a disconnect into
// a few kinds, so a metric label stays bounded: client (it said goodbye),
// timeout (keep alive, heart-beat, sleep), lost (the connection broke or
// retries ran out), protocol_error, takeover, admin (kicked or deleted by an
// operator), shutdown, other.
func DisconnectReason(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "taken over"):
		return "takeover"
	case strings.Contains(r, "shutting down"), strings.Contains(r, "stopping"), strings.Contains(r, "stopped"):
		return "shutdown"
	case strings.Contains(r, "administrator"), strings.Contains(r, "kicked"), strings.Contains(r, "banned"):
		return "admin"
	case strings.Contains(r, "keep alive"), strings.Contains(r, "keepalive"), strings.Contains(r, "heart"),
		strings.Contains(r, "sleep timer"), strings.Contains(r, "timed out"), strings.Contains(r, "timeout"):
		return "timeout"
	case strings.Contains(r, "disconnect 0x"), strings.Contains(r, "protocol"), strings.Contains(r, "malformed"),
		strings.Contains(r, "invalid"):
		return "protocol_error"
	case strings.HasPrefix(r, "client sent"), strings.Contains(r, "client disconnected"), strings.Contains(r, "client closed"):
		return "client"
	case strings.Contains(r, "lost"), strings.Contains(r, "max_retries"), strings.Contains(r, "closed by the server"):
		return "lost"
	}
	return "other"
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
