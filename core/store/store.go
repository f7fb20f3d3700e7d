package store

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a session, queue entry or retained message
// that the call needs does not exist.
var ErrNotFound = errors.New("store: not found")

// NeverExpire is a session expiry that never elapses (MQTT 3 clean session
// 0). It equals core.NeverExpire.
const NeverExpire = time.Duration(1<<63 - 1)

// Key names a session: client ids live in a namespace, one per gateway.
type Key struct {
	Namespace string
	ClientID  string
}

// UserProperty is one key/value pair carried with a message.
type UserProperty struct {
	Key, Value string
}

// Origin says where a message entered mqgate.
type Origin struct {
	Protocol  string
	Namespace string
	ClientID  string
}

// Message is one stored application message with the full property set.
// Messages are immutable, as in the core: a store never modifies a Message
// it was given or returns, may keep and share it (the memory store does),
// and the caller must not modify one after passing it or once returned.
type Message struct {
	Topic           string
	Payload         []byte
	QoS             byte
	Retain          bool
	PayloadFormat   byte
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
	Expiry          time.Time // zero: never expires
	Origin          Origin
}

// Expired reports whether the message's expiry deadline has passed.
func (m *Message) Expired(now time.Time) bool {
	return !m.Expiry.IsZero() && !now.Before(m.Expiry)
}

// Subscription is one subscription of a session with its options.
type Subscription struct {
	// Key identifies the subscription in its session when several share
	// a filter (a STOMP subscription id); "" means the filter is the key.
	Key               string
	Filter            string
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	SubscriptionID    uint32 // 0: none
	Separate          bool   // one delivery per subscription, not merged per session
	Latest            bool   // only the newest undelivered message is kept
}

// ID returns what identifies the subscription in its session: Key, or
// Filter without one.
func (s *Subscription) ID() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Filter
}

// Will is a session's last will.
type Will struct {
	Message Message
	Delay   time.Duration // Will Delay Interval
	Expiry  time.Duration // message expiry counted from publication; 0: none
}

// Session is the durable record of a session that outlives its connection.
type Session struct {
	Key Key
	// Expiry is how long the session outlives its connection; NeverExpire
	// keeps it forever.
	Expiry time.Duration
	// DisconnectedAt is when the connection ended; zero while connected. A
	// session expires at DisconnectedAt + Expiry.
	DisconnectedAt time.Time
	Will           *Will // nil: none
	// Client is who last connected to the session: the core needs it to
	// publish the will and to check subscriptions against the ACL while
	// the session is offline, after a restart.
	Client Client
	// Subscriptions in ascending order of ID when returned by a store.
	Subscriptions []Subscription
}

// ExpiresAt returns when a disconnected session expires, and false for a
// connected session or one that never expires.
func (s *Session) ExpiresAt() (time.Time, bool) {
	if s.DisconnectedAt.IsZero() || s.Expiry == NeverExpire {
		return time.Time{}, false
	}
	return s.DisconnectedAt.Add(s.Expiry), true
}

// Client identifies the connection a session last belonged to.
type Client struct {
	Protocol   string
	Listener   string
	Username   string
	CertCN     string
	Mountpoint string
	Version    byte
}

// DeliveryState is where an outbound QoS 1/2 message stands.
type DeliveryState byte

// Delivery states of a queue entry.
const (
	Queued    DeliveryState = iota // waiting for the inflight window
	Published                      // sent with PacketID, awaiting PUBACK or PUBREC
	Released                       // PUBREC received, PUBREL sent, awaiting PUBCOMP
)

// QueueEntry is one message queued for or in flight to a session.
type QueueEntry struct {
	// Seq orders the entries of a session; the store assigns it on Append.
	Seq             uint64
	Message         *Message
	QoS             byte // delivery QoS: min(message QoS, subscription QoS)
	Retain          bool // retain flag as delivered
	SubscriptionIDs []uint32
	// Key is the subscription key of a delivery to a Separate
	// subscription; empty for a merged delivery.
	Key string
	// Latest marks the newest undelivered message of a latest-value
	// subscription: of several such entries under one Key, only the last
	// is kept at restore.
	Latest   bool
	PacketID uint16 // 0 while Queued
	State    DeliveryState
}

