package core

import (
	"sync/atomic"
	"time"
)

// StoreHealth is what the store's writes and syncs came to since the
// broker started: how many failed, and the last failure. A failed durable
// write refuses the publish that needed it; a failed unsynced write costs
// at most a redelivery. Either way the operator should know.
type StoreHealth struct {
	Failures  int64     // writes, syncs and expiry runs that failed
	LastError string    // the last failure's error; "" when none failed
	LastAt    time.Time // when it failed; zero when none failed
}

// storeFailure is the last failure, swapped in whole.
type storeFailure struct {
	err string
	at  time.Time
}

// storeHealth counts the store's failures (StoreHealth).
type storeHealth struct {
	failures atomic.Int64
	last     atomic.Pointer[storeFailure]
}

// storeFailed records a failed store operation. It runs only when one
// failed, never on the message path's success.
func (b *Broker) storeFailed(err error) {
	b.storeHealth.failures.Add(1)
	b.storeHealth.last.Store(&storeFailure{err: err.Error(), at: time.Now()})
}

// StoreHealth returns the store's failures since the broker started.
func (b *Broker) StoreHealth() StoreHealth {
	h := StoreHealth{Failures: b.storeHealth.failures.Load()}
	if f := b.storeHealth.last.Load(); f != nil {
		h.LastError, h.LastAt = f.err, f.at
	}
	return h
}
