package pebble

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/mqgate/mqgate/core/store"
)

// TestCrashKeepsSyncedWrites cuts power at random moments while many
// goroutines make synced writes: after reopening each crash clone, every
// write whose synced call had returned before the cut is there, in order,
// and sequence numbers handed out later never collide with recovered ones.
// Unsynced writes may or may not survive; the clone keeps a random share
// of unsynced data, so torn log tails are exercised too.
func TestCrashKeepsSyncedWrites(t *testing.T) {
	defer func(b uint64) { seqBlock = b }(seqBlock)
	seqBlock = 7 // reserve often, so crashes land between reservations

	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { crashRun(t, seed) })
	}
}

const crashWriters = 16

// crashSnapshot is what the writers had acknowledged when a clone was cut.
type crashSnapshot struct {
	fs     *vfs.MemFS
	acked  [crashWriters]int64 // writes 0..acked-1 of each writer returned
	outbox [crashWriters]int64
	tried  [crashWriters]int64 // writes started, an upper bound
}

func crashRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6d7167617465))
	fs := vfs.NewCrashableMem()
	s := openTest(t, "/data", Options{FS: fs})

	var (
		acked, outboxAcked, tried [crashWriters]atomic.Int64
		stop                      atomic.Bool
		wg                        sync.WaitGroup
	)
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := store.Key{Namespace: "crash", ClientID: fmt.Sprint(w)}
			for i := int64(0); !stop.Load(); i++ {
				tried[w].Store(i + 1)
				e := &store.QueueEntry{QoS: 1, Message: &store.Message{Topic: "t", QoS: 1, Payload: fmt.Appendf(nil, "%d", i)}}
				// Every third write is unsynced: it may be lost, but
				// then so are the writes after it until the next
				// synced one, since the log is recovered as a prefix.
				if _, err := s.Queues().Append(k, e, i%3 != 2); err != nil {
					t.Error(err)
					return
				}
				if i%3 != 2 {
					acked[w].Store(i + 1)
				}
				if i%10 == 0 {
					if _, err := s.Outbox().Append(k.ClientID, e.Message, true); err != nil {
						t.Error(err)
						return
					}
					outboxAcked[w].Add(1)
				}
			}
		}()
	}

	var snaps []crashSnapshot
	deadline := time.Now().Add(5 * time.Second)
	for range 3 {
		// Let the writers make a random amount of progress.
		target := total(&acked) + int64(50+rng.IntN(400))
		for total(&acked) < target && time.Now().Before(deadline) {
			runtime.Gosched()
		}
		var snap crashSnapshot
		for w := range crashWriters {
			snap.acked[w] = acked[w].Load()
			snap.outbox[w] = outboxAcked[w].Load()
		}
		snap.fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		for w := range crashWriters {
			snap.tried[w] = tried[w].Load()
		}
		snaps = append(snaps, snap)
	}
	stop.Store(true)
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for i, snap := range snaps {
		checkCrashClone(t, i, &snap)
	}
}

func total(a *[crashWriters]atomic.Int64) int64 {
	var n int64
	for i := range a {
		n += a[i].Load()
	}
	return n
}

func checkCrashClone(t *testing.T, clone int, snap *crashSnapshot) {
	s, err := Open("/data", Options{FS: snap.fs})
	if err != nil {
		t.Fatalf("clone %d: reopen: %v", clone, err)
	}
	defer s.Close()
	seen := map[uint64]bool{}
	var acked, recovered int64
	for w := range crashWriters {
		k := store.Key{Namespace: "crash", ClientID: fmt.Sprint(w)}
		var n int64
		err := s.Queues().Range(k, func(e *store.QueueEntry) bool {
			if want := fmt.Sprint(n); string(e.Message.Payload) != want {
				t.Errorf("clone %d writer %d: entry %d has payload %q: a hole or reordering", clone, w, n, e.Message.Payload)
				return false
			}
			if seen[e.Seq] {
				t.Errorf("clone %d: seq %d used twice", clone, e.Seq)
			}
			seen[e.Seq] = true
			n++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < snap.acked[w] {
			t.Errorf("clone %d writer %d: %d entries recovered, but %d synced appends had returned", clone, w, n, snap.acked[w])
		}
		if n > snap.tried[w] {
			t.Errorf("clone %d writer %d: %d entries recovered, only %d were written", clone, w, n, snap.tried[w])
		}
		win, err := s.Outbox().Peek(k.ClientID, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(win)) < snap.outbox[w] {
			t.Errorf("clone %d writer %d: %d outbox entries recovered, %d synced", clone, w, len(win), snap.outbox[w])
		}
		for _, e := range win {
			seen[e.Seq] = true
		}
		acked += snap.acked[w]
		recovered += n
	}
	// Sequence numbers handed out after the crash must not collide with
	// recovered ones.
	for range 20 {
		e := &store.QueueEntry{Message: &store.Message{Topic: "after"}}
		seq, err := s.Queues().Append(store.Key{Namespace: "after"}, e, false)
		if err != nil {
			t.Fatal(err)
		}
		if seen[seq] {
			t.Fatalf("clone %d: seq %d reused after the crash", clone, seq)
		}
	}
	t.Logf("clone %d: %d synced appends acknowledged, %d recovered", clone, acked, recovered)
}

// TestBatchSyncFlushesInBackground: in SyncBatch mode a sync-flagged write,
// or an unsynced one followed by Store.Sync (what the core does), returns
// before it is durable, and the background flush makes it durable within
// about one interval without any further write.
func TestBatchSyncFlushesInBackground(t *testing.T) {
	for _, viaSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("store sync %v", viaSync), func(t *testing.T) { testBatchSync(t, viaSync) })
	}
}

func testBatchSync(t *testing.T, viaSync bool) {
	fs := vfs.NewCrashableMem()
	s := openTest(t, "/data", Options{FS: fs, Sync: SyncBatch, SyncInterval: 5 * time.Millisecond})
	defer s.Close()
	k := store.Key{ClientID: "c"}
	if _, err := s.Queues().Append(k, &store.QueueEntry{Message: &store.Message{Topic: "t"}}, !viaSync); err != nil {
		t.Fatal(err)
	}
	if viaSync {
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		clone := fs.CrashClone(vfs.CrashCloneCfg{})
		c, err := Open("/data", Options{FS: clone})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := c.Queues().Range(k, func(*store.QueueEntry) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the batched write never became durable")
		}
		runtime.Gosched()
	}
}
