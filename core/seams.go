package core

import "github.com/mqgate/mqgate/core/topic"

// The router, the session registry and the retained index are interfaces
// so that a clustered core (planned on embedded NATS: interest-based
// routing between nodes, a replicated key-value store for session
// ownership and retained messages) can stand behind them without the
// adapters noticing. The single-node implementations are in memory and
// never wait on anything remote: a subscribe or a connect must not wait
// for a quorum. Config.Router, Config.Registry and Config.RetainedIndex
// replace them; nil keeps the single-node ones.

// SessionRef is a session as the router and the registry hold it. Only
// the core looks inside.
type SessionRef = *session

// Router is the subscription index the core routes through.
// *topic.Router[SessionRef] implements it. A clustered router also tells
// other nodes about the filters this node has subscribers for and
// forwards messages to the nodes that have.
type Router interface {
	// Subscribe adds or replaces the subscription (s, filter, o.Key).
	Subscribe(s SessionRef, clientID, filter string, o topic.Options) (existed bool)
	// UnsubscribeKey removes the subscription (s, filter, key).
	UnsubscribeKey(s SessionRef, key, filter string) (existed bool)
	// MatchFrom fills m with the local targets of a message on topic.
	MatchFrom(topic string, publisher SessionRef, hasPublisher bool, publisherID string, m *topic.Matches[SessionRef])
	// SetAvailable tells shared-subscription selection which sessions are
	// online.
	SetAvailable(func(SessionRef) bool)
	// Count is the number of subscriptions.
	Count() int
}

// Registry holds the sessions by key. The core serializes its calls under
// one lock, so an implementation needs none of its own for them. A
// clustered registry also claims ownership of a persistent session across
// nodes, asynchronously: Put must not wait for other nodes.
type Registry interface {
	Get(k SessionKey) SessionRef
	Put(k SessionKey, s SessionRef)
	Delete(k SessionKey)
	Len() int
	// Range calls fn for each session until it returns false.
	Range(fn func(SessionKey, SessionRef) bool)
}

// RetainedIndex keeps the retained message of each topic for wildcard
// lookup. *topic.Retained[*Message] implements it; it is safe for
// concurrent use.
type RetainedIndex interface {
	Set(topic string, m *Message) (replaced bool)
	Delete(topic string) (existed bool)
	Get(topic string) (*Message, bool)
	Len() int
	// Match calls fn for the retained messages matching filter until fn
	// returns false.
	Match(filter string, fn func(topic string, m *Message) bool)
}

// mapRegistry is the single-node Registry.
type mapRegistry map[SessionKey]SessionRef

func (r mapRegistry) Get(k SessionKey) SessionRef    { return r[k] }
func (r mapRegistry) Put(k SessionKey, s SessionRef) { r[k] = s }
func (r mapRegistry) Delete(k SessionKey)            { delete(r, k) }
func (r mapRegistry) Len() int                       { return len(r) }

func (r mapRegistry) Range(fn func(SessionKey, SessionRef) bool) {
	for k, s := range r {
		if !fn(k, s) {
			return
		}
	}
}

var (
	_ Router        = (*topic.Router[SessionRef])(nil)
	_ RetainedIndex = (*topic.Retained[*Message])(nil)
	_ Registry      = mapRegistry(nil)
)
