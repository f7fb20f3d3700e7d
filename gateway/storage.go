package gateway

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/pebble"
)

// storage is the gateway's store: opened before the broker, restored into
// it, and closed after it.
type storage struct {
	st   store.Store // nil: storage.type memory, the broker keeps state in memory only
	once sync.Once
	err  error
}

// openStorage opens the configured store. A data directory the store
// cannot use stops startup with the store's message, which names the
// directory and what to do (another process holds it, the user lacks
// access, a parent is missing, the store is unreadable: see the Err
// variables of core/store/pebble); it is never wiped.
func openStorage(c *conf.StorageConfig, log *slog.Logger) (*storage, error) {
	if c.Type == "memory" {
		return &storage{}, nil
	}
	opts := pebble.Options{
		SyncInterval: c.SyncInterval.D(),
		CacheSize:    int64(c.CacheSize),
		MemTableSize: uint64(c.MemtableSize),
		Logger:       log.With("component", "store"),
	}
	if c.Sync == "batch" {
		opts.Sync = pebble.SyncBatch
	}
	st, err := pebble.Open(c.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	log.Info("storage opened", "dir", c.Dir, "sync", c.Sync)
	return &storage{st: st}, nil
}

// backend is the store the broker uses; nil for memory.
func (s *storage) backend() store.Store {
	if s == nil || s.st == nil {
		return nil
	}
	return s.st
}

// close syncs and closes the store once; the broker must be closed.
func (s *storage) close() error {
	if s == nil || s.st == nil {
		return nil
	}
	s.once.Do(func() { s.err = s.st.Close() })
	return s.err
}
