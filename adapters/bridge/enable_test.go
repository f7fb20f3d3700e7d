package bridge

import (
	"context"
	"errors"
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
