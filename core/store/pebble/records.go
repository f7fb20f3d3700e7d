package pebble

import (
	"bytes"
	"encoding/binary"
	"time"

	engine "github.com/cockroachdb/pebble/v2"

	"github.com/mqgate/mqgate/core/store"
)

type sessions struct{ s *Store }

func subscriptionKey(k store.Key, id string) []byte {
	return append(sessionPrefix(kindSubscription, k), id...)
}

func (v sessions) Put(rec *store.Session) error {
	b := v.s.db.NewBatch()
	defer b.Close()
	buf := v.s.getBuf()
	defer v.s.putBuf(buf)
	*buf = appendSession((*buf)[:0], rec)
	_ = b.Set(sessionPrefix(kindSession, rec.Key), *buf, nil)
	subs := sessionPrefix(kindSubscription, rec.Key)
	_ = b.DeleteRange(subs, prefixEnd(subs), nil)
	for i := range rec.Subscriptions {
		sub := &rec.Subscriptions[i]
		*buf = appendSubscription((*buf)[:0], sub)
		_ = b.Set(subscriptionKey(rec.Key, sub.ID()), *buf, nil)
	}
	return v.s.err(b.Commit(engine.NoSync))
}

func (v sessions) Get(k store.Key) (*store.Session, error) {
	key := sessionPrefix(kindSession, k)
	val, err := v.s.get(key)
	if err != nil {
		return nil, err
	}
	rec := &store.Session{Key: k}
	if !decodeSession(val, rec) {
		return nil, v.s.corrupt(key)
	}
	prefix := sessionPrefix(kindSubscription, k)
	err = v.s.scan(prefix, nil, func(key, val []byte) (bool, error) {
		var sub store.Subscription
		if !decodeSubscription(string(key[len(prefix):]), val, &sub) {
			return false, v.s.corrupt(key)
		}
		rec.Subscriptions = append(rec.Subscriptions, sub)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// update rewrites k's record with fn applied.
func (v sessions) update(k store.Key, fn func(*store.Session)) error {
	key := sessionPrefix(kindSession, k)
	val, err := v.s.get(key)
	if err != nil {
		return err
	}
	rec := &store.Session{Key: k}
	if !decodeSession(val, rec) {
		return v.s.corrupt(key)
	}
	fn(rec)
	return v.s.set(key, func(b []byte) []byte { return appendSession(b, rec) }, engine.NoSync)
}

func (v sessions) SetExpiry(k store.Key, expiry time.Duration, disconnectedAt time.Time) error {
	return v.update(k, func(rec *store.Session) { rec.Expiry, rec.DisconnectedAt = expiry, disconnectedAt })
}

func (v sessions) SetWill(k store.Key, w *store.Will) error {
	return v.update(k, func(rec *store.Session) { rec.Will = w })
}

func (v sessions) SetSubscription(k store.Key, sub store.Subscription) error {
	if err := v.s.exists(sessionPrefix(kindSession, k)); err != nil {
		return err
	}
	return v.s.set(subscriptionKey(k, sub.ID()), func(b []byte) []byte { return appendSubscription(b, &sub) }, engine.NoSync)
}

func (v sessions) DeleteSubscription(k store.Key, id string) error {
	return v.s.err(v.s.db.Delete(subscriptionKey(k, id), engine.NoSync))
}

func (v sessions) Delete(k store.Key) error { return v.s.deleteSession(k) }

// deleteSession removes k's record and every key range k owns in one
// batch.
func (s *Store) deleteSession(k store.Key) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(sessionPrefix(kindSession, k), nil)
	for _, kind := range []byte{kindSubscription, kindQueue, kindInflight, kindInbound} {
		p := sessionPrefix(kind, k)
		_ = b.DeleteRange(p, prefixEnd(p), nil)
	}
	return s.err(b.Commit(engine.NoSync))
}

// Range merges the session records with the subscription records: both
// are ordered by the session key's encoding, so one pass over each does.
func (v sessions) Range(fn func(*store.Session) bool) error {
	subPrefix := []byte{kindSubscription}
	subs, err := v.s.db.NewIter(&engine.IterOptions{LowerBound: subPrefix, UpperBound: prefixEnd(subPrefix)})
	if err != nil {
		return v.s.err(err)
	}
	defer subs.Close()
	subOK := subs.First()
	err = v.s.scan([]byte{kindSession}, nil, func(key, val []byte) (bool, error) {
		k, n, ok := parseSessionKey(key)
		if !ok {
			return false, v.s.corrupt(key)
		}
		rec := &store.Session{Key: k}
		if !decodeSession(append([]byte(nil), val...), rec) {
			return false, v.s.corrupt(key)
		}
		enc := key[1 : 1+n]
		for ; subOK; subOK = subs.Next() {
			sk := subs.Key()
			_, sn, ok := parseSessionKey(sk)
			if !ok {
				return false, v.s.corrupt(sk)
			}
			c := bytes.Compare(sk[1:1+sn], enc)
			if c > 0 {
				break
			}
			if c < 0 {
				continue // subscriptions of no session
			}
			sval, err := subs.ValueAndErr()
			if err != nil {
				return false, v.s.err(err)
			}
			var sub store.Subscription
			if !decodeSubscription(string(sk[1+sn:]), sval, &sub) {
				return false, v.s.corrupt(sk)
			}
			rec.Subscriptions = append(rec.Subscriptions, sub)
		}
		return fn(rec), nil
	})
	if err != nil {
		return err
	}
	return v.s.err(subs.Error())
}

type queues struct{ s *Store }

func (v queues) Append(k store.Key, e *store.QueueEntry, sync bool) (uint64, error) {
	seq, err := v.s.seq()
	if err != nil {
		return 0, err
	}
	err = v.s.set(seqKey(kindQueue, k, seq), func(b []byte) []byte { return appendEntry(b, e) }, v.s.writeOpts(sync))
	if err != nil {
		return 0, err
	}
	e.Seq = seq
	return seq, nil
}

func (v queues) MarkInflight(k store.Key, seq uint64, packetID uint16) error {
	if err := v.s.exists(seqKey(kindQueue, k, seq)); err != nil {
		return err
	}
	return v.s.set(seqKey(kindInflight, k, seq), func(b []byte) []byte {
		return appendInflight(b, packetID, store.Published)
	}, engine.NoSync)
}

func (v queues) SetState(k store.Key, seq uint64, st store.DeliveryState) error {
	fkey := seqKey(kindInflight, k, seq)
	val, err := v.s.get(fkey)
	var id uint16
	switch {
	case err == nil:
		var ok bool
		if id, _, ok = decodeInflight(val); !ok {
			return v.s.corrupt(fkey)
		}
	case err == store.ErrNotFound:
		// Not marked inflight: the entry itself must exist.
		if err := v.s.exists(seqKey(kindQueue, k, seq)); err != nil {
			return err
		}
	default:
		return err
	}
	return v.s.set(fkey, func(b []byte) []byte { return appendInflight(b, id, st) }, engine.NoSync)
}

func (v queues) Remove(k store.Key, seq uint64) error {
	b := v.s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(seqKey(kindQueue, k, seq), nil)
	_ = b.Delete(seqKey(kindInflight, k, seq), nil)
	return v.s.err(b.Commit(engine.NoSync))
}

// Range merges the queue entries with their inflight states; both are
// ordered by sequence number.
func (v queues) Range(k store.Key, fn func(*store.QueueEntry) bool) error {
	fprefix := sessionPrefix(kindInflight, k)
	flight, err := v.s.db.NewIter(&engine.IterOptions{LowerBound: fprefix, UpperBound: prefixEnd(fprefix)})
	if err != nil {
		return v.s.err(err)
	}
	defer flight.Close()
	fOK := flight.First()
	qprefix := sessionPrefix(kindQueue, k)
	err = v.s.scan(qprefix, nil, func(key, val []byte) (bool, error) {
		if len(key) != len(qprefix)+8 {
			return false, v.s.corrupt(key)
		}
		e := &store.QueueEntry{Seq: beUint64(key[len(qprefix):])}
		// One copy of the value; the message's fields share it.
		if !decodeEntry(append([]byte(nil), val...), e) {
			return false, v.s.corrupt(key)
		}
		for ; fOK; fOK = flight.Next() {
			fk := flight.Key()
			if len(fk) != len(fprefix)+8 {
				return false, v.s.corrupt(fk)
			}
			fseq := beUint64(fk[len(fprefix):])
			if fseq > e.Seq {
				break
			}
			if fseq < e.Seq {
				continue
			}
			fval, err := flight.ValueAndErr()
			if err != nil {
				return false, v.s.err(err)
			}
			var ok bool
			if e.PacketID, e.State, ok = decodeInflight(fval); !ok {
				return false, v.s.corrupt(fk)
			}
		}
		return fn(e), nil
	})
	if err != nil {
		return err
	}
	return v.s.err(flight.Error())
}

func (v queues) Clear(k store.Key) error {
	b := v.s.db.NewBatch()
	defer b.Close()
	for _, kind := range []byte{kindQueue, kindInflight} {
		p := sessionPrefix(kind, k)
		_ = b.DeleteRange(p, prefixEnd(p), nil)
	}
	return v.s.err(b.Commit(engine.NoSync))
}

type inbound struct{ s *Store }

func inboundKey(k store.Key, id uint16) []byte {
	return binary.BigEndian.AppendUint16(sessionPrefix(kindInbound, k), id)
}

func (v inbound) Add(k store.Key, packetID uint16, sync bool) error {
	return v.s.err(v.s.db.Set(inboundKey(k, packetID), nil, v.s.writeOpts(sync)))
}

func (v inbound) Remove(k store.Key, packetID uint16) error {
	return v.s.err(v.s.db.Delete(inboundKey(k, packetID), engine.NoSync))
}

func (v inbound) List(k store.Key) ([]uint16, error) {
	prefix := sessionPrefix(kindInbound, k)
	var ids []uint16
	err := v.s.scan(prefix, nil, func(key, _ []byte) (bool, error) {
		if len(key) != len(prefix)+2 {
			return false, v.s.corrupt(key)
		}
		ids = append(ids, binary.BigEndian.Uint16(key[len(prefix):]))
		return true, nil
	})
	return ids, err
}

type retained struct{ s *Store }

func retainedKey(topic string) []byte { return append([]byte{kindRetained}, topic...) }

func expiryKey(dl uint64, topic string) []byte {
	return append(appendSeq([]byte{kindRetainExpiry}, dl), topic...)
}

// Set replaces the message and moves its expiry index entry. Expire checks
// the index against the value, so an index entry left behind by a race
// between two Sets of one topic only costs a lookup.
func (v retained) Set(m *store.Message, sync bool) error {
	key := retainedKey(m.Topic)
	b := v.s.db.NewBatch()
	defer b.Close()
	old, err := v.s.get(key)
	switch {
	case err == nil:
		if dl := retainedDeadline(old); dl != 0 {
			_ = b.Delete(expiryKey(dl, m.Topic), nil)
		}
	case err != store.ErrNotFound:
		return err
	}
	buf := v.s.getBuf()
	defer v.s.putBuf(buf)
	*buf = appendRetained((*buf)[:0], m)
	_ = b.Set(key, *buf, nil)
	if dl := deadline(m.Expiry); dl != 0 {
		_ = b.Set(expiryKey(dl, m.Topic), nil, nil)
	}
	return v.s.err(b.Commit(v.s.writeOpts(sync)))
}

func (v retained) Get(topic string) (*store.Message, error) {
	key := retainedKey(topic)
	val, err := v.s.get(key)
	if err != nil {
		return nil, err
	}
	m, ok := decodeRetained(val)
	if !ok {
		return nil, v.s.corrupt(key)
	}
	return m, nil
}

// Delete leaves the expiry index entry: Expire drops it at its deadline.
func (v retained) Delete(topic string) error {
	return v.s.err(v.s.db.Delete(retainedKey(topic), engine.NoSync))
}

func (v retained) Range(fn func(*store.Message) bool) error {
	return v.s.scan([]byte{kindRetained}, nil, func(key, val []byte) (bool, error) {
		m, ok := decodeRetained(append([]byte(nil), val...))
		if !ok {
			return false, v.s.corrupt(key)
		}
		return fn(m), nil
	})
}

type outbox struct{ s *Store }

func (v outbox) Append(bridge string, m *store.Message, sync bool) (uint64, error) {
	seq, err := v.s.seq()
	if err != nil {
		return 0, err
	}
	key := appendSeq(outboxPrefix(bridge), seq)
	err = v.s.set(key, func(b []byte) []byte { return appendOutbox(b, m) }, v.s.writeOpts(sync))
	if err != nil {
		return 0, err
	}
	return seq, nil
}

func (v outbox) Peek(bridge string, from uint64, max int) ([]store.OutboxEntry, error) {
	if max <= 0 {
		return nil, nil
	}
	prefix := outboxPrefix(bridge)
	var out []store.OutboxEntry
	err := v.s.scan(prefix, appendSeq(bytes.Clone(prefix), from), func(key, val []byte) (bool, error) {
		if len(key) != len(prefix)+8 {
			return false, v.s.corrupt(key)
		}
		m, ok := decodeOutbox(append([]byte(nil), val...))
		if !ok {
			return false, v.s.corrupt(key)
		}
		out = append(out, store.OutboxEntry{Seq: beUint64(key[len(prefix):]), Message: m})
		return len(out) < max, nil
	})
	return out, err
}

func (v outbox) DeleteUpTo(bridge string, seq uint64) error {
	b := v.s.db.NewBatch()
	defer b.Close()
	for _, prefix := range [][]byte{outboxPrefix(bridge), outboxStatePrefix(bridge)} {
		end := prefixEnd(prefix)
		if seq < 1<<64-1 {
			end = appendSeq(bytes.Clone(prefix), seq+1)
		}
		_ = b.DeleteRange(prefix, end, nil)
	}
	return v.s.err(b.Commit(engine.NoSync))
}

func (v outbox) Delete(bridge string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	b := v.s.db.NewBatch()
	defer b.Close()
	for _, prefix := range [][]byte{outboxPrefix(bridge), outboxStatePrefix(bridge)} {
		for _, seq := range seqs {
			_ = b.Delete(appendSeq(bytes.Clone(prefix), seq), nil)
		}
	}
	return v.s.err(b.Commit(engine.NoSync))
}

func (v outbox) SetDelivery(bridge string, d store.OutboxDelivery, sync bool) error {
	key := appendSeq(outboxStatePrefix(bridge), d.Seq)
	if d.State == store.Queued {
		return v.s.err(v.s.db.Delete(key, v.s.writeOpts(sync)))
	}
	return v.s.set(key, func(b []byte) []byte { return appendInflight(b, d.PacketID, d.State) }, v.s.writeOpts(sync))
}

func (v outbox) Deliveries(bridge string) ([]store.OutboxDelivery, error) {
	prefix := outboxStatePrefix(bridge)
	var out []store.OutboxDelivery
	err := v.s.scan(prefix, prefix, func(key, val []byte) (bool, error) {
		id, st, ok := decodeInflight(val)
		if !ok || len(key) != len(prefix)+8 {
			return false, v.s.corrupt(key)
		}
		out = append(out, store.OutboxDelivery{Seq: beUint64(key[len(prefix):]), PacketID: id, State: st})
		return true, nil
	})
	return out, err
}
