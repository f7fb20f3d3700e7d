package bridge

import (
	"testing"
	"time"
)

// TestUpstreamThatLostTheSessionGetsTheRestAgain forwards QoS 2 messages
// over a link that is cut again and again, and deletes the bridge's
// session on the upstream while it is cut, so the next CONNACK says
// Session Present 0 with QoS 2 messages in flight (checklist #13). The
// messages the upstream had not answered PUBREC for are sent again as new
// and arrive; those it had answered were delivered and are not sent
// again; nothing stalls. 3.1.1 learns of the lost session from the
// CONNACK (readTap), 5 from the library's Reset.
func TestUpstreamThatLostTheSessionGetsTheRestAgain(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			cut := newCutter(t, up.addr, 6000)
			cfg := testConfig("c", cut.addr(), proto, Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 2})
			set := startBridges(t, local.Broker, nil, cfg)
			br := set.bridge("c")
			const n, forgets = 3000, 10
			publish(t, local.Broker, "sensor", "seq", 0, n, 2)
			seen, deleted := int64(0), 0
			waitFor(t, 60*time.Second, "the upstream to forget the session a few times", func() bool {
				if c := cut.cuts.Load(); c > seen && !br.Status().Connected {
					// Between connections (or, if the bridge is back
					// already, by kicking it): the next one finds no
					// session.
					seen = c
					if up.Broker.DeleteSession("", cfg.ClientID) {
						deleted++
					}
				}
				return deleted >= forgets || len(got.messages()) >= n
			})
			cut.on.Store(false)
			waitFor(t, 60*time.Second, "every message upstream", func() bool { return br.Status().Queued == 0 && len(got.messages()) >= n })
			dups := checkSequence(t, got.messages(), n)
			resent, done := br.sess.lostResent.Load(), br.sess.lostDone.Load()
			t.Logf("%d QoS 2 messages, %d cuts, session deleted %d times: %d sent again as new, %d taken as delivered, %d duplicates",
				n, cut.cuts.Load(), deleted, resent, done, dups)
			if resent+done == 0 {
				t.Fatalf("no QoS 2 message was in flight when the upstream lost the session: the test did not exercise it")
			}
		})
	}
}
