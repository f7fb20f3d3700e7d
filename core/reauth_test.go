package core

import (
	"context"
	"sync/atomic"
	"testing"
)

type switchAuthz struct{ deny atomic.Bool }

func (s *switchAuthz) Authorize(_ context.Context, _ *ClientInfo, _ Action, t string) (Verdict, error) {
	if s.deny.Load() && t == "secret/#" {
		return Deny, nil
	}
	return Allow, nil
}

func TestReauthorizeRemovesSubscriptionsTheACLNowDenies(t *testing.T) {
	az := &switchAuthz{}
	b := NewBroker(Config{AllowAnonymous: true, Authorizer: az})
	defer b.Close()
	c, _, err := b.open(&OpenRequest{Info: ClientInfo{ClientID: "durable"}, SessionExpiry: NeverExpire, Conn: nopConn{}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []SubscribeRequest{{Filter: "secret/#"}, {Filter: "open/#"}}
	reqs[0].Options.QoS, reqs[1].Options.QoS = 1, 1
	c.Subscribe(context.Background(), reqs, nil)
	c.Disconnect(DisconnectNormal, "")
	if got := b.Reauthorize(context.Background()); got != 0 {
		t.Fatalf("removed %d with nothing denied", got)
	}
	az.deny.Store(true)
	if got := b.Reauthorize(context.Background()); got != 1 {
		t.Fatalf("removed %d, want 1", got)
	}
	if n := b.inject(&Message{Topic: "secret/x", QoS: 1}); n != 0 {
		t.Fatalf("denied subscription still receives (%d)", n)
	}
	if n := b.inject(&Message{Topic: "open/x", QoS: 1}); n != 1 {
		t.Fatalf("allowed subscription lost (%d)", n)
	}
}

type nopConn struct{}

func (nopConn) Notify()   {}
func (nopConn) Kick(Code) {}
