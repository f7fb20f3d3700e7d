package core

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// Admin is what an operator's interface (the HTTP API, a CLI) asks of the
// core. *Broker implements it; a clustered core would answer for every
// node.
type Admin interface {
	// Sessions lists sessions, connected or not, in (namespace, client
	// id) order, a page at a time.
	Sessions(q SessionQuery) SessionPage
	// Session returns one session with its subscriptions.
	Session(namespace, clientID string) (SessionDetail, bool)
	// Kick closes a session's connection (the client is told
	// AdministrativeAction where its protocol can say so); the session
	// stays. It reports whether the session had a connection.
	Kick(namespace, clientID string) bool
	// DeleteSession ends a session, closing its connection if it has
	// one; its will is published as for any connection the server closes.
	DeleteSession(namespace, clientID string) bool
	// AddSubscription subscribes a session on an operator's behalf: no
	// authorization, retained messages as the request's Retain Handling
	// says.
	AddSubscription(ctx context.Context, namespace, clientID string, r SubscribeRequest) (SubscribeResult, error)
	// RemoveSubscription removes the subscription whose ID (as Session
	// lists it) is id.
	RemoveSubscription(namespace, clientID, id string) error
	// Retained lists retained messages matching a filter in topic order,
	// a page at a time.
	Retained(q RetainedQuery) RetainedPage
	// RetainedMessage returns the retained message of a topic.
	RetainedMessage(topic string) (*Message, bool)
	// DeleteRetained removes the retained message of a topic, durably.
	DeleteRetained(topic string) (bool, error)
	// Snapshot reads the broker's statistics.
	Snapshot() StatsSnapshot
	// AddBan bans clients by client id, username or address, closing the
	// connections it matches; RemoveBan lifts one; Bans lists them.
	AddBan(ban Ban) (kicked int, err error)
	RemoveBan(kind BanKind, value string) (bool, error)
	Bans() []Ban
}

var _ Admin = (*Broker)(nil)

// SessionQuery selects sessions. Empty fields match everything.
type SessionQuery struct {
	Namespace      string
	ClientIDPrefix string
	Username       string
	Protocol       string
	Connected      *bool
	// Cursor continues a listing: SessionPage.Next of the page before.
	Cursor string
	// Limit is the page size (default 100, at most 1000).
	Limit int
}

// SessionPage is one page of a session listing.
type SessionPage struct {
	Sessions []SessionInfo
	Next     string // cursor for the next page; "" on the last
}

// SessionInfo describes a session.
type SessionInfo struct {
	Namespace      string
	ClientID       string
	Username       string
	Protocol       string
	Version        byte
	Listener       string
	Peer           string // address of the connection, or of the last one
	Connected      bool
	ConnectedAt    time.Time // of the current or last connection
	DisconnectedAt time.Time // zero while connected
	KeepAlive      time.Duration
	Expiry         time.Duration // how long it outlives its connection; NeverExpire: forever
	Subscriptions  int
	Queued         int // messages waiting for the inflight window
	QueuedBytes    int
	Inflight       int // delivered, not yet settled
}

// SubscriptionInfo describes one subscription of a session.
type SubscriptionInfo struct {
	ID      string // the key, or the filter of a subscription without one
	Filter  string
	Options topic.Options
	Queue   QueuePolicy
}

// SessionDetail is a session with its subscriptions, in ID order.
type SessionDetail struct {
	SessionInfo
	Subscriptions []SubscriptionInfo
}

// RetainedQuery selects retained messages.
type RetainedQuery struct {
	Filter string // default "#"
	Cursor string // RetainedPage.Next of the page before
	Limit  int    // default 100, at most 1000
}

// RetainedPage is one page of retained messages.
type RetainedPage struct {
	Messages []*Message
	Next     string
}

