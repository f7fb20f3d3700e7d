package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

type passwords map[string]string

func (p passwords) Authenticate(_ context.Context, c *ClientInfo, pw []byte) (Verdict, error) {
	want, ok := p[c.Username]
	switch {
	case !ok:
		return Ignore, nil
	case want == string(pw):
		return Allow, nil
	}
	return Deny, nil
}

// TestOpenAuthenticates: opening a session runs the authentication chain
// with the request's credentials; nothing is created for a refused one.
func TestOpenAuthenticates(t *testing.T) {
	b := NewBroker(Config{Authenticator: passwords{"alice": "secret"}})
	b.Start()
	t.Cleanup(b.Close)
	ctx := context.Background()
	open := func(user, pw string) error {
		req := &OpenRequest{Info: ClientInfo{ClientID: "c-" + user, Username: user}, Conn: nullConn{}}
		if pw != "" {
			req.Password = []byte(pw)
		}
		c, _, err := b.Open(ctx, req)
		if err == nil {
			c.Disconnect(DisconnectNormal, "")
		}
		return err
	}
	if err := open("alice", "secret"); err != nil {
		t.Fatalf("good password: %v", err)
	}
	if err := open("alice", "wrong"); !errors.Is(err, BadUsernameOrPassword) {
		t.Fatalf("bad password: %v", err)
	}
	if err := open("", ""); !errors.Is(err, NotAuthorized) {
		t.Fatalf("anonymous with allow_anonymous off: %v", err)
	}
	if n := b.SessionCount(); n != 0 {
		t.Fatalf("%d sessions after refused opens", n)
	}
	b.Close()
	if err := open("alice", "secret"); !errors.Is(err, ServerShuttingDown) {
		t.Fatalf("open after close: %v", err)
	}
}

// TestServerSidePublishRunsTheClientChecks: a producer that is not a
// client publishes through the same checks, and learns the outcome.
func TestServerSidePublishRunsTheClientChecks(t *testing.T) {
	b := newBroker(t, Config{Authorizer: denyPrefix("secret/")})
	ctx := context.Background()
	sub := connectID(t, b, "sub")
	sub.sub(t, "dev/#", topic.Options{QoS: 1})
	info := &ClientInfo{Protocol: "bridge", ClientID: "up-1", Mountpoint: "dev/"}
	n, err := b.Publish(ctx, info, &Message{Topic: "t", QoS: 1, Payload: []byte("x")})
	if err != nil || n != 1 {
		t.Fatalf("publish: %d, %v", n, err)
	}
	d := sub.waitPull(t, 1)[0]
	if d.Msg.Topic != "dev/t" || d.Msg.Origin.ClientID != "up-1" || d.Msg.Origin.Protocol != "bridge" {
		t.Fatalf("delivered %q from %+v", d.Msg.Topic, d.Msg.Origin)
	}
	none := &ClientInfo{Protocol: "bridge", ClientID: "up-2"}
	for _, tc := range []struct {
		topic string
		want  Code
	}{
		{"$SYS/x", NotAuthorized},
		{"secret/x", NotAuthorized},
		{"a/+", TopicNameInvalid},
		{"", TopicNameInvalid},
	} {
		if _, err := b.Publish(ctx, none, &Message{Topic: tc.topic, QoS: 1}); !errors.Is(err, tc.want) {
			t.Errorf("publish to %q: %v, want %v", tc.topic, err, tc.want)
		}
	}
	if n, err := b.Publish(ctx, none, &Message{Topic: "nobody"}); err != nil || n != 0 {
		t.Fatalf("publish to no subscriber: %d, %v", n, err)
	}
	st := b.Stats()
	if st.PublishDenied.Load() != 2 || st.MessagesReceived.Load() != 2 {
		t.Fatalf("denied %d received %d, want 2 and 2", st.PublishDenied.Load(), st.MessagesReceived.Load())
	}
}

// failingStore fails its syncs.
type failingStore struct{ store.Store }

func (f failingStore) Sync() error { return errors.New("disk gone") }

// TestServerSidePublishReportsDurability: when the store cannot make a
// QoS 1 message durable, the producer is told, so it does not acknowledge.
func TestServerSidePublishReportsDurability(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		st := failingStore{open()}
		b := NewBroker(Config{Store: st, AllowAnonymous: true})
		b.Start()
		t.Cleanup(b.Close)
		c, _, err := b.Open(context.Background(), &OpenRequest{Info: ClientInfo{ClientID: "s"}, SessionExpiry: time.Hour, Conn: nullConn{}})
		if err != nil {
			t.Fatal(err)
		}
		c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "t", Options: topic.Options{QoS: 1}}}, nil)
		c.Disconnect(DisconnectWithWill, "")
		// The subscription's own sync failed already.
		f0 := b.StoreHealth().Failures
		before := time.Now()
		_, err = b.Publish(context.Background(), &ClientInfo{ClientID: "p"}, &Message{Topic: "t", QoS: 1, Payload: []byte("x")})
		if !errors.Is(err, UnspecifiedError) {
			t.Fatalf("publish with a failing store: %v, want UnspecifiedError", err)
		}
		// The operator sees it: StoreHealth and the stats snapshot.
		h := b.StoreHealth()
		if h.Failures != f0+1 || h.LastError != "disk gone" || h.LastAt.Before(before) {
			t.Errorf("store health after a failed sync: %+v, want %d failures", h, f0+1)
		}
		if n := b.Snapshot().StoreFailures; n != h.Failures {
			t.Errorf("snapshot StoreFailures = %d, want %d", n, h.Failures)
		}
	})
}

// TestStoreHealthStartsClean: a broker whose store has not failed reports
// no failure.
func TestStoreHealthStartsClean(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := NewBroker(Config{Store: open(), AllowAnonymous: true})
		b.Start()
		t.Cleanup(b.Close)
		if _, err := b.Publish(context.Background(), &ClientInfo{ClientID: "p"}, &Message{Topic: "t", QoS: 1, Retain: true, Payload: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if h := b.StoreHealth(); h != (StoreHealth{}) {
			t.Errorf("store health with a working store: %+v", h)
		}
	})
}
