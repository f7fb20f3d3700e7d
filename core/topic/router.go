package topic

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// Options are the per-subscription options.
type Options struct {
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	SubscriptionID    uint32 // 0 = none
	// Key tells apart several subscriptions of one subscriber to the same
	// filter (a STOMP subscription id, a CoAP token); a subscriber with
	// one subscription per filter (MQTT) leaves it empty. A subscription
	// is identified by (subscriber, filter, Key).
	Key string
	// Separate asks for a target of its own for each match, carrying Key,
	// instead of merging into the subscriber's one target per message.
	Separate bool
}

// Router is the subscription trie. S identifies a subscriber; the core uses
// a session pointer. All methods are safe for concurrent use; see the
// package documentation for the locking.
type Router[S comparable] struct {
	root      *node[S]
	strategy  Strategy
	available func(S) bool
	seed      maphash.Seed
	count     atomic.Int64
}

// A node's non-shared subscriptions live in an immutable slice replaced on
// every change while there are at most maxSmallSubs of them; beyond that in
// a bigSubs changed in place under the node's mu, which matchers then
// read-lock. Copying a large list on every subscribe would be quadratic, and
// for a list that long the read lock costs little next to the fan-out.
const (
	maxSmallSubs = 64
	minBigSubs   = 32
)

// node is one level of the trie. Matchers read it without locks, through
// atomic pointers to immutable snapshots (see kidSet and leaf); writers
// serialise on mu. A node detached from its parent by pruning is marked
// dead and never written again; a writer that finds a dead node starts over
// from the root.
type node[S comparable] struct {
	mu    sync.RWMutex
	dead  atomic.Bool
	level string // the literal level that leads here from the parent
	plus  atomic.Pointer[node[S]]
	hash  atomic.Pointer[node[S]]
	kids  atomic.Pointer[kidSet[S]]
	leaf  atomic.Pointer[leaf[S]] // subscriptions whose filter ends here; nil if none
}

// leaf is an immutable snapshot of the subscriptions ending at a node.
type leaf[S comparable] struct {
	subs   []entry[S]  // non-shared, while big is nil
	big    *bigSubs[S] // non-shared, when there are many
	groups []*group[S] // shared groups whose inner filter ends here
}

// bigSubs is a long subscription list, guarded by its node's mu.
type bigSubs[S comparable] struct {
	subs []entry[S]
	idx  map[subID[S]]int32
}

// subID identifies one subscription at a node.
type subID[S comparable] struct {
	sub S
	key string
}

type entry[S comparable] struct {
	sub  S
	opts Options
}

// group is one shared-subscription group at one filter. Its member list is
// an immutable snapshot replaced under the node's mu.
type group[S comparable] struct {
	name    string // "" for $queue, which no $share group can be named
	members atomic.Pointer[[]*member[S]]
	rr      atomic.Uint64
	sticky  atomic.Pointer[member[S]]
}

// member is immutable but for gone, set when it leaves the group or its
// options are replaced, so a sticky choice made from a stale snapshot is
// noticed.
type member[S comparable] struct {
	sub    S
	idHash uint64 // hash of the subscriber's client id, for rendezvous hashing
	opts   Options
	gone   atomic.Bool
}

// NewRouter returns an empty router whose shared groups select members
// with strategy.
func NewRouter[S comparable](strategy Strategy) *Router[S] {
	return &Router[S]{root: &node[S]{}, strategy: strategy, seed: maphash.MakeSeed()}
}

// SetAvailable tells shared-subscription selection which members are
// online; selection prefers available members and falls back to any member.
// Call it before the router is used.
func (r *Router[S]) SetAvailable(f func(S) bool) { r.available = f }

// Count returns the number of subscriptions; shared members count
// individually.
func (r *Router[S]) Count() int { return int(r.count.Load()) }

// literal returns the literal child for level. It takes no lock.
func (n *node[S]) literal(level string) *node[S] {
	if k := n.kids.Load(); k != nil {
		return k.get(level)
	}
	return nil
}

// child returns the live child a filter level leads to. n.mu is held on
// entry.
func (n *node[S]) child(level string) *node[S] {
	var c *node[S]
	switch level {
	case "+":
		c = n.plus.Load()
	case "#":
		c = n.hash.Load()
	default:
		c = n.literal(level)
	}
	if c != nil && c.dead.Load() {
		return nil
	}
	return c
}

// addChild creates the child for a filter level. n.mu is write-locked on
// entry and no live child has that level.
func (n *node[S]) addChild(level string) *node[S] {
	c := &node[S]{level: strings.Clone(level)}
	switch level {
	case "+":
		n.plus.Store(c)
	case "#":
		n.hash.Store(c)
	default:
		n.kids.Store(n.kids.Load().with(c))
	}
	return c
}

// removeChild marks c dead and detaches it. n.mu and c.mu are write-locked
// on entry.
func (n *node[S]) removeChild(c *node[S]) {
	c.dead.Store(true)
	switch {
	case n.plus.Load() == c:
		n.plus.Store(nil)
	case n.hash.Load() == c:
		n.hash.Store(nil)
	default:
		n.kids.Store(n.kids.Load().without(c))
	}
}

