package pebble

import (
	"sync"
	"time"

	engine "github.com/cockroachdb/pebble/v2"
)

// compactionScheduler grants Pebble's compactions as its default
// scheduler does, without the default's cost when idle. The default
// samples the number of compactions Pebble may run every 100 ms for the
// whole life of the database, so an idle gateway woke ten times a second
// (on a battery- or SD-card-powered edge box, for nothing). This one
// samples only while a compaction runs: then a growing backlog may allow
// more, and nothing else would say so. With none running, a compaction
// Pebble wants asks TrySchedule, which grants it, since Pebble always
// allows at least one; a compaction refused for want of a slot waits for
// a running one, whose Done grants the slot again.
//
// Locking: Pebble's mutexes come before mu. Calls into the database that
// take its mutex (GetWaitingCompaction, Schedule) are made without mu
// held, from Done or the sampling goroutine, never from
// UpdateGetAllowedWithoutPermission, which Pebble may call with its
// mutex held.
type compactionScheduler struct {
	db       engine.DBForCompaction
	interval time.Duration

	mu           sync.Mutex
	running      int
	lastAllowed  int
	granting     bool       // a grant round is under way; rounds run one at a time
	grantDone    *sync.Cond // signalled when granting ends
	sampling     bool       // the sampling goroutine runs
	unregistered bool
	poke         chan struct{} // wakes the sampling goroutine early
	wg           sync.WaitGroup
}

var (
	_ engine.CompactionScheduler   = (*compactionScheduler)(nil)
	_ engine.CompactionGrantHandle = (*compactionScheduler)(nil)
)

func newCompactionScheduler(interval time.Duration) *compactionScheduler {
	s := &compactionScheduler{interval: interval, poke: make(chan struct{}, 1)}
	s.grantDone = sync.NewCond(&s.mu)
	return s
}

// Register implements engine.CompactionScheduler.
func (s *compactionScheduler) Register(_ int, db engine.DBForCompaction) { s.db = db }

// Unregister implements engine.CompactionScheduler: once it returns, no
// grant is under way and none will be made.
func (s *compactionScheduler) Unregister() {
	s.mu.Lock()
	s.unregistered = true
	for s.granting {
		s.grantDone.Wait()
	}
	s.mu.Unlock()
	s.wake()
	s.wg.Wait()
}

// TrySchedule implements engine.CompactionScheduler.
func (s *compactionScheduler) TrySchedule() (bool, engine.CompactionGrantHandle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unregistered {
		return false, nil
	}
	s.lastAllowed = s.db.GetAllowedWithoutPermission()
	if s.lastAllowed <= s.running {
		return false, nil
	}
	s.running++
	s.sampleLocked()
	return true, s
}

// UpdateGetAllowedWithoutPermission implements engine.CompactionScheduler.
// More allowed matters only while compactions run (see the type), and
// then the sampling goroutine grants them.
func (s *compactionScheduler) UpdateGetAllowedWithoutPermission() {
	s.mu.Lock()
	allowed := s.db.GetAllowedWithoutPermission()
	more := allowed > s.lastAllowed && s.sampling
	s.lastAllowed = allowed
	s.mu.Unlock()
	if more {
		s.wake()
	}
}

// Started, MeasureCPU and CumulativeStats implement
// engine.CompactionGrantHandle; only the count of running compactions
// matters here.
func (s *compactionScheduler) Started()                                          {}
func (s *compactionScheduler) MeasureCPU(engine.CompactionGoroutineKind)         {}
func (s *compactionScheduler) CumulativeStats(engine.CompactionGrantHandleStats) {}

// Done implements engine.CompactionGrantHandle: the slot goes to a
// waiting compaction, if any.
func (s *compactionScheduler) Done() {
	s.mu.Lock()
	s.running--
	s.grantLockedAndUnlock()
}

func (s *compactionScheduler) wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// sampleLocked starts the sampling goroutine unless it runs. Lock held on
// entry.
func (s *compactionScheduler) sampleLocked() {
	if s.sampling || s.unregistered {
		return
	}
	s.sampling = true
	s.wg.Add(1)
	go s.sample()
}

// sample grants what more Pebble allows every interval (or when poked)
// while compactions run, and ends once none does.
func (s *compactionScheduler) sample() {
	defer s.wg.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.poke:
		}
		s.mu.Lock()
		if s.unregistered || s.running <= 0 {
			s.sampling = false
			s.mu.Unlock()
			return
		}
		s.grantLockedAndUnlock()
	}
}

// grantLockedAndUnlock grants waiting compactions the slots Pebble allows
// beyond those running. Lock held on entry; released on return.
func (s *compactionScheduler) grantLockedAndUnlock() {
	defer s.mu.Unlock()
	for s.granting {
		s.grantDone.Wait()
	}
	if s.unregistered {
		return
	}
	s.lastAllowed = s.db.GetAllowedWithoutPermission()
	toGrant := s.lastAllowed - s.running
	if toGrant <= 0 {
		return
	}
	s.granting = true
	s.mu.Unlock()
	for ; toGrant > 0; toGrant-- {
		if waiting, _ := s.db.GetWaitingCompaction(); !waiting {
			break
		}
		if !s.db.Schedule(s) {
			break
		}
		s.mu.Lock()
		s.running++
		s.sampleLocked()
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.granting = false
	s.grantDone.Broadcast()
}
