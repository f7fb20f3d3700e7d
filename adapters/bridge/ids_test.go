package bridge

import (
	"fmt"
	"testing"
	"time"
)

// TestInflightFarAboveWhatTheUpstreamTakes: max_inflight at its largest,
// 65535, with a backlog larger than the packet id space waiting for the
// upstream (checklist #15, and #14's ids wrapping past 65535). Every
// message arrives once and in order over one connection: no packet id 0
// and no id reused while in flight, either of which the upstream answers
// by closing the connection (a reconnect, a last error), and no stall
// when every id is taken.
func TestInflightFarAboveWhatTheUpstreamTakes(t *testing.T) {
	for _, proto := range protocols {
		for _, qos := range []byte{1, 2} {
			t.Run(fmt.Sprintf("mqtt%s/qos%d", proto, qos), func(t *testing.T) {
				local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
				got := newSink(t, up.Broker, "cloud-app", "up/#")
				cfg := testConfig("c", up.addr, proto, Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: qos})
				cfg.MaxInflight = 65535
				set := startBridges(t, local.Broker, nil, cfg)
				br := set.bridge("c")
				n := 70000
				if qos == 2 {
					n = 5000 // the upstream takes few QoS 2 at a time
				}
				publish(t, local.Broker, "sensor", "seq", 0, n, qos)
				waitFor(t, 30*time.Second, "the backlog in the outbox", func() bool { return br.Status().Queued == n })
				up.up()
				waitFor(t, 120*time.Second, "every message upstream", func() bool { return br.Status().Queued == 0 && len(got.messages()) >= n })
				if dups := checkSequence(t, got.messages(), n); dups != 0 {
					t.Fatalf("%d duplicates: a connection was lost", dups)
				}
				if s := br.Status(); s.Reconnects != 0 || s.LastError != "" {
					t.Fatalf("%d reconnects, last error %q", s.Reconnects, s.LastError)
				}
			})
		}
	}
}
