package bridge

import (
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// outbox is one bridge's durable queue in the store, with the count and
// bytes it holds kept in memory so that the limits are checked without
// reading the store. Appends come from the local loop, deletes from the
// sender; both take mu.
type outbox struct {
	st       store.Store
	name     string
	maxCount int
	maxBytes int64
	dropOld  bool
	refuse   bool // a full outbox refuses (errOutboxFull) rather than drops
	log      *slog.Logger
	// now reads the wall clock, which message expiry deadlines are
	// stamped in; elapsed reads the monotonic time since the outbox
	// opened, which ages and expiry are measured in. Tests step them.
	now     func() time.Time
	elapsed func() time.Duration

	mu    sync.Mutex
	ents  []entryInfo // in Seq order; deleted ones stay until they reach the front
	count int
	bytes int64
	drops int64
	// quarantined counts records the store could not read (storeRead).
	quarantined int64
	// Acknowledged entries leave the store in batches, by DeleteUpTo below
	// the oldest entry still waiting: deleting them one by one costs a
	// store (the memory one above all) far more. Until then peek skips
	// them; after a crash they are sent again (at least once).
	lastSeq   uint64 // highest Seq appended or loaded
	unflushed int    // removals not yet deleted from the store
	// space is signalled when an entry leaves, for a local loop waiting
	// on a full outbox under the refuse policy.
	space chan struct{}
}

// errOutboxFull is append's answer for a full outbox under the refuse
// policy: the message stays where it came from.
var errOutboxFull = errors.New("outbox full")

// flushEvery is how many acknowledged entries may wait for deletion.
const flushEvery = 256

// entryInfo is what the outbox keeps in memory per stored message: 32
// bytes, 32 MB at the default limit of a million messages.
type entryInfo struct {
	seq uint64
	// at is when it was appended, or loaded after a restart, in
	// nanoseconds of the monotonic clock since the outbox opened, so a
	// step of the wall clock does not change its age.
	at int64
	// ttl is the message's expiry left at that moment (its stored
	// Expiry minus the wall clock then), in nanoseconds; 0: it never
	// expires; below zero: it had expired already. Expiry is
	// decided by the entry's monotonic age against ttl, so a step of the
	// wall clock while it waits neither expires it early nor keeps it
	// too long (checklist #26). After a restart ttl is taken against the
	// clock then: a restart with a wrong clock is the case left.
	ttl  int64
	size int32
	gone bool
}

// ttlOf is what is left of m's expiry at wall time now, as entryInfo.ttl.
func ttlOf(m *store.Message, now time.Time) int64 {
	if m.Expiry.IsZero() {
		return 0
	}
	if left := m.Expiry.Sub(now); left > 0 {
		return int64(left)
	}
	return -1
}

// msgSize is the size a message is charged against max_bytes.
func msgSize(m *store.Message) int32 {
	n := len(m.Topic) + len(m.Payload) + len(m.ContentType) + len(m.ResponseTopic) + len(m.CorrelationData) + 32
	for _, u := range m.UserProperties {
		n += len(u.Key) + len(u.Value)
	}
	return int32(n)
}

// openOutbox loads the accounting of what the store already holds; a
// record the store cannot read is quarantined (storeRead), not a reason
// to leave the bridge, and so the gateway, unstarted.
func openOutbox(st store.Store, name string, maxCount int, maxBytes int64, dropOld, refuse bool, log *slog.Logger) (*outbox, error) {
	opened := time.Now()
	o := &outbox{st: st, name: name, maxCount: maxCount, maxBytes: maxBytes, dropOld: dropOld && !refuse, refuse: refuse,
		log: log, space: make(chan struct{}, 1),
		now: time.Now, elapsed: func() time.Duration { return time.Since(opened) }}
	return o, o.load()
}

// load reads the accounting of what the store holds; ttls are taken
// against the clock now, ages start now.
func (o *outbox) load() error {
	now, at := o.now(), int64(o.elapsed())
	from := uint64(0)
	for {
		es, err := o.storeRead(from, 1024)
		if err != nil {
			return err
		}
		for _, e := range es {
			sz := msgSize(e.Message)
			o.ents = append(o.ents, entryInfo{seq: e.Seq, size: sz, at: at, ttl: ttlOf(e.Message, now)})
			o.count++
			o.bytes += int64(sz)
			from = e.Seq + 1
			o.lastSeq = e.Seq
		}
		if len(es) < 1024 {
			return nil
		}
	}
}

// append adds m unsynced; the caller syncs the store before settling the
// local delivery. A full outbox drops the oldest messages, or m itself
// under drop_newest (appended is false then), or refuses m with
// errOutboxFull under refuse.
func (o *outbox) append(m *store.Message) (appended bool, err error) {
	sz := msgSize(m)
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.count >= o.maxCount || o.bytes+int64(sz) > o.maxBytes {
		if o.refuse && o.count > 0 {
			return false, errOutboxFull
		}
		if !o.dropOld || o.count == 0 {
			o.drops++
			return false, nil
		}
		e := o.frontLocked()
		// Everything below the front is gone already.
		if err := o.st.Outbox().DeleteUpTo(o.name, e.seq); err != nil {
			return false, err
		}
		o.goneLocked(e.seq)
		o.drops++
	}
	// The ttl and the age start at the same instant.
	now, at := o.now(), int64(o.elapsed())
	seq, err := o.st.Outbox().Append(o.name, m, false)
	if err != nil {
		return false, err
	}
	o.ents = append(o.ents, entryInfo{seq: seq, size: sz, at: at, ttl: ttlOf(m, now)})
	o.lastSeq = seq
	o.count++
	o.bytes += int64(sz)
	return true, nil
}

// frontLocked returns the oldest entry still stored; count > 0.
func (o *outbox) frontLocked() *entryInfo {
	for o.ents[0].gone {
		o.ents = o.ents[1:]
	}
	return &o.ents[0]
}

// findLocked returns the index of seq in ents.
func (o *outbox) findLocked(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(o.ents, seq, func(e entryInfo, s uint64) int {
		switch {
		case e.seq < s:
			return -1
		case e.seq > s:
			return 1
		}
		return 0
	})
}

// goneLocked marks seq deleted and reports whether it was still counted.
func (o *outbox) goneLocked(seq uint64) bool {
	i, ok := o.findLocked(seq)
	if !ok || o.ents[i].gone {
		return false
	}
	o.ents[i].gone = true
	o.count--
	o.bytes -= int64(o.ents[i].size)
	select {
	case o.space <- struct{}{}:
	default:
	}
	for len(o.ents) > 0 && o.ents[0].gone {
		o.ents = o.ents[1:]
	}
	if len(o.ents) == 0 {
		o.ents = nil // let the backing array go
	}
	return true
}

// forgetDeliveries clears the QoS 2 delivery records of the first n
// entries still waiting (session.go).
func (o *outbox) forgetDeliveries(n int) error {
	o.mu.Lock()
	seqs := make([]uint64, 0, min(n, len(o.ents)))
	for _, e := range o.ents[:min(n, len(o.ents))] {
		seqs = append(seqs, e.seq)
	}
	o.mu.Unlock()
	for _, seq := range seqs {
		if err := o.st.Outbox().SetDelivery(o.name, store.OutboxDelivery{Seq: seq, State: store.Queued}, false); err != nil {
			return err
		}
	}
	return o.st.Sync()
}

// has reports whether entry seq is still waiting.
func (o *outbox) has(seq uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	i, ok := o.findLocked(seq)
	return ok && !o.ents[i].gone
}

// remove deletes seq once the upstream acknowledged it (or refused it);
// the store deletion may wait for a later flush.
func (o *outbox) remove(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.goneLocked(seq) {
		return nil
	}
	if o.unflushed++; o.unflushed >= flushEvery {
		return o.flushLocked()
	}
	return nil
}

// flush deletes from the store what was removed below the oldest entry
// still waiting.
func (o *outbox) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *outbox) flushLocked() error {
	if o.unflushed == 0 {
		return nil
	}
	upTo := o.lastSeq
	if len(o.ents) > 0 {
		if o.ents[0].seq == 0 {
			return nil
		}
		upTo = o.ents[0].seq - 1
	}
	o.unflushed = 0
	return o.st.Outbox().DeleteUpTo(o.name, upTo)
}

