package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

func TestConnectNewSessionIsNotPresent(t *testing.T) {
	b := newBroker(t, Config{})
	_, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: time.Hour})
	if present {
		t.Fatal("session present on first connect")
	}
	if n := b.SessionCount(); n != 1 {
		t.Fatalf("SessionCount = %d, want 1", n)
	}
}

func TestConnectResumeKeepsSessionAndSubscriptions(t *testing.T) {
	b := newBroker(t, Config{})
	a := connectID(t, b, "a")
	a.sub(t, "x/#", topic.Options{QoS: 1})
	a.Disconnect(DisconnectNormal, "")
	a2, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: time.Hour})
	if !present {
		t.Fatal("session not present on resume")
	}
	if n := b.SubscriptionCount(); n != 1 {
		t.Fatalf("SubscriptionCount = %d, want 1", n)
	}
	if code := b.inject(&Message{Topic: "x/1", QoS: 1, Payload: []byte("p")}); code != 1 {
		t.Fatalf("Publish reached %d sessions, want 1", code)
	}
	if got := payloads(a2.pull()); got != "p" {
		t.Fatalf("resumed session got %q", got)
	}
}

func TestConnectCleanStartDiscardsOldSession(t *testing.T) {
	b := newBroker(t, Config{})
	a := connectID(t, b, "a")
	a.sub(t, "x/#", topic.Options{QoS: 1})
	a.sub(t, "y", topic.Options{QoS: 0})
	a.Disconnect(DisconnectNormal, "")
	b.inject(&Message{Topic: "x/1", QoS: 1, Payload: []byte("old")})
	a2, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, CleanStart: true, SessionExpiry: time.Hour})
	if present {
		t.Fatal("session present after clean start")
	}
	if n := b.SubscriptionCount(); n != 0 {
		t.Fatalf("SubscriptionCount = %d, want 0", n)
	}
	if n := b.SessionCount(); n != 1 {
		t.Fatalf("SessionCount = %d, want 1", n)
	}
	if ds := a2.pull(); len(ds) != 0 {
		t.Fatalf("clean session pulled %q", payloads(ds))
	}
}

func TestConnectTakeoverKicksOldConnAndStaleHandleIsNoop(t *testing.T) {
	b := newBroker(t, Config{})
	obs := connectID(t, b, "observer")
	obs.sub(t, "t/#", topic.Options{QoS: 1})

	old := connectID(t, b, "a")
	old.sub(t, "in", topic.Options{QoS: 1})
	b.inject(&Message{Topic: "in", QoS: 1, Payload: []byte("1")})
	ds := old.pull()
	if len(ds) != 1 {
		t.Fatalf("old pulled %d, want 1", len(ds))
	}
	id := ds[0].Tag

	nw, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: time.Hour})
	if !present {
		t.Fatal("takeover without clean start: session not present")
	}
	old.conn.wantKick(t, SessionTakenOver)
	if n := b.Stats().ClientsConnected.Load(); n != 2 {
		t.Fatalf("ClientsConnected = %d, want 2", n)
	}

	// The stale handle does nothing.
	if code := old.pub(t, "t/x", 1, "stale"); !code.Failed() {
		t.Fatalf("stale Publish = %v, want a failure", code)
	}
	if got := obs.pull(); len(got) != 0 {
		t.Fatalf("stale Publish was routed: %q", payloads(got))
	}
	if old.Settle(id, Accepted) {
		t.Fatal("stale Ack succeeded")
	}
	b.inject(&Message{Topic: "in", QoS: 1, Payload: []byte("2")})
	if got := old.Pull(nil, 10); len(got) != 0 {
		t.Fatalf("stale Pull returned %q", payloads(got))
	}
	if code, _ := old.PublishQoS2(context.Background(), 9, &Message{Topic: "t/x", QoS: 2}); !code.Failed() {
		t.Fatalf("stale PublishQoS2 = %v", code)
	}
	if res := old.Subscribe(context.Background(), []SubscribeRequest{{Filter: "z"}}, nil); !res[0].Code.Failed() {
		t.Fatalf("stale Subscribe = %v", res[0].Code)
	}
	old.Disconnect(DisconnectNormal, "") // must not end the new connection's session
	if n := b.SessionCount(); n != 2 {
		t.Fatalf("SessionCount = %d after stale Disconnect, want 2", n)
	}

	// The new connection resends the unacknowledged message, then the next.
	got := nw.pull()
	if len(got) != 2 || !(got[0].Redelivered > 0) || got[0].Tag != id || (got[1].Redelivered > 0) {
		t.Fatalf("new connection pulled %+v", got)
	}
	if !nw.Settle(id, Accepted) {
		t.Fatal("Ack on the new handle failed")
	}
}

