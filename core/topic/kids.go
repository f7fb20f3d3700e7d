package topic

import (
	"hash/maphash"
	"sync/atomic"
)

// kidSet holds the literal children of a node. Matchers read it without
// locks; writers change it holding the parent's mu. A few children live in
// an immutable slice replaced on every change; many live in an
// open-addressing table whose slots are atomic pointers, so inserting into a
// node with a million children costs O(1), not a copy.
type kidSet[S comparable] struct {
	small []*node[S] // immutable; used while table is nil
	table []atomic.Pointer[node[S]]
	live  int // live children in table; parent's mu
	used  int // non-nil slots in table; parent's mu
}

const (
	maxSmallKids = 8
	minTable     = 16
)

var kidSeed = maphash.MakeSeed()

// get returns the child for level, or nil. A pruned (dead) child stays in
// its table slot as a tombstone; get may return it, and a matcher then finds
// it empty.
func (k *kidSet[S]) get(level string) *node[S] {
	if k.table == nil {
		for _, c := range k.small {
			if c.level == level {
				return c
			}
		}
		return nil
	}
	mask := uint64(len(k.table) - 1)
	for i := maphash.String(kidSeed, level) & mask; ; i = (i + 1) & mask {
		c := k.table[i].Load()
		if c == nil || c.level == level {
			return c
		}
	}
}

// with returns the set with c added, possibly k itself. The parent's mu is
// write-locked and no live child has c's level.
func (k *kidSet[S]) with(c *node[S]) *kidSet[S] {
	if k == nil {
		return &kidSet[S]{small: []*node[S]{c}}
	}
	if k.table == nil {
		if len(k.small) < maxSmallKids {
			small := make([]*node[S], len(k.small), len(k.small)+1)
			copy(small, k.small)
			return &kidSet[S]{small: append(small, c)}
		}
		return rebuild(append(k.small[:len(k.small):len(k.small)], c))
	}
	if (k.used+1)*4 > len(k.table)*3 {
		return rebuild(append(k.liveNodes(), c))
	}
	mask := uint64(len(k.table) - 1)
	for i := maphash.String(kidSeed, c.level) & mask; ; i = (i + 1) & mask {
		old := k.table[i].Load()
		if old == nil {
			k.used++
			k.live++
			k.table[i].Store(c)
			return k
		}
		if old.level == c.level { // a tombstone for the same level
			k.live++
			k.table[i].Store(c)
			return k
		}
	}
}

// without returns the set with c (already marked dead) removed, or nil if
// it is empty. The parent's mu is write-locked.
func (k *kidSet[S]) without(c *node[S]) *kidSet[S] {
	if k.table == nil {
		small := make([]*node[S], 0, len(k.small))
		for _, x := range k.small {
			if x != c {
				small = append(small, x)
			}
		}
		if len(small) == 0 {
			return nil
		}
		return &kidSet[S]{small: small}
	}
	// c stays in its slot as a tombstone.
	k.live--
	switch {
	case k.live == 0:
		return nil
	case k.live <= maxSmallKids/2:
		return &kidSet[S]{small: k.liveNodes()}
	case len(k.table) > minTable && k.live*16 < len(k.table):
		// Mostly tombstones after mass pruning: give the memory back.
		return rebuild(k.liveNodes())
	}
	return k
}

func (k *kidSet[S]) liveNodes() []*node[S] {
	out := make([]*node[S], 0, k.live+1)
	for i := range k.table {
		if c := k.table[i].Load(); c != nil && !c.dead.Load() {
			out = append(out, c)
		}
	}
	return out
}

func rebuild[S comparable](nodes []*node[S]) *kidSet[S] {
	size := minTable
	for size < 4*len(nodes) {
		size *= 2
	}
	k := &kidSet[S]{table: make([]atomic.Pointer[node[S]], size)}
	mask := uint64(size - 1)
	for _, x := range nodes {
		i := maphash.String(kidSeed, x.level) & mask
		for k.table[i].Load() != nil {
			i = (i + 1) & mask
		}
		k.table[i].Store(x)
	}
	k.live, k.used = len(nodes), len(nodes)
	return k
}
