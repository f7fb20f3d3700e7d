package core

import (
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// This file is the core's side of the durable store (core/store): the
// conversions between core and store types and the writes each session
// transition makes. Only sessions that outlive their connection
// (session.persist: a store is configured and the expiry is above zero)
// touch the store; clean sessions and QoS 0 never do.
//
// Every write for one session happens under its mu, which serializes the
// writes to one store.Key as the store's contract asks. Writes are
// unsynced, except that a publish whose acknowledgement depends on them
// ends with one Store.Sync, made outside every lock so that concurrent
// publishers share the device flush (see durable and Broker.settle).

// durable collects what one publish wrote to the store.
type durable struct {
	sm    *store.Message // m converted once, shared by every queue entry
	dirty bool           // unsynced writes the acknowledgement depends on
	err   error
	wake  *Wakeups // defers the publish's Notify calls (WithWakeups)
}

func (d *durable) message(m *Message) *store.Message {
	if d.sm == nil {
		d.sm = toStoreMessage(m)
	}
	return d.sm
}

func (d *durable) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// settle makes the writes of one publish durable before the caller
// acknowledges it [issue 3: synced before PUBACK/PUBREC].
func (b *Broker) settle(d *durable) error {
	if d.err != nil {
		return d.err
	}
	if !d.dirty {
		return nil
	}
	if err := b.store.Sync(); err != nil {
		b.log.Error("store sync failed", "err", err)
		b.storeFailed(err)
		return err
	}
	return nil
}

// storeErr logs a failed unsynced write. Losing one costs at most a
// redelivery or a stale record that expiry removes.
func (s *session) storeErr(op string, err error) {
	if err != nil {
		s.b.log.Error("store write failed", "op", op, "client", s.key.ClientID, "err", err)
		s.b.storeFailed(err)
	}
}

func (k SessionKey) store() store.Key {
	return store.Key{Namespace: k.Namespace, ClientID: k.ClientID}
}

// appendLocked writes a QoS 1/2 message queued for a persistent session
// and returns its sequence number (0 when nothing was written).
func (s *session) appendLocked(q *queued, d *durable) uint64 {
	// QoS 0 is stored only when it is queued for an offline session
	// (sessions.queue_qos0), and never synced: nothing acknowledges it.
	qos0 := q.qos == 0
	if !s.persist || qos0 && (s.conn != nil || !s.b.cfg.QueueQoS0) {
		return 0
	}
	e := store.QueueEntry{Message: d.message(q.msg), QoS: q.qos, Retain: q.retain, SubscriptionIDs: q.subIDs, Key: q.key(),
		Latest: q.sub != nil && q.sub.queue == QueueLatest}
	seq, err := s.b.store.Queues().Append(s.key.store(), &e, false)
	if err != nil {
		s.storeErr("queue append", err)
		d.fail(err)
		return 0
	}
	if !qos0 {
		d.dirty = true
	}
	return seq
}

// removeLocked deletes a queue entry that left the session.
func (s *session) removeLocked(seq uint64) {
	if s.persist && seq != 0 {
		s.storeErr("queue remove", s.b.store.Queues().Remove(s.key.store(), seq))
	}
}

// putLocked writes the whole session record (on connect).
func (s *session) putLocked() {
	rec := &store.Session{
		Key:    s.key.store(),
		Expiry: s.expiry,
		Client: toStoreClient(&s.info),
		Will:   toStoreWill(s.will),
	}
	if len(s.subs) > 0 {
		rec.Subscriptions = make([]store.Subscription, 0, len(s.subs))
		for _, sub := range s.subs {
			rec.Subscriptions = append(rec.Subscriptions, sub.store())
		}
	}
	s.storeErr("session put", s.b.store.Sessions().Put(rec))
	s.storedWill = s.will
}

// deleteLocked removes the session and everything it owns from the store;
// the session writes nothing afterwards, and no longer refuses publishes.
func (s *session) deleteLocked() {
	if s.refuse.Swap(false) {
		s.b.refusers.Add(-1)
	}
	if !s.persist {
		return
	}
	s.storeErr("session delete", s.b.store.Sessions().Delete(s.key.store()))
	s.persist = false
	s.storedWill = nil
}

// persistWillLocked writes the will if it changed since last written.
func (s *session) persistWillLocked() {
	if !s.persist || s.storedWill == s.will {
		return
	}
	s.storeErr("set will", s.b.store.Sessions().SetWill(s.key.store(), toStoreWill(s.will)))
	s.storedWill = s.will
}

func toStoreMessage(m *Message) *store.Message {
	sm := &store.Message{
		Topic:           m.Topic,
		Payload:         m.Payload,
		QoS:             m.QoS,
		Retain:          m.Retain,
		PayloadFormat:   m.PayloadFormat,
		ContentType:     m.ContentType,
		ResponseTopic:   m.ResponseTopic,
		CorrelationData: m.CorrelationData,
		Expiry:          m.Expiry,
		Origin:          store.Origin(m.Origin),
	}
	if len(m.UserProperties) > 0 {
		sm.UserProperties = make([]store.UserProperty, len(m.UserProperties))
		for i, u := range m.UserProperties {
			sm.UserProperties[i] = store.UserProperty(u)
		}
	}
	return sm
}

func fromStoreMessage(sm *store.Message) *Message {
	m := &Message{
		Topic:           sm.Topic,
		Payload:         sm.Payload,
		QoS:             sm.QoS,
		Retain:          sm.Retain,
		PayloadFormat:   sm.PayloadFormat,
		ContentType:     sm.ContentType,
		ResponseTopic:   sm.ResponseTopic,
		CorrelationData: sm.CorrelationData,
		Expiry:          sm.Expiry,
		Origin:          Origin(sm.Origin),
	}
	if len(sm.UserProperties) > 0 {
		m.UserProperties = make([]UserProperty, len(sm.UserProperties))
		for i, u := range sm.UserProperties {
			m.UserProperties[i] = UserProperty(u)
		}
	}
	return m
}

func toStoreWill(w *Will) *store.Will {
	if w == nil {
		return nil
	}
	return &store.Will{Message: *toStoreMessage(w.Message), Delay: w.Delay, Expiry: w.Expiry}
}

func fromStoreWill(w *store.Will) *Will {
	if w == nil {
		return nil
	}
	return &Will{Message: fromStoreMessage(&w.Message), Delay: w.Delay, Expiry: w.Expiry}
}

// restoreQueuedLocked puts a queued entry read from the store back in the
// queue; of the entries written as a QueueLatest subscription's latest
// value, a later one replaces an earlier (a restart between the write of
// the newer and the removal of the older), and the older is counted
// dropped.
func (s *session) restoreQueuedLocked(q queued, latest bool) {
	sub := q.sub
	switch {
	case !latest || sub == nil || sub.queue != QueueLatest:
		s.queue.push(q)
	case sub.waiting:
		old := sub.latest
		s.queuedBytes -= old.msg.size()
		s.removeLocked(old.seq)
		s.drop(old.msg, DropSuperseded)
		sub.latest = q
	default:
		sub.latest, sub.waiting = q, true
		s.queue.push(queued{sub: sub, marker: true})
	}
	s.queuedBytes += q.msg.size()
}

func toStoreClient(i *ClientInfo) store.Client {
	return store.Client{Protocol: i.Protocol, Listener: i.Listener, Username: i.Username, CertCN: i.CertCN, Mountpoint: i.Mountpoint, Version: i.Version}
}

func fromStoreClient(k store.Key, c *store.Client) ClientInfo {
	return ClientInfo{
		Protocol: c.Protocol, Listener: c.Listener, Namespace: k.Namespace, ClientID: k.ClientID,
		Username: c.Username, CertCN: c.CertCN, Mountpoint: c.Mountpoint, Version: c.Version,
	}
}

// sessionRecord is what Restore reads for one session before building it:
// Range callbacks may not call the store, so queues are read afterwards.
type sessionRecord struct {
	rec     *store.Session
	entries []*store.QueueEntry
	inbound []uint16
}

// Restore loads the store's sessions (offline, with their subscriptions,
// queues, inflight windows and inbound QoS 2 ids), and retained messages,
// re-arms session expiry and will delay timers counted from when each
// session disconnected, and publishes wills whose delay or session passed
// while mqgate was down. Sessions that were connected when the process
// stopped count as disconnected now. Call it once, after NewBroker and
// before Start and the first Connect; without a store it does nothing.
func (b *Broker) Restore() error {
	if b.store == nil {
		return nil
	}
	st := b.store
	if err := b.restoreBans(); err != nil {
		return err
	}
	var recs []*sessionRecord
	if err := st.Sessions().Range(func(s *store.Session) bool {
		recs = append(recs, &sessionRecord{rec: s})
		return true
	}); err != nil {
		return err
	}
	for _, r := range recs {
		k := r.rec.Key
		if err := st.Queues().Range(k, func(e *store.QueueEntry) bool {
			r.entries = append(r.entries, e)
			return true
		}); err != nil {
			return err
		}
		ids, err := st.Inbound().List(k)
		if err != nil {
			return err
		}
		r.inbound = ids
	}
	if err := st.Retained().Range(func(m *store.Message) bool {
		b.retained.Set(m.Topic, fromStoreMessage(m))
		return true
	}); err != nil {
		return err
	}

	now := time.Now()
	type due struct {
		info ClientInfo
		will *Will
	}
	var wills []due
	b.regMu.Lock()
	for _, r := range recs {
		s, w, err := b.restoreSession(r, now)
		if err != nil {
			b.regMu.Unlock()
			return err
		}
		if w != nil {
			wills = append(wills, due{s.info, w})
		}
	}
	b.regMu.Unlock()
	for _, w := range wills {
		b.publishWill(w.info, w.will)
	}
	b.log.Info("store restored", "sessions", len(recs), "retained", b.retained.Len())
	return nil
}

// restoreSession builds one offline session from its record. It returns
// a will to publish now: its delay, or its session, elapsed while mqgate
// was down. A session past its expiry is deleted.
func (b *Broker) restoreSession(r *sessionRecord, now time.Time) (*session, *Will, error) {
	rec := r.rec
	key := SessionKey{rec.Key.Namespace, rec.Key.ClientID}
	s := newSession(b, key)
	s.info = fromStoreClient(rec.Key, &rec.Client)
	s.expiry = rec.Expiry
	s.will = fromStoreWill(rec.Will)
	s.storedWill = s.will
	s.persist = true
	s.window = b.cfg.MaxInflight
	s.mu.Lock()
	defer s.mu.Unlock()
	disc := rec.DisconnectedAt
	if disc.IsZero() {
		// The process stopped while the client was connected: its
		// connection ended now.
		disc = now
		s.storeErr("set expiry", b.store.Sessions().SetExpiry(rec.Key, rec.Expiry, disc))
	}
	if at, ok := (&store.Session{Expiry: rec.Expiry, DisconnectedAt: disc}).ExpiresAt(); ok && !now.Before(at) {
		// The session ended while mqgate was down [MQTT-3.1.2-8]: its will
		// is published now.
		will := s.takeWillLocked()
		s.deleteLocked()
		return s, will, nil
	}
	for i := range rec.Subscriptions {
		r := &rec.Subscriptions[i]
		sub := subscriptionFromStore(r)
		if s.subs == nil {
			s.subs = make(map[string]*subscription, len(rec.Subscriptions))
		}
		s.subs[r.ID()] = sub
		b.router.Subscribe(s, key.ClientID, sub.filter, sub.opts)
	}
	for _, e := range r.entries {
		q := queued{msg: fromStoreMessage(e.Message), qos: e.QoS, retain: e.Retain, subIDs: e.SubscriptionIDs, seq: e.Seq}
		if e.Key != "" {
			// The subscription of a Separate delivery; gone if it was
			// removed meanwhile, and the delivery loses its key.
			q.sub = s.subs[e.Key]
		}
		if e.PacketID != 0 {
			// Handed out before (it was requeued): DUP when sent again.
			q.handedOut = 1
		}
		if e.State == store.Queued {
			s.restoreQueuedLocked(q, e.Latest)
			continue
		}
		if _, dup := s.inflight[e.PacketID]; dup || e.PacketID == 0 {
			// Two entries cannot share a packet id; send the later one
			// again as new.
			s.queue.push(q)
			s.queuedBytes += q.msg.size()
			continue
		}
		q.handedOut = 1 // sent before the restart: DUP on resend
		om := &outMsg{queued: q, id: e.PacketID, state: outPublished}
		if e.State == store.Released {
			om.state = outReleased
		}
		s.openInflightLocked()
		s.inflight[om.id] = om
		s.order = append(s.order, om)
		s.nextID = om.id
	}
	for _, id := range r.inbound {
		s.addInboundLocked(id)
	}
	var will *Will
	gen := s.gen
	if s.will != nil && s.will.Delay < s.expiry {
		if left := disc.Add(s.will.Delay).Sub(now); left > 0 {
			s.willTimer = time.AfterFunc(left, func() { b.delayedWill(s, gen) })
		} else {
			will = s.takeWillLocked()
			s.persistWillLocked()
		}
	}
	if s.expiry != NeverExpire {
		left := disc.Add(s.expiry).Sub(now)
		s.expiryTimer = time.AfterFunc(left, func() { b.expire(s, gen) })
	}
	b.sessions.Put(key, s)
	return s, will, nil
}

// expireLoop removes what expired from the store in the background. The
// session timers delete expired sessions on time; this is the backstop
// for records they never saw, and removes expired retained messages.
func (b *Broker) expireLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.StoreExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			// One interval of grace leaves sessions whose timers are about
			// to fire, or that are resuming right now, to the core.
			st, err := b.store.Expire(time.Now().Add(-b.cfg.StoreExpireInterval))
			if err != nil {
				b.log.Error("store expiry failed", "err", err)
				b.storeFailed(err)
			} else if st.Sessions+st.Retained > 0 {
				b.log.Debug("store expired", "sessions", st.Sessions, "retained", st.Retained)
			}
		}
	}
}
