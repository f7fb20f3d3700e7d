// Package coretest has helpers for adapters' tests that need a core
// session of their own beside the clients under test.
package coretest

import (
	"context"
	"testing"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// idleConn is a connection that never takes its deliveries.
type idleConn struct{}

func (idleConn) Notify()        {}
func (idleConn) Kick(core.Code) {}

// FullSubscriber opens a session subscribed to filter at QoS 1 that takes
// nothing from its queue of one message and refuses when full, as a
// bridge under the outbox policy refuse does once its outbox is full: the
// first QoS 1/2 publish to filter fits, the next is refused with
// QuotaExceeded.
func FullSubscriber(t testing.TB, b *core.Broker, filter string) {
	t.Helper()
	c, _, err := b.Open(context.Background(), &core.OpenRequest{
		Info: core.ClientInfo{Protocol: "bridge", ClientID: "full-subscriber"}, SessionExpiry: core.NeverExpire,
		MaxQueued: 1, RefuseWhenFull: true, Conn: idleConn{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Subscribe(context.Background(), []core.SubscribeRequest{{Filter: filter, Options: topic.Options{QoS: 1}}}, nil); r[0].Code.Failed() {
		t.Fatalf("subscribe %s: %v", filter, r[0].Code)
	}
}
