package bridge

import (
	"strings"
	"testing"
	"time"
)

// TestTwoBridgesWithOneClientID: two edges bridged to one upstream with
// the same client id (a copied configuration) take the upstream session
// from each other in turn (checklist #23): the status says why (the
// upstream's DISCONNECT 0x8E), both keep reconnecting, with backoff, and
// between takeovers their messages still arrive.
func TestTwoBridgesWithOneClientID(t *testing.T) {
	up := newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	var bridges []*Bridge
	for _, name := range []string{"edge-a", "edge-b"} {
		local := newNode(t, name, nil)
		cfg := testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "seq", Remote: "up/" + name, QoS: 1})
		cfg.ClientID = "copied-config"
		set := startBridges(t, local.Broker, nil, cfg)
		bridges = append(bridges, set.bridge("c"))
		publish(t, local.Broker, "sensor", "seq", 0, 50, 1)
	}
	waitFor(t, 30*time.Second, "the takeover named in a status", func() bool {
		for _, br := range bridges {
			if strings.Contains(br.Status().LastError, "another client connected with client id") {
				return true
			}
		}
		return false
	})
	waitFor(t, 60*time.Second, "both edges' messages upstream", func() bool {
		var a, b int
		for _, m := range got.messages() {
			switch m.Topic {
			case "up/edge-a":
				a++
			case "up/edge-b":
				b++
			}
		}
		return a >= 50 && b >= 50
	})
	// The fight goes on, but with backoff: a connection that did not last
	// counts as a failed attempt, so the reconnects slow to one per
	// reconnect_max/2..reconnect_max (100-200 ms here) instead of one
	// every few milliseconds. A slower machine only reconnects less.
	before := []int64{bridges[0].Status().Reconnects, bridges[1].Status().Reconnects}
	time.Sleep(2 * time.Second)
	for i, br := range bridges {
		st := br.Status()
		if st.Reconnects == 0 {
			t.Fatalf("status %+v: a bridge whose session was taken never reconnected", st)
		}
		if n := st.Reconnects - before[i]; n > 40 {
			t.Fatalf("%d reconnects in 2 s: no backoff between takeovers", n)
		}
	}
}