// empty reports whether n holds nothing and can be pruned. n.mu is held on
// entry.
func (n *node[S]) empty() bool {
	return n.leaf.Load() == nil && n.kids.Load() == nil && n.plus.Load() == nil && n.hash.Load() == nil
}

// setLeaf publishes l, or nil if it holds nothing. n.mu is write-locked.
func (n *node[S]) setLeaf(l *leaf[S]) {
	if len(l.subs) == 0 && l.big == nil && len(l.groups) == 0 {
		l = nil
	}
	n.leaf.Store(l)
}

// current returns a copy of n's leaf to modify. n.mu is write-locked.
func (n *node[S]) current() leaf[S] {
	if l := n.leaf.Load(); l != nil {
		return *l
	}
	return leaf[S]{}
}

func findGroup[S comparable](groups []*group[S], name string) (int, *group[S]) {
	for i, g := range groups {
		if g.name == name {
			return i, g
		}
	}
	return -1, nil
}

// groupKey maps a ParseShared group to the key used inside a node, keeping
// `$queue/x` apart from `$share/$queue/x`.
func groupKey(filter, group string) string {
	if strings.HasPrefix(filter, queuePrefix) {
		return ""
	}
	return group
}

// Subscribe adds a subscription or replaces the options of the same
// (subscriber, filter) pair [MQTT-3.8.4-3]. filter is the raw filter and may
// be `$share/...` or `$queue/...`; the caller has validated it. clientID is
// the subscriber's client id; HashClientID and HashTopic use it to spread
// publishers or topics over the members by rendezvous hashing. existed
// reports a replacement.
//
// A subscription is identified by (s, filter, o.Key): a subscriber may hold
// several subscriptions to one filter under different keys.
func (r *Router[S]) Subscribe(s S, clientID, filter string, o Options) (existed bool) {
	gname, inner, shared := ParseShared(filter)
	gname = groupKey(filter, gname)
	n := r.lockLeaf(inner)
	defer n.mu.Unlock()
	if shared {
		existed = n.addMember(gname, &member[S]{sub: s, idHash: maphash.String(r.seed, clientID), opts: o})
	} else {
		existed = n.addSub(s, o)
	}
	if !existed {
		r.count.Add(1)
	}
	return existed
}

// addSub adds or replaces the non-shared subscription of s. n.mu is
// write-locked on entry.
func (n *node[S]) addSub(s S, o Options) (existed bool) {
	l := n.current()
	if b := l.big; b != nil {
		if i, ok := b.idx[subID[S]{s, o.Key}]; ok {
			b.subs[i].opts = o
			return true
		}
		b.idx[subID[S]{s, o.Key}] = int32(len(b.subs))
		b.subs = append(b.subs, entry[S]{sub: s, opts: o})
		return false
	}
	subs := make([]entry[S], len(l.subs), len(l.subs)+1)
	copy(subs, l.subs)
	for i := range subs {
		if subs[i].sub == s && subs[i].opts.Key == o.Key {
			subs[i].opts = o
			l.subs = subs
			n.setLeaf(&l)
			return true
		}
	}
	subs = append(subs, entry[S]{sub: s, opts: o})
	if len(subs) > maxSmallSubs {
		b := &bigSubs[S]{subs: subs, idx: make(map[subID[S]]int32, 2*len(subs))}
		for i := range subs {
			b.idx[subID[S]{subs[i].sub, subs[i].opts.Key}] = int32(i)
		}
		l.subs, l.big = nil, b
	} else {
		l.subs = subs
	}
	n.setLeaf(&l)
	return false
}

// addMember adds mb to the group gname or replaces the member for the same
// subscriber. n.mu is write-locked on entry.
func (n *node[S]) addMember(gname string, mb *member[S]) (existed bool) {
	l := n.current()
	_, g := findGroup(l.groups, gname)
	if g == nil {
		g = &group[S]{name: strings.Clone(gname)}
		g.members.Store(&[]*member[S]{mb})
		groups := make([]*group[S], len(l.groups), len(l.groups)+1)
		copy(groups, l.groups)
		l.groups = append(groups, g)
		n.setLeaf(&l)
		return false
	}
	old := *g.members.Load()
	members := make([]*member[S], len(old), len(old)+1)
	copy(members, old)
	for i, x := range members {
		if x.sub == mb.sub && x.opts.Key == mb.opts.Key {
			members[i] = mb
			g.members.Store(&members)
			x.gone.Store(true)
			g.sticky.CompareAndSwap(x, mb)
			return true
		}
	}
	members = append(members, mb)
	g.members.Store(&members)
	return false
}