// StatsSnapshot is the broker's statistics at one moment.
type StatsSnapshot struct {
	Uptime           time.Duration
	Sessions         int
	Subscriptions    int
	Retained         int
	ClientsConnected int64
	ClientsMaximum   int64
	Connects         int64
	MessagesReceived int64
	MessagesSent     int64
	Messages         []MessageCount // by protocol and QoS
	MessagesDropped  int64
	BytesReceived    int64
	BytesSent        int64
	Bytes            []ByteCount    // by protocol
	Refused          []RefusalCount // connections refused at Open, by protocol and reason
	PublishDenied    int64
	SubscribeDenied  int64
	WillsPublished   int64
	StoreFailures    int64 // store writes, syncs and expiry runs that failed (StoreHealth)
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// Sessions implements Admin.
func (b *Broker) Sessions(q SessionQuery) SessionPage {
	after, _ := decodeCursor(q.Cursor)
	b.regMu.Lock()
	all := make([]*session, 0, b.sessions.Len())
	b.sessions.Range(func(k SessionKey, s SessionRef) bool {
		if (q.Namespace == "" || k.Namespace == q.Namespace) && strings.HasPrefix(k.ClientID, q.ClientIDPrefix) &&
			(q.Cursor == "" || compareKeys(k, after) > 0) {
			all = append(all, s)
		}
		return true
	})
	b.regMu.Unlock()
	slices.SortFunc(all, func(x, y *session) int { return compareKeys(x.key, y.key) })
	limit := pageLimit(q.Limit)
	var page SessionPage
	for _, s := range all {
		info := s.describe()
		if q.Username != "" && info.Username != q.Username || q.Protocol != "" && info.Protocol != q.Protocol ||
			q.Connected != nil && info.Connected != *q.Connected {
			continue
		}
		if len(page.Sessions) == limit {
			last := page.Sessions[limit-1]
			page.Next = encodeCursor(SessionKey{last.Namespace, last.ClientID})
			break
		}
		page.Sessions = append(page.Sessions, info)
	}
	return page
}

func compareKeys(x, y SessionKey) int {
	if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
		return c
	}
	return strings.Compare(x.ClientID, y.ClientID)
}

func encodeCursor(k SessionKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.Namespace + "\x00" + k.ClientID))
}

func decodeCursor(c string) (SessionKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return SessionKey{}, false
	}
	ns, id, ok := strings.Cut(string(raw), "\x00")
	return SessionKey{ns, id}, ok
}

// describe reads a session's summary under its lock.
func (s *session) describe() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describeLocked()
}

func (s *session) describeLocked() SessionInfo {
	i := &s.info
	return SessionInfo{
		Namespace: s.key.Namespace, ClientID: s.key.ClientID, Username: i.Username, Protocol: i.Protocol,
		Version: i.Version, Listener: i.Listener, Peer: peerString(i.PeerAddr), Connected: s.conn != nil,
		ConnectedAt: s.connectedAt, DisconnectedAt: s.leftAt, KeepAlive: s.keepAlive, Expiry: s.expiry,
		Subscriptions: len(s.subs), Queued: s.queue.len(), QueuedBytes: s.queuedBytes, Inflight: len(s.inflight),
	}
}

func (b *Broker) lookup(namespace, clientID string) *session {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	return b.sessions.Get(SessionKey{namespace, clientID})
}

// Session implements Admin.
func (b *Broker) Session(namespace, clientID string) (SessionDetail, bool) {
	s := b.lookup(namespace, clientID)
	if s == nil {
		return SessionDetail{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return SessionDetail{}, false
	}
	d := SessionDetail{SessionInfo: s.describeLocked()}
	for id, sub := range s.subs {
		d.Subscriptions = append(d.Subscriptions, SubscriptionInfo{ID: id, Filter: sub.filter, Options: sub.opts, Queue: sub.queue})
	}
	slices.SortFunc(d.Subscriptions, func(x, y SubscriptionInfo) int { return strings.Compare(x.ID, y.ID) })
	return d, true
}

// Kick implements Admin.
func (b *Broker) Kick(namespace, clientID string) bool {
	s := b.lookup(namespace, clientID)
	if s == nil {
		return false
	}
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return false
	}
	// The adapter closes the connection and detaches it as for any close
	// the server initiates.
	conn.Kick(AdministrativeAction)
	return true
}

// DeleteSession implements Admin.
func (b *Broker) DeleteSession(namespace, clientID string) bool {
	key := SessionKey{namespace, clientID}
	b.regMu.Lock()
	s := b.sessions.Get(key)
	if s == nil {
		b.regMu.Unlock()
		return false
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		b.regMu.Unlock()
		return false
	}
	conn := s.conn
	var info ClientInfo
	if conn != nil {
		info = s.info
		s.detachLocked()
	}
	s.stopTimersLocked()
	will := s.takeWillLocked()
	wInfo := s.info
	s.ended = true
	s.deleteLocked()
	b.sessions.Delete(key)
	s.mu.Unlock()
	b.regMu.Unlock()
	if conn != nil {
		conn.Kick(AdministrativeAction)
		b.clientLeft(&info, "session deleted by an administrator")
	}
	if will != nil {
		b.publishWill(wInfo, will)
	}
	b.dropSubscriptions(s)
	b.emitSessionEnded(key)
	return true
}

