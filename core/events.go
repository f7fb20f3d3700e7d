package core

import (
	"sync"
	"sync/atomic"

	"github.com/mqgate/mqgate/core/topic"
)

// DropReason says why a message did not reach, or left, a session.
type DropReason byte

// Drop reasons.
const (
	DropQueueFull    DropReason = iota + 1 // the queue was at its limit (drop policy)
	DropTooLarge                           // larger than the queue's byte limit, or than the client takes
	DropExpired                            // its message expiry passed while it waited
	DropSuperseded                         // a QueueLatest subscription got a newer value
	DropRejected                           // settled Rejected
	DropOffline                            // QoS 0 for a session whose connection left
	DropUnsubscribed                       // its Separate subscription was removed

	// LastDropReason is the highest DropReason, for tables indexed by one.
	LastDropReason = DropUnsubscribed
)

var dropReasons = [...]string{
	DropQueueFull:    "queue full",
	DropTooLarge:     "too large",
	DropExpired:      "expired",
	DropSuperseded:   "superseded",
	DropRejected:     "rejected",
	DropOffline:      "offline",
	DropUnsubscribed: "unsubscribed",
}

func (r DropReason) String() string {
	if int(r) < len(dropReasons) && dropReasons[r] != "" {
		return dropReasons[r]
	}
	return "unknown"
}

// Events are functions the core calls when something happens to a client
// or a session; $SYS, metrics, an HTTP API and adapters listen with them
// instead of polling. A nil field is not called. They run synchronously on
// the goroutine that caused the event, Dropped possibly with the session's
// lock held, so they must be quick and must not call back into the core.
// The ClientInfo, Delivery and Message they get are only valid during the
// call; a Message is immutable.
type Events struct {
	Connected    func(info *ClientInfo, present bool)
	Disconnected func(info *ClientInfo, reason string)
	Subscribed   func(info *ClientInfo, key, filter string, o topic.Options)
	Unsubscribed func(info *ClientInfo, key, filter string)
	// Delivered is called for each message handed to a connection (after
	// Pull), redeliveries included.
	Delivered func(info *ClientInfo, d *Delivery)
	// Dropped is called for each message a session lost.
	Dropped func(namespace, clientID string, m *Message, reason DropReason)
	// SessionEnded is called when a session ends: expired, ended with its
	// connection (expiry 0), replaced by a clean start, or deleted.
	SessionEnded func(namespace, clientID string)
}

// listeners is the broker's list of Events, replaced whole on change so
// the message path reads it without a lock.
type listeners struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*Events]
}

// Listen adds a set of event functions; call the returned function to
// remove them.
func (b *Broker) Listen(e Events) (remove func()) {
	ev := &e
	l := &b.events
	l.mu.Lock()
	defer l.mu.Unlock()
	var cur []*Events
	if p := l.list.Load(); p != nil {
		cur = *p
	}
	next := append(append([]*Events(nil), cur...), ev)
	l.list.Store(&next)
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		p := l.list.Load()
		if p == nil {
			return
		}
		kept := make([]*Events, 0, len(*p))
		for _, x := range *p {
			if x != ev {
				kept = append(kept, x)
			}
		}
		l.list.Store(&kept)
	}
}

func (b *Broker) listening() []*Events {
	if p := b.events.list.Load(); p != nil {
		return *p
	}
	return nil
}

func (b *Broker) emitConnected(info *ClientInfo, present bool) {
	for _, e := range b.listening() {
		if e.Connected != nil {
			e.Connected(info, present)
		}
	}
}

func (b *Broker) emitDisconnected(info *ClientInfo, reason string) {
	for _, e := range b.listening() {
		if e.Disconnected != nil {
			e.Disconnected(info, reason)
		}
	}
}

func (b *Broker) emitSubscribed(info *ClientInfo, key, filter string, o topic.Options) {
	for _, e := range b.listening() {
		if e.Subscribed != nil {
			e.Subscribed(info, key, filter, o)
		}
	}
}

func (b *Broker) emitUnsubscribed(info *ClientInfo, key, filter string) {
	for _, e := range b.listening() {
		if e.Unsubscribed != nil {
			e.Unsubscribed(info, key, filter)
		}
	}
}

// emitDelivered reports the deliveries in ds.
func (b *Broker) emitDelivered(info *ClientInfo, ds []Delivery) {
	for _, e := range b.listening() {
		if e.Delivered != nil {
			for i := range ds {
				if !ds[i].Held {
					e.Delivered(info, &ds[i])
				}
			}
		}
	}
}

func (b *Broker) emitDropped(k SessionKey, m *Message, reason DropReason) {
	for _, e := range b.listening() {
		if e.Dropped != nil {
			e.Dropped(k.Namespace, k.ClientID, m, reason)
		}
	}
}

func (b *Broker) emitSessionEnded(k SessionKey) {
	for _, e := range b.listening() {
		if e.SessionEnded != nil {
			e.SessionEnded(k.Namespace, k.ClientID)
		}
	}
}
