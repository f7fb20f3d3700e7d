package bridge

import (
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

	mu    sync.Mutex
	ents  []entryInfo // in Seq order; deleted ones stay until they reach the front
	count int
	bytes int64
	drops int64
}

// entryInfo is what the outbox keeps in memory per stored message.
type entryInfo struct {
	seq  uint64
	size int32
	gone bool
	at   time.Time // when it was appended, or loaded after a restart
}

// msgSize is the size a message is charged against max_bytes.
func msgSize(m *store.Message) int32 {
	n := len(m.Topic) + len(m.Payload) + len(m.ContentType) + len(m.ResponseTopic) + len(m.CorrelationData) + 32
	for _, u := range m.UserProperties {
		n += len(u.Key) + len(u.Value)
	}
	return int32(n)
}

// openOutbox loads the accounting of what the store already holds.
func openOutbox(st store.Store, name string, maxCount int, maxBytes int64, dropOld bool) (*outbox, error) {
	o := &outbox{st: st, name: name, maxCount: maxCount, maxBytes: maxBytes, dropOld: dropOld}
	now := time.Now()
	from := uint64(0)
	for {
		es, err := st.Outbox().Peek(name, from, 1024)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			sz := msgSize(e.Message)
			o.ents = append(o.ents, entryInfo{seq: e.Seq, size: sz, at: now})
			o.count++
			o.bytes += int64(sz)
			from = e.Seq + 1
		}
		if len(es) < 1024 {
			return o, nil
		}
	}
}

// append adds m unsynced; the caller syncs the store before settling the
// local delivery. A full outbox drops the oldest messages, or m itself
// under drop_newest; appended is false then.
func (o *outbox) append(m *store.Message) (appended bool, err error) {
	sz := msgSize(m)
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.count >= o.maxCount || o.bytes+int64(sz) > o.maxBytes {
		if !o.dropOld || o.count == 0 {
			o.drops++
			return false, nil
		}
		e := o.frontLocked()
		if err := o.st.Outbox().Delete(o.name, e.seq); err != nil {
			return false, err
		}
		o.goneLocked(e.seq)
		o.drops++
	}
	seq, err := o.st.Outbox().Append(o.name, m, false)
	if err != nil {
		return false, err
	}
	o.ents = append(o.ents, entryInfo{seq: seq, size: sz, at: time.Now()})
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

// goneLocked marks seq deleted and reports whether it was still counted.
func (o *outbox) goneLocked(seq uint64) bool {
	i, ok := slices.BinarySearchFunc(o.ents, seq, func(e entryInfo, s uint64) int {
		switch {
		case e.seq < s:
			return -1
		case e.seq > s:
			return 1
		}
		return 0
	})
	if !ok || o.ents[i].gone {
		return false
	}
	o.ents[i].gone = true
	o.count--
	o.bytes -= int64(o.ents[i].size)
	for len(o.ents) > 0 && o.ents[0].gone {
		o.ents = o.ents[1:]
	}
	if len(o.ents) == 0 {
		o.ents = nil // let the backing array go
	}
	return true
}

// remove deletes seq once the upstream acknowledged it (or refused it).
func (o *outbox) remove(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.goneLocked(seq) {
		return nil
	}
	return o.st.Outbox().Delete(o.name, seq)
}

// countDrop counts a message dropped on its way to the outbox.
func (o *outbox) countDrop() {
	o.mu.Lock()
	o.drops++
	o.mu.Unlock()
}

// peek returns up to max stored entries from seq on.
func (o *outbox) peek(from uint64, max int) ([]store.OutboxEntry, error) {
	return o.st.Outbox().Peek(o.name, from, max)
}

// outboxStats is the outbox's state for the bridge's status.
type outboxStats struct {
	Count     int
	Bytes     int64
	Drops     int64
	OldestAge time.Duration
}

func (o *outbox) stats() outboxStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := outboxStats{Count: o.count, Bytes: o.bytes, Drops: o.drops}
	if o.count > 0 {
		s.OldestAge = time.Since(o.frontLocked().at)
	}
	return s
}
