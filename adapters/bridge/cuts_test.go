package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store/memory"
)

// TestCutsDuringConnectSubscribeAndResume cuts the link again and again
// after a few bytes, so during CONNECT and CONNACK, SUBSCRIBE and SUBACK,
// the resend after a connect and the acknowledgement of inbound messages,
// while messages go both ways (checklist #9): nothing deadlocks, and once
// the cuts stop every message has arrived, in order, on both sides.
func TestCutsDuringConnectSubscribeAndResume(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			atCloud := newSink(t, up.Broker, "cloud-app", "up/#")
			atEdge := newSink(t, local.Broker, "actuator", "cmd/#")
			cut := newCutterFrom(t, up.addr, 1, 400)
			set := startBridges(t, local.Broker, nil, testConfig("c", cut.addr(), proto,
				Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1},
				Rule{Direction: "in", Local: "cmd/#", Remote: "down/#", QoS: 1}))
			br := set.bridge("c")
			waitFor(t, 60*time.Second, "the upstream subscription, through the cuts", func() bool { return up.Broker.SubscriptionCount() >= 2 })
			const n = 500
			publish(t, local.Broker, "sensor", "seq", 0, n, 1)
			publish(t, up.Broker, "app", "down/x", 0, n, 1)
			deadline := time.Now().Add(60 * time.Second)
			for !(cut.cuts.Load() >= 60 || distinct(atCloud.messages()) >= n && distinct(atEdge.messages()) >= n) {
				if time.Now().After(deadline) {
					t.Fatalf("after 60s: %d cuts, %d out, %d in, status %+v", cut.cuts.Load(), len(atCloud.messages()), len(atEdge.messages()), br.Status())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cut.on.Store(false)
			waitFor(t, 60*time.Second, "every message on both sides", func() bool {
				return br.Status().Queued == 0 && distinct(atCloud.messages()) >= n && distinct(atEdge.messages()) >= n
			})
			outDups := checkSequence(t, atCloud.messages(), n)
			inDups := checkSequence(t, atEdge.messages(), n)
			t.Logf("%d messages each way through %d cuts, %d reconnects; %d and %d sent twice (QoS 1)", n, cut.cuts.Load(), br.Status().Reconnects, outDups, inDups)
			if cut.cuts.Load() < 20 {
				t.Fatalf("only %d cuts: the test did not exercise the connect", cut.cuts.Load())
			}
		})
	}
}

// TestQoS2RecordsRestoredAfterARestartDoNotCollide stops the bridge while
// QoS 2 flows are cut at random points, so that its store keeps packet ids
// in flight (PUBLISH sent, or PUBREC received), and starts it again on the
// same store with new messages behind them (checklist #14): a new message
// given an id still held by a restored one would complete with the old
// one's PUBCOMP, or be taken by the upstream for the old one. Every
// message arrives once, in order.
func TestQoS2RecordsRestoredAfterARestartDoNotCollide(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			cut := newCutter(t, up.addr, 3000)
			st := memory.New() // the gateway's store, kept across the restart
			cfg := testConfig("c", cut.addr(), proto, Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 2})
			const n, rounds = 600, 3
			restored := 0
			for r := 0; r < rounds; r++ {
				set := New([]Config{cfg}, "edge", st, local.Broker, nil)
				if err := set.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				restored += len(set.bridge("c").sess.resumed())
				publish(t, local.Broker, "sensor", "seq", r*n, (r+1)*n, 2)
				before := cut.cuts.Load()
				waitFor(t, 60*time.Second, "cuts", func() bool { return cut.cuts.Load() >= before+5 || len(got.messages()) >= (r+1)*n })
				set.Stop(context.Background())
			}
			cut.on.Store(false)
			set := startBridges(t, local.Broker, st, cfg)
			restored += len(set.bridge("c").sess.resumed())
			br := set.bridge("c")
			waitFor(t, 60*time.Second, "every message upstream", func() bool { return br.Status().Queued == 0 && len(got.messages()) >= rounds*n })
			time.Sleep(100 * time.Millisecond) // a late duplicate would land here
			dups := checkSequence(t, got.messages(), rounds*n)
			t.Logf("%d QoS 2 messages over %d restarts with %d records restored, %d cuts", rounds*n, rounds, restored, cut.cuts.Load())
			if dups != 0 {
				t.Fatalf("%d duplicates at QoS 2", dups)
			}
			if restored == 0 {
				t.Fatal("no QoS 2 record was in flight at a restart: the test did not exercise the restore")
			}
		})
	}
}

// distinct counts the different payloads of msgs: at QoS 1 a message may
// arrive more than once.
func distinct(msgs []*core.Message) int {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[string(m.Payload)] = true
	}
	return len(seen)
}
