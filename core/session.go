package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// session is the state that outlives a connection: subscriptions, the
// outbound queue and inflight window, inbound QoS 2 packet ids, the will
// and the expiry. All fields below mu are guarded by it.
type session struct {
	b      *Broker
	key    SessionKey
	online atomic.Bool

	mu          sync.Mutex
	info        ClientInfo
	conn        Conn   // nil while disconnected
	gen         uint64 // bumped on every attach; stale Clients are ignored
	ended       bool
	expiry      time.Duration
	keepAlive   time.Duration // as the connection reported it, for admin views
	connectedAt time.Time     // of the current or last connection
	leftAt      time.Time     // when the last connection ended; zero while connected
	will        *Will
	subs        map[string]*subscription // by id: the request's Key, or the mounted filter
	queue       ring
	queuedBytes int
	queueLimit  int // messages, below Config.MaxQueued; 0: none (Client.SetQueueLimit)
	// maxQueued and maxQueuedBytes replace the broker's limits (0: the
	// broker's); OpenRequest sets them.
	maxQueued      int
	maxQueuedBytes int64
	refuse         atomic.Bool   // OpenRequest.RefuseWhenFull; read by publishers without mu
	proto          atomic.Uint32 // index of the client's protocol in CountedProtocols; read without mu
	inflight       map[uint16]*outMsg
	order          []*outMsg    // inflight in send order; acked entries are pruned lazily
	inflightMem    *inflightMem // holder of inflight and order, back to the pool once empty
	nextID         uint16
	window         int
	resend         bool                // inflight must be resent before new messages
	due            int                 // inflight entries Redeliver marked due
	stamp          bool                // the adapter retransmits: stamp hand-out times
	inbound        map[uint16]struct{} // QoS 2 ids awaiting PUBREL
	inboundWide    bool                // inbound held more than pooledInbound ids
	expiryTimer    *time.Timer
	willTimer      *time.Timer
	// persist: the session outlives its connection and the broker has a
	// store, so its transitions are written there (persist.go).
	persist    bool
	storedWill *Will // the will as last written to the store
}

// queued is one message waiting for the inflight window, or a marker
// standing for the latest message of a QueueLatest subscription.
type queued struct {
	msg    *Message
	subIDs []uint32
	seq    uint64 // store sequence number; 0: not in the store
	// sub is the subscription of a Separate delivery (its Key names the
	// delivery), nil for a merged one.
	sub    *subscription
	qos    byte
	retain bool
	// marker: the entry stands for sub.latest, the newest message of a
	// QueueLatest subscription.
	marker bool
	// handedOut counts the times the message was handed to the session's
	// connections (Delivery.Redelivered).
	handedOut uint16
}

// key returns the subscription key of a Separate delivery.
func (q *queued) key() string {
	if q.sub == nil {
		return ""
	}
	return q.sub.opts.Key
}

// resolveLocked returns the message a queue entry popped from the queue
// stands for: the entry itself, or for a marker its subscription's latest
// message, which leaves the subscription. ok is false for a marker whose
// message is gone (the subscription was removed or replaced).
func resolveLocked(q queued) (e queued, ok bool) {
	if !q.marker {
		return q, true
	}
	sub := q.sub
	if !sub.waiting {
		return queued{}, false
	}
	e = sub.latest
	sub.latest, sub.waiting = queued{}, false
	return e, true
}

// outMsg is one QoS 1/2 message in flight to the client.
type outMsg struct {
	queued
	id       uint16
	state    outState
	done     bool
	due      bool  // Redeliver asked for it again
	handedAt int64 // last handed out or held (Unix ns); set for sessions that retransmit
}

type outState byte

const (
	outPublished outState = iota // awaiting PUBACK or PUBREC
	outReleased                  // PUBREC received, PUBREL sent, awaiting PUBCOMP
)

func newSession(b *Broker, key SessionKey) *session {
	return &session{b: b, key: key}
}