// AddSubscription implements Admin.
func (b *Broker) AddSubscription(ctx context.Context, namespace, clientID string, r SubscribeRequest) (SubscribeResult, error) {
	s := b.lookup(namespace, clientID)
	if s == nil {
		return SubscribeResult{Code: NoSubscriptionExisted}, &CodeError{Code: ClientIDNotValid, Msg: fmt.Sprintf("no session %q", clientID)}
	}
	s.mu.Lock()
	info := s.info
	s.mu.Unlock()
	filter, code := b.checkSubscribe(ctx, &info, &r, false)
	if code.Failed() {
		return SubscribeResult{Code: code}, code
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return SubscribeResult{Code: ClientIDNotValid}, &CodeError{Code: ClientIDNotValid, Msg: fmt.Sprintf("session %q ended", clientID)}
	}
	res, stored := s.addSubLocked(&r, filter)
	gen := s.gen
	s.mu.Unlock()
	if res.Code.Failed() {
		return res, res.Code
	}
	if stored {
		if err := b.store.Sync(); err != nil {
			return SubscribeResult{Code: UnspecifiedError}, &CodeError{Code: UnspecifiedError, Msg: fmt.Sprintf("subscription not stored: %v", err)}
		}
	}
	o := r.Options
	o.Key = r.Key
	b.emitSubscribed(&info, r.Key, filter, o)
	s.sendRetained(gen, &r, res, filter)
	return res, nil
}

// RemoveSubscription implements Admin.
func (b *Broker) RemoveSubscription(namespace, clientID, id string) error {
	s := b.lookup(namespace, clientID)
	if s == nil {
		return &CodeError{Code: ClientIDNotValid, Msg: fmt.Sprintf("no session %q", clientID)}
	}
	s.mu.Lock()
	info := s.info
	var sub *subscription
	if !s.ended {
		sub = s.removeSubLocked(id)
	}
	s.mu.Unlock()
	if sub == nil {
		return NoSubscriptionExisted
	}
	b.emitUnsubscribed(&info, sub.opts.Key, sub.filter)
	return nil
}

// Retained implements Admin.
func (b *Broker) Retained(q RetainedQuery) RetainedPage {
	filter := q.Filter
	if filter == "" {
		filter = "#"
	}
	var ms []*Message
	if topic.ValidateFilter(filter, 0) == nil {
		now := time.Now()
		b.retained.Match(filter, func(t string, m *Message) bool {
			if t > q.Cursor && !m.Expired(now) {
				ms = append(ms, m)
			}
			return true
		})
	}
	slices.SortFunc(ms, func(x, y *Message) int { return strings.Compare(x.Topic, y.Topic) })
	var page RetainedPage
	if limit := pageLimit(q.Limit); len(ms) > limit {
		ms = ms[:limit]
		page.Next = ms[limit-1].Topic
	}
	page.Messages = ms
	return page
}

// RetainedMessage implements Admin.
func (b *Broker) RetainedMessage(t string) (*Message, bool) {
	m, ok := b.retained.Get(t)
	if !ok || m.Expired(time.Now()) {
		return nil, false
	}
	return m, true
}

// DeleteRetained implements Admin.
func (b *Broker) DeleteRetained(t string) (bool, error) {
	if _, ok := b.retained.Get(t); !ok {
		return false, nil
	}
	var d durable
	// An empty retained message at QoS 1 deletes it and syncs the store.
	b.retain(&Message{Topic: t, QoS: 1, Retain: true}, &d)
	if err := b.settle(&d); err != nil {
		return true, &CodeError{Code: UnspecifiedError, Msg: fmt.Sprintf("retained message of %q not deleted from the store: %v", t, err)}
	}
	return true, nil
}

// Snapshot implements Admin.
func (b *Broker) Snapshot() StatsSnapshot {
	st := &b.stats
	return StatsSnapshot{
		Uptime: time.Since(b.started), Sessions: b.SessionCount(), Subscriptions: b.SubscriptionCount(),
		Retained: b.RetainedCount(), ClientsConnected: st.ClientsConnected.Load(), ClientsMaximum: st.ClientsMaximum.Load(),
		Connects: st.Connects.Load(), MessagesReceived: st.MessagesReceived.Load(), MessagesSent: st.MessagesSent.Load(), Messages: b.MessageCounts(),
		MessagesDropped: st.MessagesDropped.Load(), BytesReceived: st.BytesReceived.Load(), BytesSent: st.BytesSent.Load(), Bytes: b.ByteCounts(),
		Refused: b.RefusalCounts(), PublishDenied: st.PublishDenied.Load(), SubscribeDenied: st.SubscribeDenied.Load(),
		WillsPublished: st.WillsPublished.Load(), StoreFailures: b.storeHealth.failures.Load(),
	}
}