// OutboxEntry is one message in a bridge outbox.
type OutboxEntry struct {
	Seq     uint64
	Message *Message
}

// OutboxDelivery is where a QoS 2 outbox entry stands with the upstream:
// the packet id it was sent with and whether the upstream answered
// PUBREC. A bridge resends the PUBLISH with that id, or the PUBREL, after
// a reconnect or a restart, so the upstream delivers it once.
type OutboxDelivery struct {
	Seq      uint64
	PacketID uint16
	State    DeliveryState // Published or Released
}

// ExpireStats counts what one Expire call removed.
type ExpireStats struct {
	Sessions int
	Retained int
}

// Store is a place to keep broker state. Its parts are reached through
// their accessors so that each has its own small contract.
//
// Unless a method says otherwise, every method is safe for concurrent use;
// writes to one Key must be serialized by the caller (the core does this
// under the session's lock), writes to different Keys need not be.
type Store interface {
	Sessions() Sessions
	Queues() Queues
	Inbound() Inbound
	Retained() Retained
	Outbox() Outbox
	Bans() Bans

	// Sync makes every write that returned before the call durable, within
	// the durability the store was opened with (a store that batches
	// flushes treats it as a sync-flagged write). Use it
	// where an acknowledgement depends on a write that was not flagged sync
	// (a SUBACK for a persistent session, for example). Concurrent Syncs
	// and sync-flagged writes share device flushes.
	Sync() error

	// Expire removes disconnected sessions whose expiry has elapsed at now,
	// with their subscriptions, queues and inbound packet ids, and retained
	// messages whose expiry deadline is at or before now. The caller runs it
	// periodically; it does not touch the caller's in-memory state.
	Expire(now time.Time) (ExpireStats, error)

	// Close releases the store. No other method may be called during or
	// after Close. Unsynced writes may be lost on a crash after Close only
	// if the implementation says so; Close of a durable store syncs.
	Close() error
}

// Sessions keeps session records and their subscriptions.
type Sessions interface {
	// Put creates or replaces the session s.Key, subscriptions included:
	// afterwards the session has exactly s.Subscriptions.
	Put(s *Session) error
	// Get returns the session with its subscriptions sorted by ID, or
	// ErrNotFound.
	Get(k Key) (*Session, error)
	// SetExpiry records the session expiry and when the connection ended
	// (zero: connected again). ErrNotFound if there is no such session.
	SetExpiry(k Key, expiry time.Duration, disconnectedAt time.Time) error
	// SetWill replaces the will; nil removes it. ErrNotFound if there is no
	// such session.
	SetWill(k Key, w *Will) error
	// SetSubscription adds or replaces the subscription with sub.ID().
	// ErrNotFound if there is no such session.
	SetSubscription(k Key, sub Subscription) error
	// DeleteSubscription removes the subscription whose ID is id; removing
	// a missing one is not an error.
	DeleteSubscription(k Key, id string) error
	// Delete removes the session with its subscriptions, queue and inbound
	// packet ids. Deleting a missing session is not an error.
	Delete(k Key) error
	// Range calls fn for every session until fn returns false. The order is
	// unspecified. fn must not call other methods of the store.
	Range(fn func(*Session) bool) error
}