func TestConnectEmptyClientIDRejected(t *testing.T) {
	b := newBroker(t, Config{})
	_, _, err := b.open(&OpenRequest{Conn: newFakeConn()})
	var ce *CodeError
	if !errors.As(err, &ce) || ce.Code != ClientIDNotValid {
		t.Fatalf("err = %v, want ClientIDNotValid", err)
	}
}

func TestConnectAfterCloseFails(t *testing.T) {
	b := NewBroker(Config{AllowAnonymous: true})
	b.Close()
	if _, _, err := b.open(&OpenRequest{Info: ClientInfo{ClientID: "a"}, Conn: newFakeConn()}); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// TestReconnectRacingSessionEndGetsLiveSession: a client that reconnects
// while its previous connection's session is ending must get a session
// that stays registered and receives messages, never the ended one.
func TestReconnectRacingSessionEndGetsLiveSession(t *testing.T) {
	b := newBroker(t, Config{})
	for i := 0; i < 300; i++ {
		a, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}})
		var nw *Client
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a.Disconnect(DisconnectNormal, "") }()
		go func() {
			defer wg.Done()
			nw, _, _ = b.open(&OpenRequest{Info: ClientInfo{ClientID: "a"}, Conn: newFakeConn()})
		}()
		wg.Wait()
		s := b.sessionOf("", "a")
		if s == nil || s != nw.s {
			t.Fatalf("iteration %d: the new connection's session is not registered", i)
		}
		s.mu.Lock()
		ended := s.ended
		s.mu.Unlock()
		if ended {
			t.Fatalf("iteration %d: the new connection resumed an ended session", i)
		}
		nw.Disconnect(DisconnectNormal, "")
		if n := b.SessionCount(); n != 0 {
			t.Fatalf("iteration %d: SessionCount = %d, want 0", i, n)
		}
	}
}

// willObserver subscribes a client to will/# and returns it.
func willObserver(t *testing.T, b *Broker, filter string) *tclient {
	t.Helper()
	obs := connectID(t, b, "observer")
	obs.sub(t, filter, topic.Options{QoS: 1})
	return obs
}

func willReq(id string, expiry, delay time.Duration) OpenRequest {
	return OpenRequest{
		Info:          ClientInfo{ClientID: id},
		SessionExpiry: expiry,
		Will:          &Will{Message: &Message{Topic: "will/" + id, QoS: 1, Payload: []byte("gone:" + id)}, Delay: delay},
	}
}

