package core

import "context"

// Reauthorize checks every session's subscriptions against the current
// authorizer and removes those it now denies, so an ACL change reaches
// durable subscriptions made under the old rules (CVE-2021-34434 class).
// The gateway calls it after reloading the ACL. It returns the number of
// subscriptions removed.
func (b *Broker) Reauthorize(ctx context.Context) int {
	if b.cfg.Authorizer == nil {
		return 0
	}
	b.regMu.Lock()
	all := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		all = append(all, s)
	}
	b.regMu.Unlock()
	removed := 0
	for _, s := range all {
		s.mu.Lock()
		info := s.info
		filters := make([]string, 0, len(s.subs))
		for f := range s.subs {
			filters = append(filters, f)
		}
		s.mu.Unlock()
		for _, f := range filters {
			if b.Authorize(ctx, &info, ActionSubscribe, f) {
				continue
			}
			s.mu.Lock()
			if _, ok := s.subs[f]; ok && !s.ended {
				delete(s.subs, f)
				b.router.Unsubscribe(s, f)
				if s.persist {
					s.storeErr("delete subscription", b.store.Sessions().DeleteSubscription(s.key.store(), f))
				}
				removed++
			}
			s.mu.Unlock()
			b.log.Info("subscription removed: no longer authorized", "client", info.ClientID, "filter", f)
		}
	}
	return removed
}
