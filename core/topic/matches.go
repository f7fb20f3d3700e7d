package topic

import (
	"hash/maphash"
	"math/rand/v2"
)

// Target is one delivery of a message.
type Target[S comparable] struct {
	Sub S
	// QoS is the highest granted QoS among the subscriber's matching
	// non-shared subscriptions, or the shared subscription's QoS.
	QoS byte
	// RetainAsPublished is true if any merged subscription has it.
	RetainAsPublished bool
	// SubIDs holds the subscription identifiers of the merged
	// subscriptions, nil if none. It aliases the Matches' scratch and is
	// valid until the Matches is reused.
	SubIDs []uint32
	// Shared marks a delivery chosen from a shared-subscription group.
	Shared bool
	// Key is the subscription's Key for a target of a Separate
	// subscription or a shared pick; empty for a merged target.
	Key string

	separate bool // from a Separate subscription: never merged into
}

// Matches is a reusable result buffer for Router.Match. Keep one per
// goroutine or in a sync.Pool: once its slices have grown, matching into
// it allocates nothing. It retains the subscribers of its last result until
// it is reused.
type Matches[S comparable] struct {
	Targets []Target[S]

	hits   []hit[S]
	shared []hit[S]
	ids    []uint32
	counts []int32
	index  map[S]int32
}

type hit[S comparable] struct {
	sub    S
	opts   Options
	target int32
}

// Targets up to this many subscriber-merges are found by a linear scan,
// beyond it by a map kept in the Matches.
const linearMerge = 16

// matchCtx carries one Match call through the trie walk.
type matchCtx[S comparable] struct {
	r            *Router[S]
	m            *Matches[S]
	topic        string
	publisher    S
	hasPublisher bool
	publisherID  string
}

// Match fills m (reset first) with the targets for a message on topic.
// publisher is the subscriber that published it; hasPublisher is false when
// the origin is not a subscriber (a bridge, a will, the system).
//
// Overlapping non-shared subscriptions of one subscriber merge into one
// target with the highest QoS, all subscription identifiers and
// RetainAsPublished OR-ed [MQTT-3.3.4-2/3/4]; a Separate subscription
// gets a target of its own instead. Non-shared subscriptions with
// NoLocal are skipped when the subscriber is the publisher [MQTT-3.8.3-3].
// Each shared group that matches yields exactly one target chosen by the
// router's strategy; a shared delivery is separate from the subscriber's
// non-shared target, so a client with both a shared and a non-shared
// matching subscription receives the message twice.
func (r *Router[S]) Match(topic string, publisher S, hasPublisher bool, m *Matches[S]) {
	r.MatchFrom(topic, publisher, hasPublisher, "", m)
}

// MatchFrom is Match with the publisher's client id, which HashClientID
// uses to choose among a group's members (by rendezvous hashing against
// the members' client ids). Under HashClientID, Match sends every message
// of a group to the one member that the empty id hashes to.
func (r *Router[S]) MatchFrom(topic string, publisher S, hasPublisher bool, publisherID string, m *Matches[S]) {
	m.Targets = m.Targets[:0]
	m.hits = m.hits[:0]
	m.shared = m.shared[:0]
	m.ids = m.ids[:0]
	c := matchCtx[S]{r: r, m: m, topic: topic, publisher: publisher, hasPublisher: hasPublisher, publisherID: publisherID}
	c.descend(r.root, topic, true)
	m.merge()
}

// descend matches the levels in rest against the children of n. root is
// true for the trie's root, where wildcards do not match '$' topics
// [MQTT-4.7.2-1]. It takes no lock.
func (c *matchCtx[S]) descend(n *node[S], rest string, root bool) {
	for {
		level, next, more := cut(rest)
		if !root || level == "" || level[0] != '$' {
			if hash := n.hash.Load(); hash != nil {
				c.collect(hash) // '#' matches this level and all below
			}
			if plus := n.plus.Load(); plus != nil {
				if more {
					c.descend(plus, next, false)
				} else {
					c.terminal(plus)
				}
			}
		}
		root = false
		lit := n.literal(level)
		if lit == nil {
			return
		}
		if !more {
			c.terminal(lit)
			return
		}
		n, rest = lit, next
	}
}

// terminal collects a node the whole topic led to, and its '#' child, since
// `foo/#` matches `foo` [MQTT-4.7.1-2].
func (c *matchCtx[S]) terminal(n *node[S]) {
	c.collect(n)
	if h := n.hash.Load(); h != nil {
		c.collect(h)
	}
}

// collect records the subscriptions ending at n.
func (c *matchCtx[S]) collect(n *node[S]) {
	l := n.leaf.Load()
	if l == nil {
		return
	}
	if b := l.big; b != nil {
		n.mu.RLock()
		c.collectSubs(b.subs)
		n.mu.RUnlock()
	} else {
		c.collectSubs(l.subs)
	}
	for _, g := range l.groups {
		// No Local on a shared subscription is a protocol error
		// [MQTT-3.8.3-4], so the subscribe path rejects it; it is not
		// consulted here.
		if mb := c.r.pick(g, c.topic, c.publisherID); mb != nil {
			c.m.shared = append(c.m.shared, hit[S]{sub: mb.sub, opts: mb.opts})
		}
	}
}

func (c *matchCtx[S]) collectSubs(subs []entry[S]) {
	m := c.m
	for i := range subs {
		e := &subs[i]
		if e.opts.NoLocal && c.hasPublisher && e.sub == c.publisher {
			continue // [MQTT-3.8.3-3]
		}
		m.hits = append(m.hits, hit[S]{sub: e.sub, opts: e.opts})
	}
}

