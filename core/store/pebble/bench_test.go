package pebble

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// BenchmarkSyncedAppend measures persistent QoS 1 throughput: each
// operation is one synced queue append of a small sensor message, as the
// core makes before PUBACK. With many writers Pebble's group commit shares
// fsyncs, so throughput should grow far faster than the single writer's.
// Run on the disk whose numbers you want: b.TempDir is under $TMPDIR.
//
// mode "append+sync" is the alternative the core could use: an unsynced
// append followed by Store.Sync (the core uses it because its appends run
// under a session lock and the sync must not).
func BenchmarkSyncedAppend(b *testing.B) {
	for _, mode := range []string{"synced-append", "append+sync"} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) { benchAppend(b, mode, writers) })
		}
	}
}

func benchAppend(b *testing.B, mode string, writers int) {
	s := openTest(b, b.TempDir(), Options{})
	defer s.Close()
	m := &store.Message{
		Topic:   "sensors/greenhouse/3/temperature",
		Payload: []byte(`{"t":21.5,"rh":48,"ts":1767225600}`),
		QoS:     1,
		Origin:  store.Origin{Protocol: "mqtt", Namespace: "mqtt", ClientID: "sensor-3"},
	}
	before := s.db.Metrics().WAL.BytesWritten
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := store.Key{Namespace: "mqtt", ClientID: fmt.Sprint("sub-", w)}
			for range n {
				if _, err := s.Queues().Append(k, &store.QueueEntry{Message: m, QoS: 1}, mode == "synced-append"); err != nil {
					b.Error(err)
					return
				}
				if mode == "append+sync" {
					if err := s.Sync(); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	walBytes := s.db.Metrics().WAL.BytesWritten - before
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(walBytes)/float64(b.N), "WAL-bytes/msg")
}
