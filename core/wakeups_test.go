package core

import (
	"context"
	"fmt"
	"testing"

	"github.com/mqgate/mqgate/core/topic"
)

// Publishes made with WithWakeups defer the subscribers' Notify to the
// caller, one entry per connection however many messages it got; past
// maxDeferred connections they notify at once.
func TestWakeupsDeferNotify(t *testing.T) {
	b := newBroker(t, Config{})
	pub := connectID(t, b, "pub")
	var subs []*tclient
	for i := range maxDeferred + 2 {
		s := connectID(t, b, fmt.Sprintf("sub%d", i))
		s.sub(t, "w/#", topic.Options{QoS: 1})
		s.conn.drainNotes()
		subs = append(subs, s)
	}
	var w Wakeups
	ctx := WithWakeups(context.Background(), &w)
	for range 3 {
		if code := pub.Publish(ctx, &Message{Topic: "w/x", QoS: 1, Payload: []byte("m")}); code != Success {
			t.Fatalf("publish: %v", code)
		}
	}
	if got := len(w.Conns()); got != maxDeferred {
		t.Fatalf("%d connections deferred, want %d", got, maxDeferred)
	}
	deferred := map[Conn]bool{}
	for _, c := range w.Conns() {
		deferred[c] = true
	}
	for i, s := range subs {
		notified := false
		select {
		case <-s.conn.notes:
			notified = true
		default:
		}
		if deferred[s.conn] == notified {
			t.Errorf("sub%d: deferred %v and notified %v", i, deferred[s.conn], notified)
		}
		if ds := s.Pull(nil, 10); len(ds) != 3 {
			t.Errorf("sub%d: %d deliveries queued, want 3", i, len(ds))
		}
	}
	w.Reset()
	if len(w.Conns()) != 0 {
		t.Fatal("Reset kept connections")
	}
}
