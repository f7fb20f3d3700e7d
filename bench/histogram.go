package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram keeps 64 linear sub-buckets per power of two, so a recorded
// value is reported within 1/64 (1.6%) of its true value, from 1 ns up to
// maxTrackable; larger values land in the last bucket.
const (
	histSubBits  = 6
	histSub      = 1 << histSubBits
	histMaxShift = 34 // values up to 2^41 ns, about 36 minutes
	histBuckets  = histSub*histMaxShift + 2*histSub
	maxTrackable = int64(1)<<(histMaxShift+histSubBits+1) - 1
)

// Histogram counts durations in log-spaced buckets. Record is safe for
// concurrent use and never allocates; readers take a Snapshot.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

// bucketOf returns the bucket index of v (nanoseconds, v >= 0).
func bucketOf(v int64) int {
	if v < 2*histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v > maxTrackable {
		v = maxTrackable
	}
	shift := bits.Len64(uint64(v)) - histSubBits - 1
	return histSub*shift + int(v>>shift)
}

// bucketHigh returns the largest value that falls in bucket i, which is what
// a percentile reports, as HdrHistogram does.
func bucketHigh(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	top := int64(i - histSub*shift)
	return (top+1)<<shift - 1
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Snapshot copies the counts so far.
func (h *Histogram) Snapshot() *HistSnapshot {
	s := &HistSnapshot{Max: time.Duration(h.max.Load())}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		s.Total += c
	}
	return s
}

// HistSnapshot is a frozen copy of a Histogram, or the difference of two.
type HistSnapshot struct {
	counts [histBuckets]uint64
	Total  uint64
	Max    time.Duration // exact for a whole run; bucket bound for a difference
}

// Sub returns the samples recorded in s but not in prev (an interval).
func (s *HistSnapshot) Sub(prev *HistSnapshot) *HistSnapshot {
	d := &HistSnapshot{}
	hi := -1
	for i := range s.counts {
		c := s.counts[i] - prev.counts[i]
		d.counts[i] = c
		d.Total += c
		if c > 0 {
			hi = i
		}
	}
	if hi >= 0 {
		d.Max = min(time.Duration(bucketHigh(hi)), s.Max)
	}
	return d
}

// Percentile returns the value below or at which q percent of the samples
// fall (q in 0..100), or 0 with no samples.
func (s *HistSnapshot) Percentile(q float64) time.Duration {
	if s.Total == 0 {
		return 0
	}
	rank := uint64(q/100*float64(s.Total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			v := time.Duration(bucketHigh(i))
			if s.Max > 0 && v > s.Max {
				v = s.Max
			}
			return v
		}
	}
	return s.Max
}
