package core

import "context"

// Wakeups defers the Notify calls a publish makes. An adapter that handles
// a batch of packets from one connection passes WithWakeups to
// Client.Publish and Client.PublishQoS2 and, after the batch, wakes each
// connection in Conns once: a subscriber then gets one wake-up per batch
// instead of one per message, and the adapter may write to it from the
// goroutine that handled the batch. Only a few connections are deferred;
// beyond them a publish notifies at once, so a fan-out is not written from
// one goroutine. A Wakeups belongs to one goroutine.
type Wakeups struct {
	conns []Conn
}

// maxDeferred is how many connections one batch defers.
const maxDeferred = 8

// add defers c's Notify; false means c must be notified now.
func (w *Wakeups) add(c Conn) bool {
	for _, x := range w.conns {
		if x == c {
			return true
		}
	}
	if len(w.conns) == maxDeferred {
		return false
	}
	w.conns = append(w.conns, c)
	return true
}

// Conns returns the deferred connections, valid until Reset.
func (w *Wakeups) Conns() []Conn { return w.conns }

// Reset forgets the deferred connections; the caller has woken them.
func (w *Wakeups) Reset() {
	clear(w.conns)
	w.conns = w.conns[:0]
}

type wakeupsKey struct{}

// WithWakeups returns a context whose publishes defer their Notify calls
// to w.
func WithWakeups(ctx context.Context, w *Wakeups) context.Context {
	return context.WithValue(ctx, wakeupsKey{}, w)
}

func wakeupsFrom(ctx context.Context) *Wakeups {
	w, _ := ctx.Value(wakeupsKey{}).(*Wakeups)
	return w
}

// notify wakes c now, or after the batch when the publish defers.
func (d *durable) notify(c Conn) {
	if d.wake == nil || !d.wake.add(c) {
		c.Notify()
	}
}