// countDrop counts a message dropped on its way to the outbox.
func (o *outbox) countDrop() {
	o.mu.Lock()
	o.drops++
	o.mu.Unlock()
}

// peek returns up to max entries still waiting from seq on, and the seq
// to peek from next; no entries means none are left.
func (o *outbox) peek(from uint64, max int) ([]store.OutboxEntry, uint64, error) {
	for {
		es, err := o.storeRead(from, max)
		if err != nil || len(es) == 0 {
			return nil, from, err
		}
		next := es[len(es)-1].Seq + 1
		o.mu.Lock()
		kept := es[:0]
		for _, e := range es {
			if i, ok := o.findLocked(e.Seq); ok && !o.ents[i].gone {
				kept = append(kept, e)
			}
		}
		o.mu.Unlock()
		if len(kept) > 0 {
			return kept, next, nil
		}
		from = next
	}
}

// forwardable returns e as it is to be sent now: a message with an expiry
// gets, in a copy, an Expiry as far from the wall clock as its ttl minus
// its monotonic age; ok is false when that is nothing: it expired (a
// QoS 2 PUBLISH in flight is resent all the same, with what MQTT 5 can
// say of the least expiry, one second).
func (o *outbox) forwardable(e store.OutboxEntry) (_ store.OutboxEntry, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i, found := o.findLocked(e.Seq)
	if !found || o.ents[i].ttl == 0 {
		return e, true
	}
	ttl := o.ents[i].ttl
	left := time.Duration(ttl) - (o.elapsed() - time.Duration(o.ents[i].at))
	m := *e.Message
	// The encoder reads this deadline against time.Now (toPaho5).
	m.Expiry = time.Now().Add(max(left, 0))
	e.Message = &m
	return e, left > 0
}

