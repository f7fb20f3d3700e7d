package bench

import (
	"testing"
	"time"
)

func TestRateLimitedPublishersAreSpreadOverOneInterval(t *testing.T) {
	r := &run{pubs: make([]*clientSpec, 4)}
	want := []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 1500 * time.Microsecond, 0}
	for i, w := range want {
		if got := r.phase(500); got != w {
			t.Errorf("publisher %d: phase %v, want %v", i, got, w)
		}
	}
	if got := (&run{pubs: make([]*clientSpec, 4)}).phase(0); got != 0 {
		t.Errorf("unthrottled publisher: phase %v, want 0", got)
	}
}

func TestPacerSendsNothingBeforeItsPhase(t *testing.T) {
	p := newPacer(1000, time.Hour)
	stop := make(chan struct{})
	close(stop) // the sleep until the phase returns at once
	if n := p.due(stop); n != 0 {
		t.Fatalf("due before the phase: %d messages, want 0", n)
	}
	p = newPacer(1000, 0)
	if n := p.due(stop); n != 1 {
		t.Fatalf("due at the start: %d messages, want 1", n)
	}
}

// A paced publisher waits on one timer: waiting allocates nothing, so the
// bench's own garbage collections do not show in the latency it measures.
func TestPacerWaitsWithoutAllocating(t *testing.T) {
	p := newPacer(20000, 0) // a message every 50 µs
	stop := make(chan struct{})
	waits := 0
	allocs := testing.AllocsPerRun(200, func() {
		for {
			n := p.due(stop)
			if n == 0 {
				waits++
				return
			}
			p.sent += n
		}
	})
	if waits == 0 {
		t.Fatal("the pacer never waited")
	}
	if allocs > 0 {
		t.Fatalf("%.2f allocations per wait, want 0", allocs)
	}
}