func TestWillOnDisconnect(t *testing.T) {
	tests := []struct {
		name   string
		kind   DisconnectKind
		expiry time.Duration
		want   string
	}{
		{"discarded on normal disconnect", DisconnectNormal, 0, ""},
		{"discarded on normal disconnect of a persistent session", DisconnectNormal, time.Hour, ""},
		{"published on disconnect with will", DisconnectWithWill, 0, "gone:a"},
		{"published on disconnect with will of a persistent session", DisconnectWithWill, time.Hour, "gone:a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			obs := willObserver(t, b, "will/#")
			a, _ := connect(t, b, willReq("a", tt.expiry, 0))
			a.Disconnect(tt.kind, "")
			if got := payloads(obs.pull()); got != tt.want {
				t.Fatalf("observer got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWillDelayedPublishedAfterDelay(t *testing.T) {
	b := newBroker(t, Config{})
	obs := willObserver(t, b, "will/#")
	const delay = 30 * time.Millisecond
	a, _ := connect(t, b, willReq("a", time.Hour, delay))
	start := time.Now()
	a.Disconnect(DisconnectWithWill, "")
	if got := obs.pull(); len(got) != 0 {
		t.Fatalf("delayed will published at once: %q", payloads(got))
	}
	ds := obs.waitPull(t, 1)
	if el := time.Since(start); el < delay {
		t.Fatalf("will published after %v, before its delay %v", el, delay)
	}
	if got := payloads(ds); got != "gone:a" {
		t.Fatalf("observer got %q", got)
	}
	if n := b.SessionCount(); n != 2 {
		t.Fatalf("SessionCount = %d, want 2: the will must not end the session", n)
	}
}

func TestWillDelayedCancelledByResume(t *testing.T) {
	b := newBroker(t, Config{})
	obs := willObserver(t, b, "will/#")
	const delay = 20 * time.Millisecond
	a, _ := connect(t, b, willReq("a", time.Hour, delay))
	a.Disconnect(DisconnectWithWill, "")
	connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: time.Hour})
	// [MQTT-3.1.3-9] the resumed session's will is never sent; wait well past
	// the delay for it.
	if obs.conn.notified(5 * delay) {
		t.Fatalf("will published after resume: %q", payloads(obs.pull()))
	}
	if n := b.Stats().WillsPublished.Load(); n != 0 {
		t.Fatalf("WillsPublished = %d", n)
	}
}

func TestWillPublishedAtSessionExpiryBeforeItsDelay(t *testing.T) {
	b := newBroker(t, Config{})
	obs := willObserver(t, b, "will/#")
	a, _ := connect(t, b, willReq("a", 30*time.Millisecond, time.Hour))
	a.Disconnect(DisconnectWithWill, "")
	if got := obs.pull(); len(got) != 0 {
		t.Fatalf("will published at once: %q", payloads(got))
	}
	if got := payloads(obs.waitPull(t, 1)); got != "gone:a" {
		t.Fatalf("observer got %q", got)
	}
	waitFor(t, "session expiry", func() bool { return b.SessionCount() == 1 })
}

func TestWillOnTakeover(t *testing.T) {
	tests := []struct {
		name       string
		delay      time.Duration
		cleanStart bool
		want       string
	}{
		{"published when its delay is zero", 0, false, "gone:a"},
		{"published when the new connection starts clean", time.Hour, true, "gone:a"},
		{"discarded when the session is resumed before the delay", time.Hour, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			obs := willObserver(t, b, "will/#")
			a, _ := connect(t, b, willReq("a", time.Hour, tt.delay))
			connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, CleanStart: tt.cleanStart, SessionExpiry: time.Hour})
			a.conn.wantKick(t, SessionTakenOver)
			if got := payloads(obs.pull()); got != tt.want {
				t.Fatalf("observer got %q, want %q", got, tt.want)
			}
			// The stale handle's disconnect cannot publish it later.
			a.Disconnect(DisconnectWithWill, "")
			if got := payloads(obs.pull()); got != "" {
				t.Fatalf("stale disconnect published %q", got)
			}
		})
	}
}

func TestWillTopicGetsMountpoint(t *testing.T) {
	b := newBroker(t, Config{})
	obs := willObserver(t, b, "#")
	req := willReq("a", 0, 0)
	req.Info.Mountpoint = "tenant1/"
	a, _ := connect(t, b, req)
	a.Disconnect(DisconnectWithWill, "")
	ds := obs.pull()
	if len(ds) != 1 || ds[0].Msg.Topic != "tenant1/will/a" {
		t.Fatalf("observer got %+v, want one will on tenant1/will/a", ds)
	}
	if ds[0].Msg.Origin.ClientID != "a" {
		t.Fatalf("will origin = %+v", ds[0].Msg.Origin)
	}
}

// TestWillOnTakeoverUsesOldConnectionsMountpoint: the will belongs to the
// connection that set it, even when the new connection of the same client
// id came in through a listener with another mountpoint.
func TestWillOnTakeoverUsesOldConnectionsMountpoint(t *testing.T) {
	b := newBroker(t, Config{})
	obs := willObserver(t, b, "#")
	req := willReq("a", time.Hour, 0)
	req.Info.Mountpoint = "old/"
	connect(t, b, req)
	connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a", Mountpoint: "new/"}, SessionExpiry: time.Hour})
	ds := obs.pull()
	if len(ds) != 1 || ds[0].Msg.Topic != "old/will/a" {
		t.Fatalf("observer got %+v, want one will on old/will/a", ds)
	}
}

