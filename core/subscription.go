package core

import (
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// QueuePolicy says what a subscription's undelivered messages do while
// they wait in the session's queue.
type QueuePolicy byte

// Queue policies.
const (
	// QueueAll keeps every message, within the session's queue limits and
	// drop policy (MQTT, STOMP).
	QueueAll QueuePolicy = iota
	// QueueLatest keeps only the newest undelivered message of the
	// subscription: a newer one replaces it in its place in the queue (a
	// CoAP observer wants the current value, not the history). It needs a
	// Separate subscription.
	QueueLatest
)

// SubscribeRequest is one subscription a client asks for.
type SubscribeRequest struct {
	// Key identifies the subscription within the session: a request with
	// the key of an existing subscription replaces it, filter included.
	// Empty means the filter is the key, as in MQTT [MQTT-3.8.4-3]. A
	// STOMP adapter uses the subscription id, a CoAP adapter the token.
	Key    string
	Filter string // as the client sent it (may be $share/... or $queue/...)
	// Options are the subscription's QoS, No Local, Retain As Published,
	// Retain Handling and subscription identifier, and Separate: one
	// delivery per matching Separate subscription, carrying its Key,
	// instead of MQTT's one delivery per session and message.
	// Options.Key is set from Key.
	Options topic.Options
	Queue   QueuePolicy
}

// id returns what identifies the request's subscription in its session,
// given the mounted filter.
func (r *SubscribeRequest) id(filter string) string {
	if r.Key != "" {
		return r.Key
	}
	return filter
}

// subscription is one of a session's subscriptions, guarded by the
// session's mu.
type subscription struct {
	filter string // mounted
	opts   topic.Options
	queue  QueuePolicy
	// For QueueLatest: the newest undelivered message, standing behind
	// its marker in the session's queue while waiting is set.
	latest  queued
	waiting bool
	gone    bool // removed from its session
}

// store returns the subscription's store record.
func (sub *subscription) store() store.Subscription {
	o := &sub.opts
	return store.Subscription{
		Key: o.Key, Filter: sub.filter, QoS: o.QoS, NoLocal: o.NoLocal, RetainAsPublished: o.RetainAsPublished,
		RetainHandling: o.RetainHandling, SubscriptionID: o.SubscriptionID, Separate: o.Separate,
		Latest: sub.queue == QueueLatest,
	}
}

// subscriptionFromStore rebuilds a subscription from its store record.
func subscriptionFromStore(r *store.Subscription) *subscription {
	sub := &subscription{filter: r.Filter, opts: topic.Options{
		QoS: r.QoS, NoLocal: r.NoLocal, RetainAsPublished: r.RetainAsPublished,
		RetainHandling: r.RetainHandling, SubscriptionID: r.SubscriptionID, Key: r.Key, Separate: r.Separate,
	}}
	if r.Latest {
		sub.queue = QueueLatest
	}
	return sub
}