// outboxStats is the outbox's state for the bridge's status.
type outboxStats struct {
	Count       int
	Bytes       int64
	Drops       int64
	Quarantined int64
	OldestAge   time.Duration
}

func (o *outbox) stats() outboxStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := outboxStats{Count: o.count, Bytes: o.bytes, Drops: o.drops, Quarantined: o.quarantined}
	if o.count > 0 {
		s.OldestAge = o.elapsed() - time.Duration(o.frontLocked().at)
	}
	return s
}

// storeRead peeks the store's outbox. A record that fails to decode (a
// power cut in the middle of its write, a damaged disk) makes every read
// over it fail: rather than stall the bridge behind it forever, or keep
// the gateway from starting, storeRead finds that one record, logs it,
// deletes it and counts it quarantined (checklist #3). A read that fails
// for any other reason (no single record to blame) returns its error.
func (o *outbox) storeRead(from uint64, max int) ([]store.OutboxEntry, error) {
	last, tried := uint64(0), false
	for {
		es, err := o.st.Outbox().Peek(o.name, from, max)
		if err == nil {
			return es, nil
		}
		bad, ok := o.unreadable(from)
		if !ok || tried && bad == last {
			return nil, err // the record would not go
		}
		if derr := o.st.Outbox().Delete(o.name, bad); derr != nil {
			return nil, err
		}
		last, tried = bad, true
		o.log.Error("bridge outbox record unreadable: taken out of the outbox, its message is lost", "seq", bad, "err", err)
		o.mu.Lock()
		o.goneLocked(bad)
		o.quarantined++
		o.mu.Unlock()
	}
}

// unreadable finds the first record from from on that the store cannot
// read. Reading one record from x on fails exactly when that record is
// the first at or after x: so after the readable ones, a bisection finds
// it. It reports false when every record reads.
func (o *outbox) unreadable(from uint64) (uint64, bool) {
	p := o.st.Outbox()
	for {
		es, err := p.Peek(o.name, from, 1)
		if err != nil {
			break
		}
		if len(es) == 0 {
			return 0, false
		}
		from = es[0].Seq + 1
	}
	// Reading from lo fails, from hi does not.
	lo, hi := from, uint64(math.MaxUint64)
	if _, err := p.Peek(o.name, hi, 1); err != nil {
		return 0, false
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if _, err := p.Peek(o.name, mid, 1); err != nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}
