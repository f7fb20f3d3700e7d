package bridge

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store/pebble"
)

// TestOutboxSurvivesRestart queues a backlog while the upstream is down,
// stops the edge (bridge, broker, store) and starts it again from its data
// directory: the backlog drains in order when the upstream comes up.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	up := newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	const n = 1000

	st, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local := newNode(t, "edge", st)
	set := New([]Config{cfg}, "edge", st, local.Broker, nil)
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, local.Broker, "sensor", "seq", 0, n, 1)
	// Half in the outbox, the rest perhaps still in the bridge's session:
	// both are durable once publish returned.
	waitFor(t, 5*time.Second, "a backlog", func() bool { return set.bridge("c").Status().Queued >= n/2 })
	set.Stop(context.Background())
	local.Broker.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	local = newNode(t, "edge", st)
	set = startBridges(t, local.Broker, st, cfg)
	up.up()
	waitFor(t, 10*time.Second, "the backlog upstream", func() bool { return len(got.messages()) >= n && set.bridge("c").Status().Queued == 0 })
	dups := checkSequence(t, got.messages(), n)
	t.Logf("%d messages after a restart, in order, %d duplicates", n, dups)
}

func TestOutboxFullPolicies(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dropNewest bool
		first      int // the first message that should arrive
	}{
		{"drop_oldest keeps the newest", false, 10},
		{"drop_newest keeps the oldest", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
			cfg.OutboxMax, cfg.DropNewest = 20, tc.dropNewest
			set := startBridges(t, local.Broker, nil, cfg)
			br := set.bridge("c")
			publish(t, local.Broker, "sensor", "seq", 0, 30, 1)
			waitFor(t, 5*time.Second, "10 drops", func() bool { return br.Status().Dropped == 10 })
			if st := br.Status(); st.Queued != 20 || st.QueuedBytes == 0 || st.OldestSeconds <= 0 {
				t.Fatalf("status %+v", st)
			}
			up.up()
			waitFor(t, 5*time.Second, "the outbox upstream", func() bool { return len(got.messages()) >= 20 })
			ms := got.messages()
			for i, m := range ms[:20] {
				if want := tc.first + i; string(m.Payload) != strconv.Itoa(want) {
					t.Fatalf("message %d is %s, want %d", i, m.Payload, want)
				}
			}
		})
	}
}
