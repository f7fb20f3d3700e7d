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
	all := make([]*session, 0, b.sessions.Len())
	all = b.allSessionsLocked(all)
	b.regMu.Unlock()
	removed := 0
	for _, s := range all {
		s.mu.Lock()
		info := s.info
		type idFilter struct{ id, filter string }
		subs := make([]idFilter, 0, len(s.subs))
		for id, sub := range s.subs {
			subs = append(subs, idFilter{id, sub.filter})
		}
		s.mu.Unlock()
		for _, f := range subs {
			if b.Authorize(ctx, &info, ActionSubscribe, f.filter) {
				continue
			}
			s.mu.Lock()
			var gone *subscription
			if sub, ok := s.subs[f.id]; ok && sub.filter == f.filter && !s.ended {
				gone = s.removeSubLocked(f.id)
			}
			s.mu.Unlock()
			if gone != nil {
				removed++
				b.emitUnsubscribed(&info, gone.opts.Key, gone.filter)
			}
			b.log.Info("subscription removed: no longer authorized", "client", info.ClientID, "filter", f.filter)
		}
	}
	return removed
}
