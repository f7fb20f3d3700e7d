package bridge

import (
	"context"
	"errors"
	"reflect"
)

// Changes says what Reconfigure did, by bridge name.
type Changes struct {
	Started, Restarted, Stopped, Kept []string
}

// Reconfigure applies a new list of bridges to the running set, as SIGHUP
// does: a bridge whose configuration is unchanged keeps running untouched;
// a changed one is stopped and started again with its new configuration
// (its local session and outbox stay, so what it held goes out with the
// new settings, in order); a new one starts; a removed one stops and its
// local session is deleted, as at start, while its outbox stays in the
// store in case it comes back. A disabled bridge stays disabled.
//
// A bridge that fails to start is reported in the error and left out;
// the others are applied.
func (s *Set) Reconfigure(ctx context.Context, cfgs []Config) (Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ch Changes
	var errs []error
	old := map[string]*Bridge{}
	for _, br := range s.bridges {
		old[br.cfg.Name] = br
	}
	next := make([]Config, len(cfgs))
	copy(next, cfgs)
	var running []*Bridge
	for i := range next {
		cfg := &next[i]
		br := old[cfg.Name]
		delete(old, cfg.Name)
		switch {
		case br != nil && reflect.DeepEqual(*br.cfg, *cfg):
			running = append(running, br)
			ch.Kept = append(ch.Kept, cfg.Name)
			continue
		case br != nil:
			br.stop()
			ch.Restarted = append(ch.Restarted, cfg.Name)
			if br.disabled.Load() {
				// Built, not started, until it is enabled again.
				nb, err := newBridge(cfg, s.node, s.st, s.broker, s.log.With("bridge", cfg.Name))
				if err != nil {
					errs = append(errs, err)
					continue
				}
				nb.disabled.Store(true)
				running = append(running, nb)
				continue
			}
		default:
			ch.Started = append(ch.Started, cfg.Name)
		}
		nb, err := s.startBridge(ctx, cfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		running = append(running, nb)
	}
	for name, br := range old {
		br.stop()
		s.byMu.Lock()
		delete(s.byName, name)
		s.byMu.Unlock()
		s.broker.DeleteSession(Namespace, name)
		ch.Stopped = append(ch.Stopped, name)
	}
	s.cfgs, s.bridges = next, running
	for _, br := range running {
		s.byMu.Lock()
		s.byName[br.cfg.Name] = br
		s.byMu.Unlock()
	}
	return ch, errors.Join(errs...)
}
