package pebble

import (
	"sync/atomic"
	"time"
)

// SyncBuckets are the upper bounds, in seconds, of the sync-latency
// histogram: from a fast SSD's fraction of a millisecond to an SD card's
// worst seconds.
var SyncBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// syncLatency counts how long device syncs took, for /metrics; its
// counters are atomics so Sync never waits on a reader.
type syncLatency struct {
	counts [13]atomic.Uint64 // per SyncBuckets bucket, and one beyond the last
	sumNs  atomic.Int64
	n      atomic.Uint64
}

func (h *syncLatency) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(SyncBuckets) && s > SyncBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
	h.n.Add(1)
}

// SyncLatency returns the histogram of the store's device syncs:
// cumulative counts per SyncBuckets bound, the total of their durations
// in seconds, and their number.
func (s *Store) SyncLatency() (cumulative []uint64, sum float64, count uint64) {
	h := &s.syncs
	cumulative = make([]uint64, len(SyncBuckets))
	var c uint64
	for i := range SyncBuckets {
		c += h.counts[i].Load()
		cumulative[i] = c
	}
	return cumulative, time.Duration(h.sumNs.Load()).Seconds(), h.n.Load()
}
