package bridge

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store/memory"
)

// TestRetainedDeleteForwardedAfterTheLinkWasDown: a retained message is
// cleared locally (an empty retained publish) while the uplink is down;
// once it is back, the upstream's retained message is cleared too
// (checklist #20).
func TestRetainedDeleteForwardedAfterTheLinkWasDown(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, proto, Rule{Direction: "out", Local: "state/#", QoS: 1}))
			br := set.bridge("c")
			waitFor(t, 10*time.Second, "the bridge connected", func() bool { return br.Status().Connected })
			info := core.ClientInfo{Protocol: "test", ClientID: "s"}
			m := core.NewMessage("state/door", []byte("open"))
			m.QoS, m.Retain = 1, true
			if _, err := local.Broker.Publish(context.Background(), &info, m); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the retained message upstream", func() bool {
				r, ok := up.Broker.RetainedMessage("state/door")
				return ok && string(r.Payload) == "open"
			})
			up.down()
			waitFor(t, 10*time.Second, "the bridge disconnected", func() bool { return !br.Status().Connected })
			del := core.NewMessage("state/door", nil)
			del.QoS, del.Retain = 1, true
			if _, err := local.Broker.Publish(context.Background(), &info, del); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the delete in the outbox", func() bool { return br.Status().Queued == 1 })
			up.up()
			waitFor(t, 10*time.Second, "the retained message cleared upstream", func() bool {
				_, ok := up.Broker.RetainedMessage("state/door")
				return !ok && br.Status().Queued == 0
			})
		})
	}
}

// TestRootHashDoesNotForwardSysTopics forwards everything with `#`: the
// bridge's own status, retained under $SYS, is not among it (MQTT-4.7.2-1,
// checklist #18 and #19).
func TestRootHashDoesNotForwardSysTopics(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, proto, Rule{Direction: "out", Local: "#", Remote: "up/#", QoS: 1}))
			br := set.bridge("c")
			waitFor(t, 10*time.Second, "the bridge's status published", func() bool {
				r, ok := local.Broker.RetainedMessage("$SYS/brokers/edge/bridges/c/status")
				return ok && strings.Contains(string(r.Payload), `"connected":true`)
			})
			publish(t, local.Broker, "sensor", "a/b", 0, 1, 1)
			waitFor(t, 10*time.Second, "the ordinary message upstream", func() bool { return len(got.messages()) >= 1 && br.Status().Queued == 0 })
			for _, m := range got.messages() {
				if m.Topic != "up/a/b" {
					t.Fatalf("forwarded %q under a root #", m.Topic)
				}
			}
		})
	}
}

// TestStatusCountsAreEachBridgesOwn runs two bridges on one broker, one
// of them without an uplink and a small outbox: its drops, backlog and
// oldest age are its own, not the other's, both in Status and in the
// retained $SYS status message (checklist #27).
func TestStatusCountsAreEachBridgesOwn(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	live := testConfig("live", up.addr, "5", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	dead := testConfig("dead", freeAddr(t), "5", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	dead.OutboxMax = 5
	set := startBridges(t, local.Broker, nil, live, dead)
	waitFor(t, 10*time.Second, "the live bridge connected", func() bool { return set.bridge("live").Status().Connected })
	publish(t, local.Broker, "sensor", "seq", 0, 8, 1)
	waitFor(t, 10*time.Second, "3 drops on the dead bridge", func() bool { return set.bridge("dead").Status().Dropped == 3 })
	waitFor(t, 10*time.Second, "everything through the live bridge", func() bool {
		return len(got.messages()) >= 8 && set.bridge("live").Status().Queued == 0
	})
	if st := set.bridge("live").Status(); st.Dropped != 0 || st.Queued != 0 || st.OldestSeconds != 0 || !st.Connected {
		t.Fatalf("live bridge %+v", st)
	}
	if st := set.bridge("dead").Status(); st.Queued != 5 || st.Dropped != 3 || st.OldestSeconds <= 0 || st.Connected || st.LastError == "" {
		t.Fatalf("dead bridge %+v", st)
	}
	// The $SYS status is published every few seconds when it changed.
	for name, want := range map[string]Status{"live": {Connected: true}, "dead": {Queued: 5, Dropped: 3}} {
		waitFor(t, 30*time.Second, "the $SYS status of "+name, func() bool {
			r, ok := local.Broker.RetainedMessage("$SYS/brokers/edge/bridges/" + name + "/status")
			if !ok {
				return false
			}
			var st Status
			if err := json.Unmarshal(r.Payload, &st); err != nil {
				t.Fatalf("status %s: %v", r.Payload, err)
			}
			return st.Connected == want.Connected && st.Queued == want.Queued && st.Dropped == want.Dropped
		})
	}
}

// TestRemovedInRuleIsUnsubscribedUpstream restarts a bridge without one
// of its in rules while the upstream keeps its session: the upstream no
// longer holds the old subscription, so it neither queues nor sends what
// matches only that rule (checklist #16).
func TestRemovedInRuleIsUnsubscribedUpstream(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			keep := Rule{Direction: "in", Local: "cmd/#", Remote: "down/cmd/#", QoS: 1}
			gone := Rule{Direction: "in", Local: "old/#", Remote: "down/old/#", QoS: 1}
			cfg := testConfig("c", up.addr, proto, keep, gone)
			remote := func() []string {
				d, ok := up.Broker.Session("", cfg.ClientID)
				if !ok {
					return nil
				}
				var fs []string
				for _, s := range d.Subscriptions {
					fs = append(fs, s.Filter)
				}
				slices.Sort(fs)
				return fs
			}
			st := memory.New() // the gateway's store, which outlives a reload
			set := New([]Config{cfg}, "edge", st, local.Broker, nil)
			if err := set.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "both subscriptions upstream", func() bool { return len(remote()) == 2 })
			set.Stop(context.Background())

			cfg.Rules = []Rule{keep}
			set = startBridges(t, local.Broker, st, cfg)
			waitFor(t, 10*time.Second, "the bridge connected again", func() bool { return set.bridge("c").Status().Connected })
			waitFor(t, 10*time.Second, "only the kept subscription upstream", func() bool {
				fs := remote()
				return len(fs) == 1 && fs[0] == "down/cmd/#"
			})
		})
	}
}
