package memory

import (
	"slices"
	"strings"

	"github.com/mqgate/mqgate/core/store"
)

type bans struct{ s *Store }

func (s *Store) Bans() store.Bans { return bans{s} }

func (v bans) Put(b *store.Ban) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if v.s.bans == nil {
		v.s.bans = make(map[[2]string]store.Ban)
	}
	v.s.bans[[2]string{b.Kind, b.Value}] = *b
	return nil
}

func (v bans) Delete(kind, value string) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	delete(v.s.bans, [2]string{kind, value})
	return nil
}

func (v bans) List() ([]store.Ban, error) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	out := make([]store.Ban, 0, len(v.s.bans))
	for _, b := range v.s.bans {
		out = append(out, b)
	}
	slices.SortFunc(out, func(x, y store.Ban) int {
		if c := strings.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
	return out, nil
}
