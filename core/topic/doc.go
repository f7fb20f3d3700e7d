// Package topic owns MQTT topic semantics for mqgate, independent of any
// wire format: validation of topic names and filters, filter matching, the
// subscription router with shared subscriptions, and the retained-message
// index. It imports only the standard library.
//
// # Policies
//
//   - Control characters U+0001-U+001F and U+007F-U+009F (which the spec says
//     SHOULD NOT appear) are rejected in names and filters alike, as are
//     invalid UTF-8, encoded surrogates and U+0000.
//   - `$share/{group}/{filter}` and `$queue/{filter}` are shared
//     subscriptions; the prefix is case-sensitive, so `$SHARE/g/x` is an
//     ordinary filter. A filter whose first level is exactly "$share" or
//     "$queue" must follow the shared syntax.
//   - Overlapping non-shared subscriptions of one subscriber produce one
//     delivery: highest QoS, every subscription identifier, Retain As
//     Published if any has it. Each matching shared group adds one delivery
//     of its own, so a subscriber with a shared and a non-shared matching
//     subscription gets the message twice.
//   - No Local is honoured for non-shared subscriptions only; on a shared
//     subscription it is a protocol error [MQTT-3.8.3-4] the caller rejects.
//
// # Router concurrency and lock order
//
// The router is a trie with no router-wide lock. Match takes no lock at
// all on the common path: each node publishes its children and its
// subscriptions through atomic pointers to immutable snapshots (a small
// child set is a copied slice, a large one an open-addressing table whose
// slots are atomic pointers and where a pruned child stays as a tombstone;
// a subscriber list of up to 64 entries is a copied slice). Only a node
// with more than 64 non-shared subscribers keeps them in a list changed in
// place, which Match reads under that node's read lock. Shared-group
// selection state (round-robin counter, sticky member) is atomic.
//
// Writers (Subscribe, Unsubscribe) serialise per node on node.mu, a
// sync.RWMutex, and take locks only top-down, a parent before its child;
// that is the whole lock order:
//
//   - Subscribe descends hand over hand with read locks (the parent stays
//     locked until the child is locked, so a child found attached cannot be
//     pruned meanwhile), upgrading a parent to a write lock only to add a
//     missing child, and write-locks the node where the filter ends.
//   - Unsubscribe descends the same way and then prunes empty nodes
//     bottom-up, write-locking parent then child at each step. A pruned
//     node is marked dead; a writer that finds a dead node after an upgrade
//     starts again from the root. A matcher that reaches a node just pruned
//     finds it empty.
//
// A Match running concurrently with a Subscribe or Unsubscribe sees each
// node either before or after the change.
//
// Retained has a single RWMutex: it is not on the publish fan-out path, and
// its Match and Range call back without holding it.
package topic
