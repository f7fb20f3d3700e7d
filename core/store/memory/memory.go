// Package memory is a store.Store that keeps everything in maps under one
// mutex. It is for tests and for users who ask for no disk: nothing
// survives the process.
package memory

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call
// New.
type Store struct {
	mu       sync.Mutex
	seq      uint64
	sessions map[store.Key]*session
	queues   map[store.Key][]store.QueueEntry // ascending Seq
	inbound  map[store.Key]map[uint16]struct{}
	retained map[string]*store.Message
	outbox   map[string][]store.OutboxEntry // ascending Seq
	obState  map[string]map[uint64]store.OutboxDelivery
	bans     map[[2]string]store.Ban
}

type session struct {
	rec  store.Session // Subscriptions unused; see subs
	subs map[string]store.Subscription
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		sessions: make(map[store.Key]*session),
		queues:   make(map[store.Key][]store.QueueEntry),
		inbound:  make(map[store.Key]map[uint16]struct{}),
		retained: make(map[string]*store.Message),
		outbox:   make(map[string][]store.OutboxEntry),
		obState:  make(map[string]map[uint64]store.OutboxDelivery),
	}
}

func (s *Store) Sessions() store.Sessions { return sessions{s} }
func (s *Store) Queues() store.Queues     { return queues{s} }
func (s *Store) Inbound() store.Inbound   { return inbound{s} }
func (s *Store) Retained() store.Retained { return retained{s} }
func (s *Store) Outbox() store.Outbox     { return outbox{s} }

// Sync does nothing: memory is as durable as it gets.
func (s *Store) Sync() error { return nil }

// Close does nothing; the store stays usable for tests that inspect it.
func (s *Store) Close() error { return nil }

// Expire implements store.Store.
func (s *Store) Expire(now time.Time) (store.ExpireStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.ExpireStats
	for k, ss := range s.sessions {
		if at, ok := ss.rec.ExpiresAt(); ok && !now.Before(at) {
			s.deleteSessionLocked(k)
			st.Sessions++
		}
	}
	for t, m := range s.retained {
		if m.Expired(now) {
			delete(s.retained, t)
			st.Retained++
		}
	}
	return st, nil
}

func (s *Store) deleteSessionLocked(k store.Key) {
	delete(s.sessions, k)
	delete(s.queues, k)
	delete(s.inbound, k)
}

func (s *Store) nextSeqLocked() uint64 {
	s.seq++
	return s.seq
}

type sessions struct{ s *Store }

func (v sessions) Put(rec *store.Session) error {
	ss := &session{rec: *rec}
	ss.rec.Subscriptions = nil
	ss.rec.Will = cloneWill(rec.Will)
	if len(rec.Subscriptions) > 0 {
		ss.subs = make(map[string]store.Subscription, len(rec.Subscriptions))
		for _, sub := range rec.Subscriptions {
			ss.subs[sub.ID()] = sub
		}
	}
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.sessions[rec.Key] = ss
	return nil
}

func (v sessions) Get(k store.Key) (*store.Session, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	ss := v.s.sessions[k]
	if ss == nil {
		return nil, store.ErrNotFound
	}
	return ss.export(), nil
}

func (ss *session) export() *store.Session {
	rec := ss.rec
	rec.Will = cloneWill(ss.rec.Will)
	if len(ss.subs) > 0 {
		rec.Subscriptions = make([]store.Subscription, 0, len(ss.subs))
		for _, sub := range ss.subs {
			rec.Subscriptions = append(rec.Subscriptions, sub)
		}
		sort.Slice(rec.Subscriptions, func(i, j int) bool {
			return rec.Subscriptions[i].ID() < rec.Subscriptions[j].ID()
		})
	}
	return &rec
}

func cloneWill(w *store.Will) *store.Will {
	if w == nil {
		return nil
	}
	c := *w
	return &c
}

func (v sessions) SetExpiry(k store.Key, expiry time.Duration, disconnectedAt time.Time) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	ss := v.s.sessions[k]
	if ss == nil {
		return store.ErrNotFound
	}
	ss.rec.Expiry, ss.rec.DisconnectedAt = expiry, disconnectedAt
	return nil
}

func (v sessions) SetWill(k store.Key, w *store.Will) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	ss := v.s.sessions[k]
	if ss == nil {
		return store.ErrNotFound
	}
	ss.rec.Will = cloneWill(w)
	return nil
}

func (v sessions) SetSubscription(k store.Key, sub store.Subscription) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	ss := v.s.sessions[k]
	if ss == nil {
		return store.ErrNotFound
	}
	if ss.subs == nil {
		ss.subs = make(map[string]store.Subscription)
	}
	ss.subs[sub.ID()] = sub
	return nil
}

func (v sessions) DeleteSubscription(k store.Key, id string) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if ss := v.s.sessions[k]; ss != nil {
		delete(ss.subs, id)
	}
	return nil
}

func (v sessions) Delete(k store.Key) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.deleteSessionLocked(k)
	return nil
}

func (v sessions) Range(fn func(*store.Session) bool) error {
	v.s.mu.Lock()
	all := make([]*store.Session, 0, len(v.s.sessions))
	for _, ss := range v.s.sessions {
		all = append(all, ss.export())
	}
	v.s.mu.Unlock()
	for _, rec := range all {
		if !fn(rec) {
			break
		}
	}
	return nil
}

type queues struct{ s *Store }

func (v queues) Append(k store.Key, e *store.QueueEntry, _ bool) (uint64, error) {
	c := *e
	c.SubscriptionIDs = slices.Clone(e.SubscriptionIDs)
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	c.Seq = v.s.nextSeqLocked()
	e.Seq = c.Seq
	v.s.queues[k] = append(v.s.queues[k], c)
	return c.Seq, nil
}