func TestWillDeniedByAuthorizerNotPublished(t *testing.T) {
	b := newBroker(t, Config{Authorizer: authorizerFunc(func(_ *ClientInfo, a Action, t string) Verdict {
		if a == ActionPublish && t == "will/a" {
			return Deny
		}
		return Allow
	})})
	obs := willObserver(t, b, "will/#")
	a, _ := connect(t, b, willReq("a", 0, 0))
	a.Disconnect(DisconnectWithWill, "")
	if got := obs.pull(); len(got) != 0 {
		t.Fatalf("denied will published: %q", payloads(got))
	}
	if n := b.Stats().PublishDenied.Load(); n != 1 {
		t.Fatalf("PublishDenied = %d, want 1", n)
	}
	if n := b.Stats().WillsPublished.Load(); n != 0 {
		t.Fatalf("WillsPublished = %d, want 0", n)
	}
}

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name      string
		max       time.Duration
		expiry    time.Duration
		set       *time.Duration // SetSessionExpiry before disconnect
		wantEnds  bool           // the session ends at disconnect
		wantTimer time.Duration  // >0: the session expires after about this
	}{
		{name: "zero ends the session at disconnect", expiry: 0, wantEnds: true},
		{name: "positive keeps the session until it expires", expiry: 30 * time.Millisecond, wantTimer: 30 * time.Millisecond},
		{name: "never expire keeps the session", expiry: NeverExpire},
		{name: "MaxSessionExpiry caps the request", max: 30 * time.Millisecond, expiry: time.Hour, wantTimer: 30 * time.Millisecond},
		{name: "MaxSessionExpiry caps never expire", max: 30 * time.Millisecond, expiry: NeverExpire, wantTimer: 30 * time.Millisecond},
		{name: "SetSessionExpiry zero at disconnect ends the session", expiry: time.Hour, set: ptr(time.Duration(0)), wantEnds: true},
		{name: "SetSessionExpiry at disconnect keeps the session", expiry: 0, set: ptr(20 * time.Millisecond), wantTimer: 20 * time.Millisecond},
		{name: "SetSessionExpiry is capped", max: 20 * time.Millisecond, expiry: 0, set: ptr(time.Hour), wantTimer: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{MaxSessionExpiry: tt.max})
			a, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: tt.expiry})
			a.sub(t, "x", topic.Options{QoS: 1})
			if tt.set != nil {
				a.SetSessionExpiry(*tt.set)
			}
			start := time.Now()
			a.Disconnect(DisconnectNormal, "")
			if tt.wantEnds {
				if n := b.SessionCount(); n != 0 {
					t.Fatalf("SessionCount = %d, want 0", n)
				}
				if n := b.SubscriptionCount(); n != 0 {
					t.Fatalf("SubscriptionCount = %d, want 0", n)
				}
				return
			}
			if n := b.SessionCount(); n != 1 {
				t.Fatalf("SessionCount = %d after disconnect, want 1", n)
			}
			s := b.sessionOf("", "a")
			s.mu.Lock()
			timer := s.expiryTimer != nil
			s.mu.Unlock()
			if tt.wantTimer == 0 {
				if timer {
					t.Fatal("a session that never expires has an expiry timer")
				}
				return
			}
			waitFor(t, "session expiry", func() bool { return b.SessionCount() == 0 })
			if el := time.Since(start); el < tt.wantTimer {
				t.Fatalf("session expired after %v, before %v", el, tt.wantTimer)
			}
			// The expiry drops the subscriptions just after it unregisters
			// the session.
			waitFor(t, "subscriptions dropped", func() bool { return b.SubscriptionCount() == 0 })
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestResumeBeforeExpiryKeepsSession(t *testing.T) {
	b := newBroker(t, Config{})
	a, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: 20 * time.Millisecond})
	a.sub(t, "x", topic.Options{QoS: 1})
	a.Disconnect(DisconnectNormal, "")
	a2, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: 20 * time.Millisecond})
	if !present {
		t.Fatal("not present")
	}
	// The old expiry timer must not end the resumed, connected session:
	// give it five times its duration.
	a2.conn.drainNotes()
	if a2.conn.notified(100 * time.Millisecond) {
		t.Fatal("unexpected notify")
	}
	if n := b.SessionCount(); n != 1 {
		t.Fatalf("SessionCount = %d, want 1", n)
	}
	b.inject(&Message{Topic: "x", QoS: 1, Payload: []byte("p")})
	if got := payloads(a2.pull()); got != "p" {
		t.Fatalf("got %q", got)
	}
}

