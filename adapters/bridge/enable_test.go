package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestDisabledBridgeHoldsItsMessagesUntilEnabled: a disabled bridge sends
// nothing; what it should forward waits in its local session and goes
// out, in order, once it is enabled again.
func TestDisabledBridgeHoldsItsMessagesUntilEnabled(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1}))
	br := set.bridge("c")
	ctx := context.Background()
	publish(t, local.Broker, "sensor", "seq", 0, 10, 1)
	waitFor(t, 5*time.Second, "10 messages upstream", func() bool { return len(got.messages()) >= 10 })
	if err := set.SetEnabled(ctx, "c", false); err != nil {
		t.Fatal(err)
	}
	if br.Enabled() {
		t.Fatal("still enabled")
	}
	publish(t, local.Broker, "sensor", "seq", 10, 30, 1)
	if d, _ := local.Broker.Session(Namespace, "c"); d.Connected || d.Queued != 20 {
		t.Fatalf("disabled bridge's session: connected %v, %d queued, want offline with 20", d.Connected, d.Queued)
	}
	if n := len(got.messages()); n != 10 {
		t.Fatalf("%d messages upstream while disabled, want 10", n)
	}
	if err := set.SetEnabled(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "30 messages upstream", func() bool { return len(got.messages()) >= 30 })
	checkSequence(t, got.messages(), 30)
	if err := set.SetEnabled(ctx, "nope", false); !errors.Is(err, ErrNoBridge) {
		t.Fatalf("unknown bridge: %v", err)
	}
}

// TestReconfigureAppliesChangesInPlace: an unchanged bridge keeps running
// (the same one), a changed one is restarted with its new rules and its
// backlog, a new one starts, a removed one stops with its local session.
func TestReconfigureAppliesChangesInPlace(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "#")
	keep := testConfig("keep", up.addr, "5", Rule{Direction: "out", Local: "k", Remote: "up/k", QoS: 1})
	change := testConfig("change", up.addr, "5", Rule{Direction: "out", Local: "c", Remote: "up/c-old", QoS: 1})
	gone := testConfig("gone", up.addr, "5", Rule{Direction: "out", Local: "g", Remote: "up/g", QoS: 1})
	set := startBridges(t, local.Broker, nil, keep, change, gone)
	kept := set.bridge("keep")
	for _, n := range []string{"keep", "change", "gone"} {
		waitFor(t, 5*time.Second, n+" connected", func() bool { return set.bridge(n).Status().Connected })
	}

	changed := change
	changed.Rules = []Rule{{Direction: "out", Local: "c", Remote: "up/c-new", QoS: 1}}
	added := testConfig("added", up.addr, "5", Rule{Direction: "out", Local: "a", Remote: "up/a", QoS: 1})
	ch, err := set.Reconfigure(context.Background(), []Config{keep, changed, added})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ch) != fmt.Sprint(Changes{Started: []string{"added"}, Restarted: []string{"change"}, Stopped: []string{"gone"}, Kept: []string{"keep"}}) {
		t.Fatalf("changes %+v", ch)
	}
	if set.bridge("keep") != kept {
		t.Fatal("an unchanged bridge was restarted")
	}
	if _, ok := local.Broker.Session(Namespace, "gone"); ok {
		t.Fatal("a removed bridge's local session is still there")
	}
	for _, n := range []string{"change", "added"} {
		waitFor(t, 5*time.Second, n+" connected", func() bool { return set.bridge(n).Status().Connected })
	}
	for _, topic := range []string{"k", "c", "a", "g"} {
		publish(t, local.Broker, "sensor", topic, 0, 1, 1)
	}
	waitFor(t, 5*time.Second, "three messages upstream", func() bool { return len(got.messages()) >= 3 })
	time.Sleep(100 * time.Millisecond) // one through a stopped bridge would land here
	var topics []string
	for _, m := range got.messages() {
		topics = append(topics, m.Topic)
	}
	slices.Sort(topics)
	if want := []string{"up/a", "up/c-new", "up/k"}; !slices.Equal(topics, want) {
		t.Fatalf("upstream got %v, want %v", topics, want)
	}
}