// findLocked returns the index of entry seq in q, or -1.
func findLocked(q []store.QueueEntry, seq uint64) int {
	i, ok := slices.BinarySearchFunc(q, seq, func(e store.QueueEntry, seq uint64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

func (v queues) MarkInflight(k store.Key, seq uint64, packetID uint16) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.queues[k]
	i := findLocked(q, seq)
	if i < 0 {
		return store.ErrNotFound
	}
	q[i].PacketID, q[i].State = packetID, store.Published
	return nil
}

func (v queues) SetState(k store.Key, seq uint64, st store.DeliveryState) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.queues[k]
	i := findLocked(q, seq)
	if i < 0 {
		return store.ErrNotFound
	}
	q[i].State = st
	return nil
}

func (v queues) Remove(k store.Key, seq uint64) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.queues[k]
	i := findLocked(q, seq)
	if i < 0 {
		return nil
	}
	q = slices.Delete(q, i, i+1)
	if len(q) == 0 {
		delete(v.s.queues, k)
	} else {
		v.s.queues[k] = q
	}
	return nil
}

func (v queues) Range(k store.Key, fn func(*store.QueueEntry) bool) error {
	v.s.mu.Lock()
	q := slices.Clone(v.s.queues[k])
	v.s.mu.Unlock()
	for i := range q {
		e := q[i]
		e.SubscriptionIDs = slices.Clone(e.SubscriptionIDs)
		if !fn(&e) {
			break
		}
	}
	return nil
}

func (v queues) Clear(k store.Key) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	delete(v.s.queues, k)
	return nil
}

type inbound struct{ s *Store }

// Add does not need a session record, like the durable store: the core
// may record inbound state before it persists the session.
func (v inbound) Add(k store.Key, packetID uint16, _ bool) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	in := v.s.inbound[k]
	if in == nil {
		in = make(map[uint16]struct{})
		v.s.inbound[k] = in
	}
	in[packetID] = struct{}{}
	return nil
}

func (v inbound) Remove(k store.Key, packetID uint16) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if in := v.s.inbound[k]; in != nil {
		delete(in, packetID)
		if len(in) == 0 {
			delete(v.s.inbound, k)
		}
	}
	return nil
}

func (v inbound) List(k store.Key) ([]uint16, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	in := v.s.inbound[k]
	if len(in) == 0 {
		return nil, nil
	}
	ids := make([]uint16, 0, len(in))
	for id := range in {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

type retained struct{ s *Store }

func (v retained) Set(m *store.Message, _ bool) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.retained[m.Topic] = m
	return nil
}

func (v retained) Get(topic string) (*store.Message, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	m := v.s.retained[topic]
	if m == nil {
		return nil, store.ErrNotFound
	}
	return m, nil
}

func (v retained) Delete(topic string) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	delete(v.s.retained, topic)
	return nil
}

func (v retained) Range(fn func(*store.Message) bool) error {
	v.s.mu.Lock()
	all := make([]*store.Message, 0, len(v.s.retained))
	for _, m := range v.s.retained {
		all = append(all, m)
	}
	v.s.mu.Unlock()
	slices.SortFunc(all, func(a, b *store.Message) int { return strings.Compare(a.Topic, b.Topic) })
	for _, m := range all {
		if !fn(m) {
			break
		}
	}
	return nil
}

type outbox struct{ s *Store }

func (v outbox) Append(bridge string, m *store.Message, _ bool) (uint64, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	seq := v.s.nextSeqLocked()
	v.s.outbox[bridge] = append(v.s.outbox[bridge], store.OutboxEntry{Seq: seq, Message: m})
	return seq, nil
}

func (v outbox) Peek(bridge string, from uint64, max int) ([]store.OutboxEntry, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.outbox[bridge]
	i := sort.Search(len(q), func(i int) bool { return q[i].Seq >= from })
	q = q[i:]
	if max >= 0 && len(q) > max {
		q = q[:max]
	}
	if len(q) == 0 {
		return nil, nil
	}
	return slices.Clone(q), nil
}

func (v outbox) DeleteUpTo(bridge string, seq uint64) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.outbox[bridge]
	i := sort.Search(len(q), func(i int) bool { return q[i].Seq > seq })
	v.s.setOutboxLocked(bridge, slices.Delete(q, 0, i))
	for s := range v.s.obState[bridge] {
		if s <= seq {
			delete(v.s.obState[bridge], s)
		}
	}
	return nil
}

func (v outbox) Delete(bridge string, seqs ...uint64) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	q := v.s.outbox[bridge]
	q = slices.DeleteFunc(q, func(e store.OutboxEntry) bool { return slices.Contains(seqs, e.Seq) })
	v.s.setOutboxLocked(bridge, q)
	for _, s := range seqs {
		delete(v.s.obState[bridge], s)
	}
	return nil
}

func (v outbox) SetDelivery(bridge string, d store.OutboxDelivery, _ bool) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	m := v.s.obState[bridge]
	if d.State == store.Queued {
		delete(m, d.Seq)
		if len(m) == 0 {
			delete(v.s.obState, bridge)
		}
		return nil
	}
	if m == nil {
		m = map[uint64]store.OutboxDelivery{}
		v.s.obState[bridge] = m
	}
	m[d.Seq] = d
	return nil
}

func (v outbox) Deliveries(bridge string) ([]store.OutboxDelivery, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	var out []store.OutboxDelivery
	for _, d := range v.s.obState[bridge] {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b store.OutboxDelivery) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

func (s *Store) setOutboxLocked(bridge string, q []store.OutboxEntry) {
	if len(q) == 0 {
		delete(s.outbox, bridge)
	} else {
		s.outbox[bridge] = q
	}
}