// inflightHeld reports whether the session holds inflight memory.
func inflightHeld(c *tclient) bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.inflight != nil || c.s.order != nil || c.s.inflightMem != nil
}

// An emptied window gives its map and send order back (to a pool), and a
// window opened again from that memory keeps packet ids and the resend
// order right, after a burst wider than the pooled size and after acks
// out of order.
func TestInflightMemoryReleasedAndReused(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 1000})
	a := connectID(t, b, "a")
	a.sub(t, "x", topic.Options{QoS: 1})
	for round, n := range []int{1, pooledWindow * 3, 5, 1} {
		for i := 0; i < n; i++ {
			b.inject(&Message{Topic: "x", QoS: 1, Payload: []byte{byte(i)}})
		}
		ds := a.Pull(nil, 1<<20)
		if len(ds) != n {
			t.Fatalf("round %d: pulled %d, want %d", round, len(ds), n)
		}
		ids := map[uint16]bool{}
		for i, d := range ds {
			if d.Tag == 0 || ids[d.Tag] || d.Msg.Payload[0] != byte(i) {
				t.Fatalf("round %d: delivery %d: id %d payload %v", round, i, d.Tag, d.Msg.Payload)
			}
			ids[d.Tag] = true
		}
		if !inflightHeld(a) {
			t.Fatalf("round %d: no inflight memory with %d in flight", round, n)
		}
		// Acks in reverse order: the window empties only with the last.
		for i := len(ds) - 1; i >= 0; i-- {
			if !a.Settle(ds[i].Tag, Accepted) {
				t.Fatalf("round %d: ack %d not found", round, ds[i].Tag)
			}
			if held := inflightHeld(a); held != (i > 0) {
				t.Fatalf("round %d: after ack %d of %d, memory held = %v", round, len(ds)-i, len(ds), held)
			}
		}
	}
	// A window opened from pooled memory resends in send order after a
	// reconnect.
	for i := 0; i < 3; i++ {
		b.inject(&Message{Topic: "x", QoS: 1, Payload: []byte{byte(i)}})
	}
	first := a.Pull(nil, 10)
	a.Settle(first[1].Tag, Accepted)
	a.Disconnect(DisconnectNormal, "")
	a2, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "a"}, SessionExpiry: time.Hour})
	again := a2.Pull(nil, 10)
	if len(again) != 2 || !(again[0].Redelivered > 0) || again[0].Tag != first[0].Tag || again[1].Tag != first[2].Tag {
		t.Fatalf("resent %+v, want ids %d and %d with DUP", again, first[0].Tag, first[2].Tag)
	}
}

// The inbound QoS 2 set is let go once empty, and one made from pooled
// memory still tells a resent PUBLISH from a new one.
func TestInboundQoS2SetReleasedAndReused(t *testing.T) {
	b := newBroker(t, Config{})
	a := connectID(t, b, "a")
	ctx := context.Background()
	for _, n := range []int{pooledInbound * 2, 1, 3} {
		for id := uint16(1); id <= uint16(n); id++ {
			if _, dup := a.PublishQoS2(ctx, id, &Message{Topic: "x", QoS: 2}); dup {
				t.Fatalf("id %d: new PUBLISH taken for a resend", id)
			}
			if _, dup := a.PublishQoS2(ctx, id, &Message{Topic: "x", QoS: 2}); !dup {
				t.Fatalf("id %d: resent PUBLISH taken for a new one", id)
			}
		}
		for id := uint16(1); id <= uint16(n); id++ {
			if !a.Release(id) {
				t.Fatalf("PUBREL %d: id not known", id)
			}
		}
		a.s.mu.Lock()
		held, wide := a.s.inbound != nil, a.s.inboundWide
		a.s.mu.Unlock()
		if held || wide {
			t.Fatalf("after releasing %d ids: set held %v, wide %v", n, held, wide)
		}
		if a.Release(1) {
			t.Fatal("PUBREL for a released id reported known")
		}
	}
}
