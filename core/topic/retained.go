package topic

import (
	"strings"
	"sync"
)

// Retained indexes retained messages by topic in a trie, so a wildcard
// subscription finds its messages by walking the levels it can match
// instead of scanning every topic. It is safe for concurrent use.
type Retained[V any] struct {
	mu   sync.RWMutex // guards every node and n
	root *rnode[V]
	n    int
}

type rnode[V any] struct {
	kids  map[string]*rnode[V]
	topic string // the full topic, set while has is true
	v     V
	has   bool
}

// NewRetained returns an empty index.
func NewRetained[V any]() *Retained[V] {
	return &Retained[V]{root: &rnode[V]{}}
}

// Set stores v under topic, a valid topic name.
func (r *Retained[V]) Set(topic string, v V) (replaced bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.root
	for rest, more := topic, true; more; {
		var level string
		level, rest, more = cut(rest)
		c := n.kids[level]
		if c == nil {
			if n.kids == nil {
				n.kids = make(map[string]*rnode[V], 1)
			}
			c = &rnode[V]{}
			n.kids[strings.Clone(level)] = c
		}
		n = c
	}
	replaced = n.has
	if !replaced {
		n.topic = strings.Clone(topic)
		n.has = true
		r.n++
	}
	n.v = v
	return replaced
}

// Delete removes the message under topic and prunes the nodes it leaves
// empty.
func (r *Retained[V]) Delete(topic string) (existed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	type step struct {
		parent *rnode[V]
		level  string
	}
	var stack [16]step
	path := stack[:0]
	n := r.root
	for rest, more := topic, true; more; {
		var level string
		level, rest, more = cut(rest)
		path = append(path, step{n, level})
		if n = n.kids[level]; n == nil {
			return false
		}
	}
	if !n.has {
		return false
	}
	var zero V
	n.v, n.has, n.topic = zero, false, ""
	r.n--
	// Prune bottom-up the nodes left with neither a message nor children.
	for i := len(path) - 1; i >= 0 && !n.has && len(n.kids) == 0; i-- {
		p := path[i]
		delete(p.parent.kids, p.level)
		if len(p.parent.kids) == 0 {
			p.parent.kids = nil
		}
		n = p.parent
	}
	return true
}

// Get returns the message under topic.
func (r *Retained[V]) Get(topic string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := r.root
	for rest, more := topic, true; more; {
		var level string
		level, rest, more = cut(rest)
		if n = n.kids[level]; n == nil {
			var zero V
			return zero, false
		}
	}
	return n.v, n.has
}

// Len returns the number of retained messages.
func (r *Retained[V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

type retainedHit[V any] struct {
	topic string
	v     V
}

// Match calls fn for every retained message whose topic matches filter,
// stopping when fn returns false. A filter starting with a wildcard does not
// match topics starting with '$' [MQTT-4.7.2-1]; `#` returns every other
// message. The matches are collected under the read lock and fn is called
// after it is released, so fn may call back into r (to delete an expired
// message, say).
func (r *Retained[V]) Match(filter string, fn func(topic string, v V) bool) {
	if filter == "" {
		return
	}
	var hits []retainedHit[V]
	r.mu.RLock()
	hits = r.root.match(filter, true, hits)
	r.mu.RUnlock()
	for _, h := range hits {
		if !fn(h.topic, h.v) {
			return
		}
	}
}

// Range calls fn for every retained message, '$' topics included, stopping
// when fn returns false. Like Match, it calls fn without holding the lock.
func (r *Retained[V]) Range(fn func(topic string, v V) bool) {
	r.mu.RLock()
	hits := make([]retainedHit[V], 0, r.n)
	hits = r.root.all(false, hits)
	r.mu.RUnlock()
	for _, h := range hits {
		if !fn(h.topic, h.v) {
			return
		}
	}
}

// match appends the messages under n matching filter, whose levels start
// below n.
func (n *rnode[V]) match(filter string, root bool, out []retainedHit[V]) []retainedHit[V] {
	level, rest, more := cut(filter)
	switch level {
	case "#":
		// '#' matches n's own level too: `a/#` matches `a` [MQTT-4.7.1-2].
		return n.all(root, out)
	case "+":
		for k, c := range n.kids {
			if root && k != "" && k[0] == '$' {
				continue
			}
			out = c.matchRest(rest, more, out)
		}
		return out
	}
	if c := n.kids[level]; c != nil {
		out = c.matchRest(rest, more, out)
	}
	return out
}

func (c *rnode[V]) matchRest(rest string, more bool, out []retainedHit[V]) []retainedHit[V] {
	if more {
		return c.match(rest, false, out)
	}
	if c.has {
		out = append(out, retainedHit[V]{c.topic, c.v})
	}
	return out
}

// all appends every message at or below n; skipDollar leaves out the
// children whose level starts with '$' (used at the root).
func (n *rnode[V]) all(skipDollar bool, out []retainedHit[V]) []retainedHit[V] {
	if n.has {
		out = append(out, retainedHit[V]{n.topic, n.v})
	}
	for k, c := range n.kids {
		if skipDollar && k != "" && k[0] == '$' {
			continue
		}
		out = c.all(false, out)
	}
	return out
}