// Queues keeps each session's outbound messages, queued and in flight, in
// the order they were appended.
type Queues interface {
	// Append adds e at the end of k's queue and returns the sequence number
	// it assigned (also stored in e.Seq). Sequence numbers increase with
	// every Append to a store, across Close and reopen, but are not dense.
	// With sync true the entry is on stable storage when Append returns
	// (within the durability the store was opened with); make a QoS 1/2
	// message durable this way before acknowledging it. Append does not
	// check that the session exists; Sessions.Delete removes the queue.
	// The store keeps no reference to e, only to its immutable Message.
	Append(k Key, e *QueueEntry, sync bool) (uint64, error)
	// MarkInflight records that entry seq was sent with packetID and now
	// awaits PUBACK or PUBREC (state Published). ErrNotFound if there is no
	// such entry.
	MarkInflight(k Key, seq uint64, packetID uint16) error
	// SetState changes the state of an entry marked inflight. ErrNotFound if
	// there is no such entry.
	SetState(k Key, seq uint64, st DeliveryState) error
	// Remove deletes entry seq; removing a missing entry is not an error.
	Remove(k Key, seq uint64) error
	// Range calls fn with k's entries in ascending Seq order until fn
	// returns false. The entry passed to fn belongs to the caller (its
	// Message is immutable). fn must not call other methods of the store.
	Range(k Key, fn func(*QueueEntry) bool) error
	// Clear removes all of k's entries.
	Clear(k Key) error
}

// Inbound keeps the QoS 2 packet ids a session has received (PUBREC sent)
// and not yet released, so a PUBLISH retransmitted after a restart is not
// delivered twice.
type Inbound interface {
	// Add records packetID; adding it twice is not an error, and it needs
	// no session record (Sessions.Delete removes the ids). With sync
	// true it is durable when Add returns; do this before sending PUBREC
	// unless a synced write after Add covers it.
	Add(k Key, packetID uint16, sync bool) error
	// Remove forgets packetID; removing a missing one is not an error.
	Remove(k Key, packetID uint16) error
	// List returns k's packet ids in ascending order.
	List(k Key) ([]uint16, error)
}

// Retained keeps one retained message per topic.
type Retained interface {
	// Set stores m as the retained message of m.Topic, replacing any.
	Set(m *Message, sync bool) error
	// Get returns the retained message of topic, or ErrNotFound.
	Get(topic string) (*Message, error)
	// Delete removes topic's retained message; a missing one is not an
	// error.
	Delete(topic string) error
	// Range calls fn for every retained message in ascending topic order
	// until fn returns false. fn must not call other methods of the store.
	Range(fn func(*Message) bool) error
}

// Outbox keeps, per bridge, the messages waiting to be forwarded upstream.
// A bridge peeks a window, sends it, and deletes what was acknowledged.
// Ban refuses clients: by client id, username, or peer address (an
// address or a CIDR prefix).
type Ban struct {
	Kind   string // "clientid", "username" or "peerhost"
	Value  string
	Reason string
	At     time.Time
	Until  time.Time // zero: never expires
}

// Bans keeps the ban list. It is small and read whole at startup.
type Bans interface {
	// Put adds or replaces the ban of (b.Kind, b.Value), durably.
	Put(b *Ban) error
	// Delete removes a ban; removing a missing one is not an error.
	Delete(kind, value string) error
	// List returns every ban in (Kind, Value) order.
	List() ([]Ban, error)
}

type Outbox interface {
	// Append adds m to the outbox of bridge and returns its sequence
	// number; sync as for Queues.Append.
	Append(bridge string, m *Message, sync bool) (uint64, error)
	// Peek returns up to max entries of bridge with Seq >= from, in
	// ascending order.
	Peek(bridge string, from uint64, max int) ([]OutboxEntry, error)
	// DeleteUpTo removes every entry of bridge with Seq <= seq.
	DeleteUpTo(bridge string, seq uint64) error
	// Delete removes the listed entries; missing ones are ignored.
	Delete(bridge string, seqs ...uint64) error
	// SetDelivery records d for entry d.Seq (State Queued removes the
	// record); sync as for Queues.Append. DeleteUpTo and Delete remove the
	// records of the entries they remove.
	SetDelivery(bridge string, d OutboxDelivery, sync bool) error
	// Deliveries returns bridge's records in ascending Seq order.
	Deliveries(bridge string) ([]OutboxDelivery, error)
}