// setWindowLocked sets the outbound inflight window: the client's Receive
// Maximum capped by the server's.
func (s *session) setWindowLocked(clientMax int) {
	w := s.b.cfg.MaxInflight
	if clientMax > 0 && clientMax < w {
		w = clientMax
	}
	s.window = w
}

// detachLocked marks the session disconnected and invalidates the current
// Client handle.
func (s *session) detachLocked() {
	s.conn = nil
	s.leftAt = time.Now()
	s.queueLimit = 0 // set by the connection, ends with it
	s.gen++
	s.online.Store(false)
}

// takeWillLocked removes the will (to publish it) and forgets it in the
// store.
func (s *session) takeWillLocked() *Will {
	w := s.will
	s.will = nil
	s.persistWillLocked()
	return w
}

func (s *session) stopTimersLocked() {
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
		s.expiryTimer = nil
	}
	if s.willTimer != nil {
		s.willTimer.Stop()
		s.willTimer = nil
	}
}

func (s *session) notify() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.Notify()
	}
}

// maxQueuedLocked is the session's queue limit in messages.
func (s *session) maxQueuedLocked() int {
	n := s.b.cfg.MaxQueued
	if s.maxQueued > 0 {
		n = s.maxQueued
	}
	if s.queueLimit > 0 && s.queueLimit < n {
		n = s.queueLimit
	}
	return n
}

// room reports whether m fits in the queue now.
func (s *session) room(m *Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	maxBytes := s.b.cfg.MaxQueuedBytes
	if s.maxQueuedBytes > 0 {
		maxBytes = int(s.maxQueuedBytes)
	}
	return s.queue.len() < s.maxQueuedLocked() && s.queuedBytes+m.size() <= maxBytes
}

// enqueue queues m for the session with the given delivery QoS and retain
// flag, writing it to the store for a persistent session (d collects the
// writes for the publisher's sync). key is the subscription key of a
// Separate delivery; a QueueLatest subscription's newer message replaces
// its waiting one in place. It reports whether the message was kept.
func (s *session) enqueue(m *Message, qos byte, retain bool, subIDs []uint32, key string, d *durable) bool {
	s.mu.Lock()
	if s.ended || s.conn == nil && qos == 0 && !s.b.cfg.QueueQoS0 {
		s.mu.Unlock()
		return false
	}
	size := m.size()
	cfg := &s.b.cfg
	maxBytes := cfg.MaxQueuedBytes
	if s.maxQueuedBytes > 0 {
		maxBytes = int(s.maxQueuedBytes)
	}
	if size > maxBytes {
		// It can never fit: drop it without evicting what is queued.
		s.mu.Unlock()
		s.drop(m, DropTooLarge)
		return false
	}
	var sub, latest *subscription
	if key != "" {
		sub = s.subs[key]
		if sub != nil && sub.queue == QueueLatest {
			latest = sub
		}
	}
	if latest != nil && latest.waiting {
		// The newer value takes the older one's place in the queue.
		old := latest.latest
		s.queuedBytes -= old.msg.size()
		s.removeLocked(old.seq)
		s.drop(old.msg, DropSuperseded)
		q := queued{msg: m, qos: qos, retain: retain, subIDs: cloneIDs(subIDs), sub: sub}
		q.seq = s.appendLocked(&q, d)
		latest.latest = q
		s.queuedBytes += size
		s.mu.Unlock()
		return true
	}
	maxQueued := s.maxQueuedLocked()
	// A session that refuses when full was asked for room before the
	// message was routed (Broker.publish); publishers racing past that
	// check may take it a little over its limit, never lose a message.
	for !(qos > 0 && s.refuse.Load()) && (s.queue.len() >= maxQueued || s.queuedBytes+size > maxBytes) {
		if cfg.DropPolicy == DropNewest || s.queue.len() == 0 {
			s.mu.Unlock()
			s.drop(m, DropQueueFull)
			return false
		}
		old, ok := resolveLocked(s.queue.pop())
		if !ok {
			continue
		}
		s.queuedBytes -= old.msg.size()
		s.removeLocked(old.seq)
		s.drop(old.msg, DropQueueFull)
	}
	q := queued{msg: m, qos: qos, retain: retain, subIDs: cloneIDs(subIDs), sub: sub}
	q.seq = s.appendLocked(&q, d)
	if latest != nil {
		latest.latest, latest.waiting = q, true
		s.queue.push(queued{sub: latest, marker: true})
	} else {
		s.queue.push(q)
	}
	s.queuedBytes += size
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		d.notify(c)
	}
	return true
}

