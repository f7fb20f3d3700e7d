package core

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// eventLog records events as lines.
type eventLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *eventLog) has(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.lines, line)
}

func (l *eventLog) events() Events {
	return Events{
		Connected:    func(i *ClientInfo, present bool) { l.add("connected %s present=%v", i.ClientID, present) },
		Disconnected: func(i *ClientInfo, reason string) { l.add("disconnected %s %s", i.ClientID, reason) },
		Subscribed: func(i *ClientInfo, key, filter string, o topic.Options) {
			l.add("subscribed %s %q %s q%d", i.ClientID, key, filter, o.QoS)
		},
		Unsubscribed: func(i *ClientInfo, key, filter string) { l.add("unsubscribed %s %q %s", i.ClientID, key, filter) },
		Delivered: func(i *ClientInfo, d *Delivery) {
			l.add("delivered %s %s redelivered=%d", i.ClientID, d.Msg.Payload, d.Redelivered)
		},
		Dropped: func(ns, id string, m *Message, r DropReason) {
			p := ""
			if m != nil {
				p = string(m.Payload)
			}
			l.add("dropped %s %s %s", id, p, r)
		},
		SessionEnded: func(ns, id string) { l.add("ended %s", id) },
	}
}

func TestEvents(t *testing.T) {
	b := newBroker(t, Config{MaxQueued: 1})
	var log eventLog
	remove := b.Listen(log.events())
	c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "dev"}, SessionExpiry: time.Hour})
	c.sub(t, "a", topic.Options{QoS: 1})
	c.subKey(t, "k", "b", topic.Options{Separate: true}, QueueAll)
	pub := connectID(t, b, "pub")
	pub.pub(t, "a", 1, "1")
	pub.pub(t, "a", 1, "2") // the queue holds one: dropped
	ds := c.pull()
	c.Settle(ds[0].Tag, Requeued)
	ds = c.pull()
	c.Settle(ds[0].Tag, Rejected)
	c.UnsubscribeKey("k")
	c.Disconnect(DisconnectNormal, "client sent DISCONNECT")
	short, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "short"}})
	short.Disconnect(DisconnectNormal, "bye")
	want := []string{
		"connected dev present=false",
		`subscribed dev "" a q1`,
		`subscribed dev "k" b q0`,
		"dropped dev 2 queue full",
		"delivered dev 1 redelivered=0",
		"delivered dev 1 redelivered=1",
		"dropped dev 1 rejected",
		`unsubscribed dev "k" b`,
		"disconnected dev client sent DISCONNECT",
		"disconnected short bye",
		"ended short",
	}
	for _, w := range want {
		if !log.has(w) {
			t.Errorf("no event %q in\n%v", w, log.lines)
		}
	}
	if log.has("ended dev") {
		t.Error("a session with an expiry ended with its connection")
	}
	// A takeover disconnects the old connection; a clean start ends its
	// session.
	c, _ = connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "dev"}, SessionExpiry: time.Hour})
	connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "dev"}, CleanStart: true})
	for _, w := range []string{"connected dev present=true", "disconnected dev session taken over by a new connection", "ended dev"} {
		if !log.has(w) {
			t.Errorf("no event %q in\n%v", w, log.lines)
		}
	}
	remove()
	n := len(log.lines)
	connectID(t, b, "after")
	if len(log.lines) != n {
		t.Fatal("events after the listener was removed")
	}
}
