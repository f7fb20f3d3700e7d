package pebble

import (
	"testing"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/storetest"
)

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir(), Options{}) })
}

func TestConformanceBatchSync(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{Sync: SyncBatch})
	})
}

func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, Options{}) })
}