// merge turns hits and shared picks into Targets.
func (m *Matches[S]) merge() {
	useMap := len(m.hits) > linearMerge
	if useMap {
		if m.index == nil {
			m.index = make(map[S]int32, len(m.hits))
		} else {
			clear(m.index)
		}
	}
	nids := 0
	for i := range m.hits {
		h := &m.hits[i]
		if h.opts.Separate {
			h.target = int32(len(m.Targets))
			m.Targets = append(m.Targets, Target[S]{Sub: h.sub, QoS: h.opts.QoS, RetainAsPublished: h.opts.RetainAsPublished, Key: h.opts.Key, separate: true})
			if h.opts.SubscriptionID != 0 {
				nids++
			}
			continue
		}
		t := int32(-1)
		if useMap {
			if j, ok := m.index[h.sub]; ok {
				t = j
			}
		} else {
			for j := range m.Targets {
				if m.Targets[j].Sub == h.sub && !m.Targets[j].separate {
					t = int32(j)
					break
				}
			}
		}
		if t < 0 {
			t = int32(len(m.Targets))
			m.Targets = append(m.Targets, Target[S]{Sub: h.sub, QoS: h.opts.QoS, RetainAsPublished: h.opts.RetainAsPublished})
			if useMap {
				m.index[h.sub] = t
			}
		} else {
			tg := &m.Targets[t]
			tg.QoS = max(tg.QoS, h.opts.QoS)
			tg.RetainAsPublished = tg.RetainAsPublished || h.opts.RetainAsPublished
		}
		h.target = t
		if h.opts.SubscriptionID != 0 {
			nids++
		}
	}
	for i := range m.shared {
		if m.shared[i].opts.SubscriptionID != 0 {
			nids++
		}
	}
	if nids == 0 {
		for _, h := range m.shared {
			m.Targets = append(m.Targets, Target[S]{Sub: h.sub, QoS: h.opts.QoS, RetainAsPublished: h.opts.RetainAsPublished, Shared: true, Key: h.opts.Key})
		}
		return
	}
	// Lay the identifiers out target by target in one scratch slice, sized
	// up front so the sub-slices handed out stay valid.
	if cap(m.ids) < nids {
		m.ids = make([]uint32, 0, nids+nids/2)
	}
	ids := m.ids[:nids]
	nt := len(m.Targets)
	if cap(m.counts) < nt {
		m.counts = make([]int32, nt, nt+nt/2)
	}
	counts := m.counts[:nt]
	clear(counts)
	for i := range m.hits {
		if m.hits[i].opts.SubscriptionID != 0 {
			counts[m.hits[i].target]++
		}
	}
	off := 0
	for t, n := range counts {
		if n > 0 {
			m.Targets[t].SubIDs = ids[off : off : off+int(n)]
			off += int(n)
		}
	}
	for i := range m.hits {
		h := &m.hits[i]
		if h.opts.SubscriptionID != 0 {
			tg := &m.Targets[h.target]
			tg.SubIDs = append(tg.SubIDs, h.opts.SubscriptionID)
		}
	}
	for _, h := range m.shared {
		t := Target[S]{Sub: h.sub, QoS: h.opts.QoS, RetainAsPublished: h.opts.RetainAsPublished, Shared: true, Key: h.opts.Key}
		if id := h.opts.SubscriptionID; id != 0 {
			ids[off] = id
			t.SubIDs = ids[off : off+1 : off+1]
			off++
		}
		m.Targets = append(m.Targets, t)
	}
	m.ids = ids
}

// pick chooses the member of g that receives a message. It takes no lock.
func (r *Router[S]) pick(g *group[S], topic, publisherID string) *member[S] {
	members := *g.members.Load()
	n := len(members)
	switch n {
	case 0:
		return nil
	case 1:
		return members[0] // available or not, it is the only one
	}
	switch r.strategy {
	case Random:
		return r.scan(members, rand.IntN(n))
	case Sticky:
		cur := g.sticky.Load()
		if cur != nil && !cur.gone.Load() && r.isAvailable(cur.sub) {
			return cur
		}
		next := r.scan(members, rand.IntN(n))
		if !g.sticky.CompareAndSwap(cur, next) {
			if won := g.sticky.Load(); won != nil && !won.gone.Load() {
				return won
			}
		}
		return next
	case HashClientID:
		return r.rendezvous(members, maphash.String(r.seed, publisherID))
	case HashTopic:
		return r.rendezvous(members, maphash.String(r.seed, topic))
	default: // RoundRobin
		return r.scan(members, int((g.rr.Add(1)-1)%uint64(n)))
	}
}

func (r *Router[S]) isAvailable(s S) bool {
	return r.available == nil || r.available(s)
}

// scan returns the first available member from start on, or the member at
// start if none is available.
func (r *Router[S]) scan(members []*member[S], start int) *member[S] {
	if r.available == nil {
		return members[start]
	}
	n := len(members)
	for i := range n {
		if mb := members[(start+i)%n]; r.available(mb.sub) {
			return mb
		}
	}
	return members[start]
}

// rendezvous picks the member with the highest score for key among the
// available ones (any, if none is available). Highest-random-weight hashing
// keeps a key on its member when others join or leave.
func (r *Router[S]) rendezvous(members []*member[S], key uint64) *member[S] {
	var best, bestAny *member[S]
	var score, scoreAny uint64
	for _, mb := range members {
		s := mix(key ^ mb.idHash)
		if bestAny == nil || s > scoreAny {
			bestAny, scoreAny = mb, s
		}
		if (best == nil || s > score) && r.isAvailable(mb.sub) {
			best, score = mb, s
		}
	}
	if best != nil {
		return best
	}
	return bestAny
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
