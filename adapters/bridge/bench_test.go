package bridge

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store/pebble"
)

// BenchmarkBacklogDrain measures how fast a 100,000-message QoS 1 backlog,
// queued while the upstream was down, drains to an in-process mqgate
// upstream on loopback once it comes up. The outbox is in memory, so this
// is the bridge and the link, not the disk.
func BenchmarkBacklogDrain(b *testing.B) {
	const n = 100000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		local, up := newNode(b, "edge", nil), newNode(b, "cloud", nil)
		got := newSink(b, up.Broker, "cloud-app", "up/#")
		cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
		cfg.MaxInflight = 256
		set := startBridges(b, local.Broker, nil, cfg)
		publish(b, local.Broker, "sensor", "seq", 0, n, 1)
		waitFor(b, time.Minute, "the backlog in the outbox", func() bool { return set.bridge("c").Status().Queued == n })
		began := time.Now()
		b.StartTimer()
		up.up()
		waitFor(b, 5*time.Minute, "the backlog upstream", func() bool { return len(got.messages()) >= n })
		b.StopTimer()
		total += time.Since(began)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}

// BenchmarkForwardSyncAlways measures steady-state forwarding with the
// edge's store on disk with sync always: 16 local producers publish QoS 1
// or 2 messages (each returns once durable in the bridge's session), the
// bridge moves them into its outbox (one sync per batch) and forwards
// them to an in-process upstream (QoS 2: two synced records per message,
// its packet id before the PUBLISH and the PUBREC before the PUBREL).
func BenchmarkForwardSyncAlways(b *testing.B) {
	for _, qos := range []byte{1, 2} {
		b.Run("qos="+strconv.Itoa(int(qos)), func(b *testing.B) { forwardSyncAlways(b, qos) })
	}
}

func forwardSyncAlways(b *testing.B, qos byte) {
	st, err := pebble.Open(b.TempDir(), pebble.Options{Sync: pebble.SyncAlways})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	local, up := newNode(b, "edge", st), newNode(b, "cloud", nil)
	up.up()
	got := newSink(b, up.Broker, "cloud-app", "up/#")
	cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq/+", Remote: "up/$1", QoS: qos})
	set := startBridges(b, local.Broker, st, cfg)
	waitFor(b, 5*time.Second, "the bridge connected", func() bool { return set.bridge("c").Status().Connected })
	const producers = 16
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := core.ClientInfo{Protocol: "test", ClientID: "p" + strconv.Itoa(p)}
			for i := p; i < b.N; i += producers {
				m := core.NewMessage("seq/"+strconv.Itoa(p), []byte(strconv.Itoa(i)))
				m.QoS = qos
				local.Broker.Publish(context.Background(), &info, m)
			}
		}()
	}
	wg.Wait()
	waitFor(b, 5*time.Minute, "every message upstream", func() bool { return len(got.messages()) >= b.N })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "msgs/s")
}
