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

// Thresholds above which a node switches from a linear slice to a map.
const (
	maxKidSlice = 8
	maxSubSlice = 16
)

// node is one level of the trie. Every field is guarded by mu. A node
// detached from its parent by pruning is marked dead and is never written
// again; writers that find a dead node start over from the root.
type node[S comparable] struct {
	mu    sync.RWMutex
	dead  bool
	level string     // the literal level that leads here from the parent
	kids  []*node[S] // literal children while few; ext.kidMap beyond
	plus  *node[S]
	hash  *node[S]
	subs  []entry[S] // non-shared subscriptions whose filter ends here
	ext   *nodeExt[S]
}

// nodeExt holds what most nodes do not need, to keep node small: a router
// with a million subscriptions has a couple of million nodes.
type nodeExt[S comparable] struct {
	kidMap map[string]*node[S]
	subIdx map[S]int32 // index into subs when it is long
	groups []*group[S] // shared groups whose inner filter ends here
}

type entry[S comparable] struct {
	sub  S
	opts Options
}

// group is one shared-subscription group at one filter.
type group[S comparable] struct {
	name    string // "" for $queue, which no $share group can be named
	members []*member[S]
	rr      atomic.Uint64
	sticky  atomic.Pointer[member[S]]
}

type member[S comparable] struct {
	sub    S
	idHash uint64 // hash of the subscriber's client id, for rendezvous hashing
	opts   Options
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

// literal returns the literal child for level. n.mu is held on entry.
func (n *node[S]) literal(level string) *node[S] {
	if n.ext != nil && n.ext.kidMap != nil {
		return n.ext.kidMap[level]
	}
	for _, k := range n.kids {
		if k.level == level {
			return k
		}
	}
	return nil
}

// child returns the child a filter level leads to. n.mu is held on entry.
func (n *node[S]) child(level string) *node[S] {
	switch level {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.literal(level)
}

// addChild creates the child for a filter level. n.mu is write-locked on
// entry and the child must not exist.
func (n *node[S]) addChild(level string) *node[S] {
	c := &node[S]{level: strings.Clone(level)}
	switch level {
	case "+":
		n.plus = c
	case "#":
		n.hash = c
	default:
		if n.ext != nil && n.ext.kidMap != nil {
			n.ext.kidMap[c.level] = c
		} else if len(n.kids) < maxKidSlice {
			n.kids = append(n.kids, c)
		} else {
			m := make(map[string]*node[S], 2*maxKidSlice)
			for _, k := range n.kids {
				m[k.level] = k
			}
			m[c.level] = c
			n.kids = nil
			n.extension().kidMap = m
		}
	}
	return c
}

// removeChild detaches c. n.mu and c.mu are write-locked on entry.
func (n *node[S]) removeChild(c *node[S]) {
	switch {
	case n.plus == c:
		n.plus = nil
	case n.hash == c:
		n.hash = nil
	case n.ext != nil && n.ext.kidMap != nil:
		delete(n.ext.kidMap, c.level)
		if len(n.ext.kidMap) == 0 {
			n.ext.kidMap = nil
			n.shrinkExt()
		}
	default:
		for i, k := range n.kids {
			if k == c {
				last := len(n.kids) - 1
				n.kids[i] = n.kids[last]
				n.kids[last] = nil
				n.kids = n.kids[:last]
				break
			}
		}
		if len(n.kids) == 0 {
			n.kids = nil
		}
	}
	c.dead = true
}

func (n *node[S]) extension() *nodeExt[S] {
	if n.ext == nil {
		n.ext = &nodeExt[S]{}
	}
	return n.ext
}

func (n *node[S]) shrinkExt() {
	if e := n.ext; e != nil && e.kidMap == nil && e.subIdx == nil && len(e.groups) == 0 {
		n.ext = nil
	}
}

// empty reports whether n holds nothing and can be pruned. n.mu is held on
// entry.
func (n *node[S]) empty() bool {
	return len(n.subs) == 0 && len(n.kids) == 0 && n.plus == nil && n.hash == nil && n.ext == nil
}

func (n *node[S]) findSub(s S) int {
	if n.ext != nil && n.ext.subIdx != nil {
		if i, ok := n.ext.subIdx[s]; ok {
			return int(i)
		}
		return -1
	}
	for i := range n.subs {
		if n.subs[i].sub == s {
			return i
		}
	}
	return -1
}

func (n *node[S]) findGroup(name string) (int, *group[S]) {
	if n.ext == nil {
		return -1, nil
	}
	for i, g := range n.ext.groups {
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
func (r *Router[S]) Subscribe(s S, clientID, filter string, o Options) (existed bool) {
	gname, inner, shared := ParseShared(filter)
	gname = groupKey(filter, gname)
	n := r.lockLeaf(inner)
	defer n.mu.Unlock()
	if shared {
		_, g := n.findGroup(gname)
		if g == nil {
			g = &group[S]{name: strings.Clone(gname)}
			e := n.extension()
			e.groups = append(e.groups, g)
		}
		for _, m := range g.members {
			if m.sub == s {
				m.opts = o // members are read only under n.mu
				return true
			}
		}
		g.members = append(g.members, &member[S]{sub: s, idHash: maphash.String(r.seed, clientID), opts: o})
		r.count.Add(1)
		return false
	}
	if i := n.findSub(s); i >= 0 {
		n.subs[i].opts = o
		return true
	}
	n.subs = append(n.subs, entry[S]{sub: s, opts: o})
	if n.ext != nil && n.ext.subIdx != nil {
		n.ext.subIdx[s] = int32(len(n.subs) - 1)
	} else if len(n.subs) > maxSubSlice {
		idx := make(map[S]int32, 2*len(n.subs))
		for i := range n.subs {
			idx[n.subs[i].sub] = int32(i)
		}
		n.extension().subIdx = idx
	}
	r.count.Add(1)
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
		if n.dead {
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

// Unsubscribe removes the subscription of s to filter, which must be
// spelled as it was subscribed (a `$share/g/a` subscription is not removed
// by unsubscribing `a`). It prunes nodes left empty.
func (r *Router[S]) Unsubscribe(s S, filter string) (existed bool) {
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
		existed = n.removeMember(gname, s)
	} else {
		existed = n.removeSub(s)
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
func (n *node[S]) removeSub(s S) bool {
	i := n.findSub(s)
	if i < 0 {
		return false
	}
	last := len(n.subs) - 1
	if n.ext != nil && n.ext.subIdx != nil {
		delete(n.ext.subIdx, s)
		if i != last {
			n.ext.subIdx[n.subs[last].sub] = int32(i)
		}
	}
	n.subs[i] = n.subs[last]
	n.subs[last] = entry[S]{}
	n.subs = n.subs[:last]
	if len(n.subs) == 0 {
		n.subs = nil
	}
	if n.ext != nil && n.ext.subIdx != nil && len(n.subs) <= maxSubSlice/2 {
		n.ext.subIdx = nil
		n.shrinkExt()
	}
	return true
}

// removeMember removes s from the shared group gname. n.mu is write-locked
// on entry, so no matcher is selecting from the group.
func (n *node[S]) removeMember(gname string, s S) bool {
	gi, g := n.findGroup(gname)
	if g == nil {
		return false
	}
	for i, m := range g.members {
		if m.sub != s {
			continue
		}
		g.sticky.CompareAndSwap(m, nil)
		g.members = append(g.members[:i], g.members[i+1:]...)
		g.members[len(g.members):cap(g.members)][0] = nil
		if len(g.members) == 0 {
			gs := n.ext.groups
			gs[gi] = gs[len(gs)-1]
			gs[len(gs)-1] = nil
			n.ext.groups = gs[:len(gs)-1]
			if len(n.ext.groups) == 0 {
				n.ext.groups = nil
				n.shrinkExt()
			}
		}
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
		ok := !c.dead && parent.child(c.level) == c && c.empty()
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