// purgeLocked removes from the queue every entry of sub, a removed
// Separate subscription, and its marker.
func (s *session) purgeLocked(sub *subscription) {
	for n := s.queue.len(); n > 0; n-- {
		q := s.queue.pop()
		if q.sub != sub {
			s.queue.push(q)
			continue
		}
		if q.marker {
			continue // its value went with the subscription
		}
		s.queuedBytes -= q.msg.size()
		s.removeLocked(q.seq)
		s.drop(q.msg, DropUnsubscribed)
	}
}

// cloneIDs copies the router's scratch subscription identifiers.
func cloneIDs(ids []uint32) []uint32 {
	if len(ids) == 0 {
		return nil
	}
	return append([]uint32(nil), ids...)
}

// allocID returns a packet identifier not in use by the inflight window
// [MQTT-2.2.1-4]. The caller has checked len(inflight) < window <= 65535,
// so a free identifier exists.
func (s *session) allocIDLocked() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if _, used := s.inflight[s.nextID]; !used {
			return s.nextID
		}
	}
}

// outMsgs recycles inflight entries: a QoS 1/2 delivery then allocates
// nothing once the window has turned over.
var outMsgs = sync.Pool{New: func() any { return new(outMsg) }}

// inflightMem carries a session's inflight map and send order to and from
// inflightMems.
type inflightMem struct {
	m     map[uint16]*outMsg
	order []*outMsg
}

// pooledWindow is the largest send order (by capacity) whose memory goes
// back to inflightMems: a burst's larger map goes back to the heap.
const pooledWindow = 64

// inflightMems recycles the inflight map and send order of sessions whose
// window emptied. At a moderate rate a QoS 1/2 subscriber's window empties
// after every message; making the map and the slice again for the next
// one cost three allocations per message. An idle session still keeps no
// inflight memory.
var inflightMems = sync.Pool{New: func() any {
	return &inflightMem{m: make(map[uint16]*outMsg, 8), order: make([]*outMsg, 0, 8)}
}}

// openInflightLocked gives the session an inflight map and send order, if
// it has none.
func (s *session) openInflightLocked() {
	if s.inflight != nil {
		return
	}
	mem := inflightMems.Get().(*inflightMem)
	s.inflight, s.order = mem.m, mem.order[:0]
	mem.m, mem.order = nil, nil
	s.inflightMem = mem
}

// closeInflightLocked gives an emptied window's memory back to the pool;
// the caller has checked that both are empty. The send order holds every
// inflight entry, so its capacity bounds how wide the map grew.
func (s *session) closeInflightLocked() {
	mem := s.inflightMem
	if mem != nil && cap(s.order) <= pooledWindow {
		clear(s.inflight) // empty already
		mem.m, mem.order = s.inflight, s.order[:0]
		inflightMems.Put(mem)
	}
	s.inflight, s.order, s.inflightMem = nil, nil, nil
}

// pooledInbound is the most ids an inbound QoS 2 set may have held for
// its map to go back to inboundMaps.
const pooledInbound = 8

// inboundMaps recycles the sets of inbound QoS 2 ids awaiting PUBREL, which
// at a moderate rate empty after every message, as inflightMems does for
// the outbound window.
var inboundMaps = sync.Pool{New: func() any { return make(map[uint16]struct{}, pooledInbound) }}

// addInboundLocked records an inbound QoS 2 id awaiting PUBREL.
func (s *session) addInboundLocked(id uint16) {
	if s.inbound == nil {
		s.inbound = inboundMaps.Get().(map[uint16]struct{})
	}
	s.inbound[id] = struct{}{}
	if len(s.inbound) > pooledInbound {
		s.inboundWide = true
	}
}

