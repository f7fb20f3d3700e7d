package core

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

func TestAdminListsSessionsInPages(t *testing.T) {
	b := newBroker(t, Config{})
	for i := range 25 {
		c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: fmt.Sprintf("dev-%02d", i), Username: []string{"ann", "bob"}[i%2]},
			SessionExpiry: time.Hour, KeepAlive: 30 * time.Second})
		if i%5 == 0 {
			c.Disconnect(DisconnectNormal, "")
		}
	}
	connectID(t, b, "other")
	var got []string
	q := SessionQuery{ClientIDPrefix: "dev-", Limit: 10}
	pages := 0
	for {
		p := b.Sessions(q)
		pages++
		for _, s := range p.Sessions {
			got = append(got, s.ClientID)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(got) != 25 || pages != 3 || got[0] != "dev-00" || got[24] != "dev-24" {
		t.Fatalf("%d pages, sessions %v", pages, got)
	}
	off := false
	p := b.Sessions(SessionQuery{Connected: &off})
	if len(p.Sessions) != 5 || p.Sessions[0].Connected || p.Sessions[0].DisconnectedAt.IsZero() {
		t.Fatalf("disconnected sessions: %+v", p.Sessions)
	}
	p = b.Sessions(SessionQuery{Username: "bob", ClientIDPrefix: "dev-"})
	if len(p.Sessions) != 12 {
		t.Fatalf("bob has %d sessions, want 12", len(p.Sessions))
	}
	if s := b.Sessions(SessionQuery{ClientIDPrefix: "dev-01"}).Sessions[0]; !s.Connected || s.KeepAlive != 30*time.Second || s.Protocol != "mqtt" {
		t.Fatalf("dev-01: %+v", s)
	}
}

func TestAdminSessionDetailKickDelete(t *testing.T) {
	b := newBroker(t, Config{})
	ctx := context.Background()
	c := connectID(t, b, "dev")
	c.sub(t, "a/#", topic.Options{QoS: 1})
	c.subKey(t, "k1", "b", topic.Options{Separate: true}, QueueLatest)
	pub := connectID(t, b, "pub")
	pub.pub(t, "a/x", 1, "queued")

	d, ok := b.Session("", "dev")
	if !ok || len(d.Subscriptions) != 2 || d.Subscriptions[0].ID != "a/#" || d.Subscriptions[1].ID != "k1" ||
		d.Subscriptions[1].Queue != QueueLatest || d.Queued != 1 {
		t.Fatalf("detail %+v", d)
	}
	// An operator subscribes the client; retained messages follow.
	pub.Publish(ctx, &Message{Topic: "r", Retain: true, QoS: 1, Payload: []byte("kept")})
	if _, err := b.AddSubscription(ctx, "", "dev", SubscribeRequest{Filter: "r", Options: topic.Options{QoS: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := payloads(c.waitPull(t, 2)); got != "queued,kept" {
		t.Fatalf("pulled %q", got)
	}
	if err := b.RemoveSubscription("", "dev", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveSubscription("", "dev", "k1"); !errors.Is(err, NoSubscriptionExisted) {
		t.Fatalf("second removal: %v", err)
	}
	if _, err := b.AddSubscription(ctx, "", "nobody", SubscribeRequest{Filter: "x"}); !errors.Is(err, ClientIDNotValid) {
		t.Fatalf("subscription for a missing session: %v", err)
	}
	if _, err := b.AddSubscription(ctx, "", "dev", SubscribeRequest{Filter: "a/#/b"}); !errors.Is(err, TopicFilterInvalid) {
		t.Fatalf("invalid filter: %v", err)
	}

	if !b.Kick("", "dev") {
		t.Fatal("kick of a connected session")
	}
	c.conn.wantKick(t, AdministrativeAction)
	c.Disconnect(DisconnectWithWill, "kicked")
	if b.Kick("", "dev") {
		t.Fatal("kick of a session without a connection")
	}
	if _, ok := b.Session("", "dev"); !ok {
		t.Fatal("kick ended the session")
	}
	// Deleting ends a session, connected or not, and publishes its will.
	obs := connectID(t, b, "obs")
	obs.sub(t, "will/#", topic.Options{})
	w, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "wills"}, SessionExpiry: time.Hour,
		Will: &Will{Message: &Message{Topic: "will/w", Payload: []byte("gone")}}})
	if !b.DeleteSession("", "wills") || !b.DeleteSession("", "dev") || b.DeleteSession("", "dev") {
		t.Fatal("delete")
	}
	w.conn.wantKick(t, AdministrativeAction)
	if got := payloads(obs.waitPull(t, 1)); got != "gone" {
		t.Fatalf("will %q", got)
	}
	if _, ok := b.Session("", "dev"); ok {
		t.Fatal("deleted session still listed")
	}
	if w.Publish(ctx, &Message{Topic: "x"}) != UnspecifiedError {
		t.Fatal("the deleted session's handle still publishes")
	}
	if n := b.Stats().ClientsConnected.Load(); n != 2 {
		t.Fatalf("%d clients connected, want 2 (pub, obs)", n)
	}
}

func TestAdminRetained(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		for i := range 15 {
			b.inject(&Message{Topic: fmt.Sprintf("r/%02d", i), Retain: true, QoS: 1, Payload: []byte("v")})
		}
		b.inject(&Message{Topic: "other", Retain: true, Payload: []byte("v")})
		var topics []string
		q := RetainedQuery{Filter: "r/#", Limit: 10}
		for {
			p := b.Retained(q)
			for _, m := range p.Messages {
				topics = append(topics, m.Topic)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(topics) != 15 || topics[0] != "r/00" || topics[14] != "r/14" {
			t.Fatalf("retained %v", topics)
		}
		if m, ok := b.RetainedMessage("other"); !ok || string(m.Payload) != "v" {
			t.Fatal("RetainedMessage")
		}
		if ok, err := b.DeleteRetained("r/03"); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if ok, _ := b.DeleteRetained("r/03"); ok {
			t.Fatal("deleted twice")
		}
		b.Close()
		b = storedBroker(t, open(), Config{})
		if _, ok := b.RetainedMessage("r/03"); ok {
			t.Fatal("deleted retained message back after a restart")
		}
		if st := b.Snapshot(); st.Retained != 15 {
			t.Fatalf("snapshot %+v", st)
		}
	})
}
