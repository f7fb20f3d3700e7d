package bridge

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// steppedClock is an outbox's clocks with steps: the wall clock and the
// monotonic one move apart, as when NTP or an operator sets the time.
type steppedClock struct {
	wall, mono atomic.Int64 // nanoseconds added to each
}

// install makes ob read c; its reads are under ob.mu.
func (c *steppedClock) install(ob *outbox) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	elapsed := ob.elapsed
	ob.now = func() time.Time { return time.Now().Add(time.Duration(c.wall.Load())) }
	ob.elapsed = func() time.Duration { return elapsed() + time.Duration(c.mono.Load()) }
}

// TestWallClockStepDoesNotExpireTheOutbox: message expiry in the outbox
// is measured on the monotonic clock. The wall clock steps three hours
// forward while a message with a minute to live waits: it is still
// forwarded, with what is left of its minute. A message whose monotonic
// age passed its time to live is dropped and counted (checklist #26).
func TestWallClockStepDoesNotExpireTheOutbox(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "x/#")
	set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "x/#", QoS: 1}))
	br := set.bridge("c")
	var clock steppedClock
	clock.install(br.ob)
	info := core.ClientInfo{Protocol: "test", ClientID: "s"}
	pub := func(topic string, expiry time.Time) {
		t.Helper()
		m := core.NewMessage(topic, []byte(topic))
		m.QoS, m.Expiry = 1, expiry
		if _, err := local.Broker.Publish(context.Background(), &info, m); err != nil {
			t.Fatal(err)
		}
	}

	pub("x/minute", time.Now().Add(time.Minute))
	waitFor(t, 5*time.Second, "the first in the outbox", func() bool { return br.Status().Queued == 1 })
	const step = 3 * time.Hour
	clock.wall.Store(int64(step))
	// Stamped by a publisher that already reads the stepped clock: 30 s.
	pub("x/half", time.Now().Add(step+30*time.Second))
	waitFor(t, 5*time.Second, "both in the outbox", func() bool { return br.Status().Queued == 2 })
	// 45 s pass: x/half outlived its 30 s, x/minute has about 15 s left.
	clock.mono.Store(int64(45 * time.Second))

	up.up()
	waitFor(t, 10*time.Second, "the outbox drained", func() bool { return br.Status().Queued == 0 && len(got.messages()) >= 1 })
	ms := got.messages()
	if len(ms) != 1 || ms[0].Topic != "x/minute" {
		topics := []string{}
		for _, m := range ms {
			topics = append(topics, m.Topic)
		}
		t.Fatalf("upstream got %v, want only x/minute", topics)
	}
	// Whole seconds, rounded up by the encoder; the test's own time
	// between forwarding and here only shortens it.
	if left := time.Until(ms[0].Expiry); ms[0].Expiry.IsZero() || left > 16*time.Second {
		t.Fatalf("expiry left upstream %v, want at most the 15 s left of its minute", left)
	}
	if d := br.Status().Dropped; d != 1 {
		t.Fatalf("dropped %d, want the expired one counted", d)
	}
}