// lockLeaf returns the live node for filter, creating the path, with its
// mu write-locked. It descends hand over hand: the parent stays locked until
// the child is locked, so a child found attached cannot be pruned under us.
func (r *Router[S]) lockLeaf(filter string) *node[S] {
retry:
	n := r.root // the root is never pruned
	n.mu.RLock()
	rest, more := filter, true
	for more {
		var level string
		level, rest, more = cut(rest)
		lock := (*node[S]).rlock
		if !more {
			lock = (*node[S]).lock
		}
		if c := n.child(level); c != nil {
			lock(c)
			n.mu.RUnlock()
			n = c
			continue
		}
		// Upgrade to create the child. n was unlocked for a moment, so it
		// may have been pruned; if so start over.
		n.mu.RUnlock()
		n.mu.Lock()
		if n.dead.Load() {
			n.mu.Unlock()
			goto retry
		}
		c := n.child(level)
		if c == nil {
			c = n.addChild(level)
		}
		lock(c)
		n.mu.Unlock()
		n = c
	}
	return n
}

func (n *node[S]) rlock() { n.mu.RLock() }
func (n *node[S]) lock()  { n.mu.Lock() }

// Unsubscribe removes the subscription of s to filter with the empty key,
// which must be spelled as it was subscribed (a `$share/g/a` subscription
// is not removed by unsubscribing `a`). It prunes nodes left empty.
func (r *Router[S]) Unsubscribe(s S, filter string) (existed bool) {
	return r.UnsubscribeKey(s, "", filter)
}

// UnsubscribeKey removes the subscription (s, filter, key).
func (r *Router[S]) UnsubscribeKey(s S, key, filter string) (existed bool) {
	gname, inner, shared := ParseShared(filter)
	gname = groupKey(filter, gname)
	var stack [16]*node[S]
	path := append(stack[:0], r.root)
	n := r.root
	n.mu.RLock()
	for rest, more := inner, true; more; {
		var level string
		level, rest, more = cut(rest)
		c := n.child(level)
		if c == nil {
			n.mu.RUnlock()
			return false
		}
		if more {
			c.mu.RLock()
		} else {
			c.mu.Lock()
		}
		n.mu.RUnlock()
		n = c
		path = append(path, n)
	}
	if shared {
		existed = n.removeMember(gname, s, key)
	} else {
		existed = n.removeSub(s, key)
	}
	prune := n.empty()
	n.mu.Unlock()
	if !existed {
		return false
	}
	r.count.Add(-1)
	if prune {
		r.prune(path)
	}
	return true
}

// removeSub removes the non-shared subscription of s. n.mu is write-locked
// on entry.
func (n *node[S]) removeSub(s S, key string) bool {
	l := n.current()
	if b := l.big; b != nil {
		i, ok := b.idx[subID[S]{s, key}]
		if !ok {
			return false
		}
		last := int32(len(b.subs) - 1)
		delete(b.idx, subID[S]{s, key})
		if i != last {
			b.subs[i] = b.subs[last]
			b.idx[subID[S]{b.subs[i].sub, b.subs[i].opts.Key}] = i
		}
		b.subs[last] = entry[S]{}
		b.subs = b.subs[:last]
		if len(b.subs) <= minBigSubs {
			// Back to a snapshot; matchers still holding b read it under
			// the read lock, and it is never written again.
			l.subs, l.big = append([]entry[S](nil), b.subs...), nil
			n.setLeaf(&l)
		}
		return true
	}
	for i := range l.subs {
		if l.subs[i].sub == s && l.subs[i].opts.Key == key {
			subs := make([]entry[S], 0, len(l.subs)-1)
			subs = append(subs, l.subs[:i]...)
			l.subs = append(subs, l.subs[i+1:]...)
			n.setLeaf(&l)
			return true
		}
	}
	return false
}

// removeMember removes s from the shared group gname. n.mu is write-locked
// on entry.
func (n *node[S]) removeMember(gname string, s S, key string) bool {
	l := n.current()
	gi, g := findGroup(l.groups, gname)
	if g == nil {
		return false
	}
	old := *g.members.Load()
	for i, x := range old {
		if x.sub != s || x.opts.Key != key {
			continue
		}
		x.gone.Store(true)
		g.sticky.CompareAndSwap(x, nil)
		if len(old) > 1 {
			members := make([]*member[S], 0, len(old)-1)
			members = append(members, old[:i]...)
			members = append(members, old[i+1:]...)
			g.members.Store(&members)
			return true
		}
		groups := make([]*group[S], 0, len(l.groups)-1)
		groups = append(groups, l.groups[:gi]...)
		l.groups = append(groups, l.groups[gi+1:]...)
		n.setLeaf(&l)
		return true
	}
	return false
}

// prune detaches empty nodes bottom-up along path (root first). Each step
// write-locks parent then child, the same top-down order as everywhere
// else.
func (r *Router[S]) prune(path []*node[S]) {
	for i := len(path) - 1; i > 0; i-- {
		parent, c := path[i-1], path[i]
		parent.mu.Lock()
		c.mu.Lock()
		ok := parent.child(c.level) == c && c.empty()
		if ok {
			parent.removeChild(c)
		}
		c.mu.Unlock()
		more := ok && parent.empty() && i > 1
		parent.mu.Unlock()
		if !more {
			return
		}
	}
}
