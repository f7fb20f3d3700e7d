package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/mqgate/mqgate/core/store"
)

// remoteSubs records in the store the filters a bridge has subscribed to
// upstream, so that on every connect the subscriptions of in rules a
// former configuration had are removed: an upstream that keeps the
// bridge's session (clean start off, the default) would otherwise keep
// them, queue what they match while the bridge is away and send it to a
// bridge with no rule for it (checklist #16).
//
// The record is one entry of an outbox of its own, named after the
// bridge with the suffix "/subscriptions": a bridge name holds no '/', so
// no bridge's outbox has that name. Its payload is the filters in JSON.
type remoteSubs struct {
	st  store.Store
	key string
}

func newRemoteSubs(st store.Store, bridge string) remoteSubs {
	return remoteSubs{st: st, key: bridge + "/subscriptions"}
}

// load returns the filters recorded, and the record's entry (0: none).
func (r remoteSubs) load() ([]string, uint64, error) {
	es, err := r.st.Outbox().Peek(r.key, 0, 16)
	if err != nil || len(es) == 0 {
		return nil, 0, err
	}
	last := es[len(es)-1]
	var fs []string
	if err := json.Unmarshal(last.Message.Payload, &fs); err != nil {
		return nil, last.Seq, nil // unreadable: as if nothing were recorded
	}
	return fs, last.Seq, nil
}

// save replaces the record with fs, synced.
func (r remoteSubs) save(fs []string) error {
	b, _ := json.Marshal(fs)
	seq, err := r.st.Outbox().Append(r.key, &store.Message{Topic: "subscriptions", Payload: b}, true)
	if err != nil {
		return err
	}
	return r.st.Outbox().DeleteUpTo(r.key, seq-1)
}

// subscribe makes the upstream's subscriptions the in rules': it records
// the union of the old record and the new filters before subscribing (a
// crash then still knows every filter that may be subscribed), subscribes,
// unsubscribes what only the old record has, and records the new filters.
func (br *Bridge) subscribe(ctx context.Context, up upstream) error {
	subs := make([]remoteSub, 0, len(br.in))
	var now []string
	for _, r := range br.in {
		subs = append(subs, remoteSub{Filter: r.m.Filter(), QoS: r.qos})
		if !slices.Contains(now, r.m.Filter()) {
			now = append(now, r.m.Filter())
		}
	}
	rs := newRemoteSubs(br.st, br.cfg.Name)
	old, _, err := rs.load()
	if err != nil {
		return fmt.Errorf("recorded upstream subscriptions: %w", err)
	}
	var stale []string
	for _, f := range old {
		if !slices.Contains(now, f) {
			stale = append(stale, f)
		}
	}
	union := append(slices.Clone(old), now...)
	union = slices.Compact(slices.Sorted(slices.Values(union)))
	if len(union) != len(old) {
		if err := rs.save(union); err != nil {
			return fmt.Errorf("recording upstream subscriptions: %w", err)
		}
	}
	if err := up.Subscribe(ctx, subs); err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	if err := up.Unsubscribe(ctx, stale); err != nil {
		if !errors.Is(err, errRefused) {
			return err
		}
		// An upstream that will not remove them: nothing the bridge
		// can do but not ask again on every connect.
		br.log.Warn("upstream refused to remove subscriptions of in rules no longer configured", "filters", stale, "err", err)
	} else {
		br.log.Info("removed upstream subscriptions of in rules no longer configured", "filters", stale)
	}
	slices.Sort(now)
	if err := rs.save(now); err != nil {
		return fmt.Errorf("recording upstream subscriptions: %w", err)
	}
	return nil
}
