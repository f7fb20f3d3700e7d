package pebble

import (
	"sync"
	"testing"
	"time"

	engine "github.com/cockroachdb/pebble/v2"
	"go.uber.org/goleak"
)

// fakeDB is the database side of the scheduler: allowed slots and a count
// of compactions waiting for one.
type fakeDB struct {
	mu        sync.Mutex
	allowed   int
	waiting   int
	scheduled []engine.CompactionGrantHandle
}

func (d *fakeDB) GetAllowedWithoutPermission() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.allowed
}

func (d *fakeDB) GetWaitingCompaction() (bool, engine.WaitingCompaction) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.waiting > 0, engine.WaitingCompaction{}
}

func (d *fakeDB) Schedule(h engine.CompactionGrantHandle) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.waiting == 0 {
		return false
	}
	d.waiting--
	d.scheduled = append(d.scheduled, h)
	return true
}

func (d *fakeDB) set(allowed, waiting int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.allowed, d.waiting = allowed, waiting
}

func (d *fakeDB) scheduledCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.scheduled)
}

// registered returns a scheduler sampling every interval, registered
// with a fake database that allows allowed compactions.
func registered(allowed int, interval time.Duration) (*compactionScheduler, *fakeDB) {
	db := &fakeDB{allowed: allowed}
	s := newCompactionScheduler(interval)
	s.Register(2, db)
	return s, db
}

func TestCompactionSchedulerHasNoGoroutineWhileNothingRuns(t *testing.T) {
	before := goleak.IgnoreCurrent() // the goroutines there before the scheduler
	defer goleak.VerifyNone(t, before)
	s, _ := registered(1, time.Millisecond)
	s.UpdateGetAllowedWithoutPermission()
	// No sampling goroutine while nothing runs, here or at the end.
	if err := goleak.Find(before); err != nil {
		t.Fatalf("idle scheduler: %v", err)
	}
	ok, h := s.TrySchedule()
	if !ok {
		t.Fatal("TrySchedule refused the one slot Pebble allows")
	}
	if ok, _ := s.TrySchedule(); ok {
		t.Fatal("TrySchedule granted a second slot of one")
	}
	h.Done()
	// Once the last compaction is done the sampling goroutine ends.
	s.Unregister()
}

func TestCompactionSchedulerSamplesMoreSlotsWhileCompacting(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, db := registered(1, time.Millisecond)
	ok, h := s.TrySchedule()
	if !ok {
		t.Fatal("first slot refused")
	}
	// A backlog grows while the compaction runs: two more allowed, two
	// waiting. Nothing tells the scheduler; its sampling must find them.
	db.set(3, 2)
	for deadline := time.Now().Add(5 * time.Second); db.scheduledCount() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 waiting compactions granted", db.scheduledCount())
		}
		time.Sleep(time.Millisecond) // polling a counter, not waiting for an event
	}
	if ok, _ := s.TrySchedule(); ok {
		t.Fatal("a fourth slot of three granted")
	}
	h.Done()
	for _, g := range db.scheduled {
		g.Done()
	}
	s.Unregister()
}

func TestCompactionSchedulerDoneGrantsAWaitingCompaction(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, db := registered(1, time.Hour) // no sampling in time: Done alone must grant
	_, h := s.TrySchedule()
	db.set(1, 1) // refused for want of a slot, Pebble now waits
	if ok, _ := s.TrySchedule(); ok {
		t.Fatal("granted beyond the limit")
	}
	h.Done()
	if got := db.scheduledCount(); got != 1 {
		t.Fatalf("after Done, %d waiting compactions granted, want 1", got)
	}
	db.scheduled[0].Done()
	s.Unregister()
}

func TestCompactionSchedulerGrantsNothingAfterUnregister(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, db := registered(2, time.Millisecond)
	_, h := s.TrySchedule()
	s.Unregister()
	db.set(2, 1)
	h.Done()
	if ok, _ := s.TrySchedule(); ok || db.scheduledCount() != 0 {
		t.Fatalf("granted after Unregister: TrySchedule %v, scheduled %d", ok, db.scheduledCount())
	}
}

func TestStoreCompactsThroughItsScheduler(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close() // before the directory goes, and waiting for the compactions
	// Flushed one by one, these batches leave more L0 files than Pebble's
	// compaction threshold: it must ask the scheduler and compact them.
	for i := range 12 {
		b := s.db.NewBatch()
		for k := range 100 {
			b.Set([]byte{'t', byte(k)}, []byte{byte(i)}, nil) // overlapping files: read amplification grows
		}
		if err := b.Commit(engine.Sync); err != nil {
			t.Fatal(err)
		}
		if err := s.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); s.db.Metrics().Compact.Count == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no compaction ran; L0 has %d files", s.db.Metrics().Levels[0].TablesCount)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not waiting for an event
	}
}