// closeInboundLocked gives an emptied inbound set back to the pool, unless
// it grew wide; the caller has checked that it is empty.
func (s *session) closeInboundLocked() {
	if s.inbound != nil && !s.inboundWide {
		inboundMaps.Put(s.inbound)
	}
	s.inbound, s.inboundWide = nil, false
}

// pruneOrderLocked drops the acknowledged entries at the front of the send
// order, recycling them, and compacts the slice in place so a turning
// window does not reallocate it.
func (s *session) pruneOrderLocked() {
	i := 0
	for i < len(s.order) && s.order[i].done {
		*s.order[i] = outMsg{}
		outMsgs.Put(s.order[i])
		i++
	}
	if i == 0 {
		return
	}
	n := copy(s.order, s.order[i:])
	clear(s.order[n:])
	s.order = s.order[:n]
}

// dropQoS0Locked removes QoS 0 messages from the queue of a session that
// just went offline: they are kept only when Config.QueueQoS0 says so.
func (s *session) dropQoS0Locked() {
	n := s.queue.len()
	for i := 0; i < n; i++ {
		q := s.queue.pop()
		e := q
		if q.marker {
			if !q.sub.waiting {
				continue
			}
			e = q.sub.latest
		}
		if e.qos == 0 {
			resolveLocked(q)
			s.queuedBytes -= e.msg.size()
			s.drop(e.msg, DropOffline)
			continue
		}
		s.queue.push(q)
	}
}

// ring is a growable FIFO of queued messages that holds no memory when
// empty.
type ring struct {
	buf        []queued
	head, size int
}

// ringBase is the capacity a ring starts with. Buffers of that size are
// shared through a pool: a session whose queue empties gives its buffer
// back, so an idle session holds no queue memory and a busy one does not
// allocate a buffer each time its queue refills.
const ringBase = 64

var ringBufs = sync.Pool{New: func() any { return new([ringBase]queued) }}

func (r *ring) len() int { return r.size }

func (r *ring) push(q queued) {
	if r.size == len(r.buf) {
		if r.buf == nil {
			r.buf, r.head = ringBufs.Get().(*[ringBase]queued)[:], 0
		} else {
			nb := make([]queued, 2*len(r.buf))
			for i := 0; i < r.size; i++ {
				nb[i] = r.buf[(r.head+i)%len(r.buf)]
			}
			r.release()
			r.buf, r.head = nb, 0
		}
	}
	r.buf[(r.head+r.size)%len(r.buf)] = q
	r.size++
}

func (r *ring) peek() *queued { return &r.buf[r.head] }

// pushFront puts q before the first entry.
func (r *ring) pushFront(q queued) {
	r.push(q) // grows if needed; then the new last entry becomes the first
	last := (r.head + r.size - 1) % len(r.buf)
	r.buf[last] = queued{}
	r.head = (r.head - 1 + len(r.buf)) % len(r.buf)
	r.buf[r.head] = q
}

func (r *ring) pop() queued {
	q := r.buf[r.head]
	r.buf[r.head] = queued{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 {
		r.release()
	}
	return q
}

// release gives the buffer back (to the pool when it has the base size)
// after clearing what it still references.
func (r *ring) release() {
	if len(r.buf) == ringBase {
		clear(r.buf)
		ringBufs.Put((*[ringBase]queued)(r.buf))
	}
	r.buf, r.head = nil, 0
}

func (r *ring) clear() {
	r.release()
	r.size = 0
}

// drop counts a message the session lost, logs it at debug and tells the
// listeners. s.key is fixed at creation, so no lock is needed; m may be
// nil (a QoS 0 delivery rejected after it left the queue).
func (s *session) drop(m *Message, reason DropReason) {
	s.b.stats.MessagesDropped.Add(1)
	if s.b.debug() {
		t := ""
		if m != nil {
			t = m.Topic
		}
		s.b.log.Debug("message dropped", "client", s.key.ClientID, "topic", t, "reason", reason.String())
	}
	s.b.emitDropped(s.key, m, reason)
}
