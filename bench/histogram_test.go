package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketBoundsHoldEveryValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := rng.Int64N(maxTrackable)
		hi := bucketHigh(bucketOf(v))
		if hi < v {
			t.Fatalf("value %d: bucket upper bound %d below it", v, hi)
		}
		if float64(hi-v) > float64(v)/histSub+1 {
			t.Fatalf("value %d: bucket upper bound %d more than 1/%d above it", v, hi, histSub)
		}
	}
	for i := 1; i < histBuckets; i++ {
		if bucketHigh(i) <= bucketHigh(i-1) {
			t.Fatalf("bucket %d upper bound %d not above bucket %d's %d", i, bucketHigh(i), i-1, bucketHigh(i-1))
		}
		if bucketOf(bucketHigh(i)) != i {
			t.Fatalf("bucket %d: its upper bound maps to bucket %d", i, bucketOf(bucketHigh(i)))
		}
	}
}

func TestPercentilesOfKnownData(t *testing.T) {
	tests := []struct {
		name    string
		samples func(record func(time.Duration))
		q       float64
		want    time.Duration
	}{
		{"uniform 1..10000us p50", uniformUS(10000), 50, 5000 * time.Microsecond},
		{"uniform 1..10000us p99", uniformUS(10000), 99, 9900 * time.Microsecond},
		{"uniform 1..10000us p99.9", uniformUS(10000), 99.9, 9990 * time.Microsecond},
		{"uniform 1..10000us p100", uniformUS(10000), 100, 10000 * time.Microsecond},
		{"small exact values p50", func(rec func(time.Duration)) {
			for v := 1; v <= 99; v++ {
				rec(time.Duration(v))
			}
		}, 50, 50},
		{"one outlier does not move p99", func(rec func(time.Duration)) {
			for range 999 {
				rec(time.Millisecond)
			}
			rec(time.Second)
		}, 99, time.Millisecond},
		{"one outlier is p99.99", func(rec func(time.Duration)) {
			for range 999 {
				rec(time.Millisecond)
			}
			rec(time.Second)
		}, 99.99, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			tt.samples(h.Record)
			got := h.Snapshot().Percentile(tt.q)
			if got < tt.want || float64(got-tt.want) > float64(tt.want)/histSub {
				t.Fatalf("p%v = %v, want %v (within 1/%d above)", tt.q, got, tt.want, histSub)
			}
		})
	}
}

func uniformUS(n int) func(func(time.Duration)) {
	return func(rec func(time.Duration)) {
		for v := 1; v <= n; v++ {
			rec(time.Duration(v) * time.Microsecond)
		}
	}
}

func TestSnapshotDifferenceIsTheInterval(t *testing.T) {
	var h Histogram
	for range 100 {
		h.Record(time.Second)
	}
	before := h.Snapshot()
	for range 10 {
		h.Record(time.Millisecond)
	}
	d := h.Snapshot().Sub(before)
	if d.Total != 10 {
		t.Fatalf("interval total = %d, want 10", d.Total)
	}
	if p := d.Percentile(99); p < time.Millisecond || p > time.Millisecond+time.Millisecond/histSub {
		t.Fatalf("interval p99 = %v, want about 1ms", p)
	}
	if d.Max > time.Millisecond+time.Millisecond/histSub {
		t.Fatalf("interval max = %v, want about 1ms", d.Max)
	}
	if m := h.Snapshot().Max; m != time.Second {
		t.Fatalf("max = %v, want 1s", m)
	}
}

func TestEmptyHistogramReportsZero(t *testing.T) {
	var h Histogram
	if p := h.Snapshot().Percentile(99); p != 0 {
		t.Fatalf("p99 of nothing = %v", p)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	v := time.Duration(0)
	if n := testing.AllocsPerRun(1000, func() { v += 7919; h.Record(v) }); n != 0 {
		t.Fatalf("Record allocates %v times per sample", n)
	}
}
