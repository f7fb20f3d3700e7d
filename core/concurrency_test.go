package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// TestConcurrentPublishConnectSubscribe runs publishers against sessions
// that connect, subscribe, pull, acknowledge, unsubscribe, disconnect and
// take each other over at the same time. It proves, under -race, that the
// core neither races nor deadlocks, and that the registry ends consistent.
func TestConcurrentPublishConnectSubscribe(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 8, MaxQueued: 64, DropPolicy: DropOldest, SysInterval: 5 * time.Millisecond})
	const (
		publishers = 8
		clients    = 8
		messages   = 1500
	)
	ctx := context.Background()
	done := make(chan struct{})
	var pubs, subs sync.WaitGroup

	for p := 0; p < publishers; p++ {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			c, _, err := b.open(&OpenRequest{Info: ClientInfo{ClientID: fmt.Sprint("pub-", p)}, Conn: nullConn{}, SessionExpiry: time.Hour})
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < messages; i++ {
				tp := fmt.Sprintf("load/%d/x", i%clients)
				switch i % 4 {
				case 0:
					c.Publish(ctx, &Message{Topic: tp, Payload: []byte("q0")})
				case 1:
					c.Publish(ctx, &Message{Topic: tp, QoS: 1, Payload: []byte("q1"), Retain: i%8 == 1})
				case 2:
					id := uint16(i%30 + 1)
					c.PublishQoS2(ctx, id, &Message{Topic: tp, QoS: 2, Payload: []byte("q2")})
					c.Release(id)
				case 3:
					b.inject(&Message{Topic: tp, QoS: 1, Payload: []byte("bridge")})
				}
			}
			c.Disconnect(DisconnectNormal, "")
		}()
	}

	for s := 0; s < clients; s++ {
		subs.Add(1)
		go func() {
			defer subs.Done()
			rng := rand.New(rand.NewPCG(uint64(s), 1))
			var ds []Delivery
			for {
				select {
				case <-done:
					return
				default:
				}
				// Two goroutines share each client id, so takeovers happen.
				id := fmt.Sprint("sub-", s%(clients/2))
				fc := newFakeConn()
				c, _, err := b.open(&OpenRequest{
					Info:          ClientInfo{ClientID: id},
					CleanStart:    rng.IntN(4) == 0,
					SessionExpiry: time.Duration(rng.IntN(3)) * time.Hour,
					Will:          &Will{Message: &Message{Topic: "will/" + id, Payload: []byte("w")}},
					Conn:          fc,
				})
				if err != nil {
					t.Error(err)
					return
				}
				reqs := []SubscribeRequest{
					{Filter: fmt.Sprintf("load/%d/+", s), Options: topic.Options{QoS: byte(rng.IntN(3))}},
					{Filter: "load/+/x", Options: topic.Options{QoS: 1, SubscriptionID: 7}},
					{Filter: "$share/g/load/#", Options: topic.Options{QoS: 2}},
					{Filter: "will/#"},
				}
				res := c.Subscribe(ctx, reqs, nil)
				c.SendRetained(reqs, res)
				for round := 0; round < 20; round++ {
					ds = c.Pull(ds[:0], 16)
					for _, d := range ds {
						switch {
						case d.Held:
							c.Complete(d.Tag)
						case d.QoS == 1:
							c.Settle(d.Tag, Accepted)
						case d.QoS == 2:
							if rng.IntN(10) == 0 {
								c.Settle(d.Tag, Rejected)
							} else {
								c.Hold(d.Tag)
							}
							c.Complete(d.Tag)
						}
					}
				}
				if rng.IntN(2) == 0 {
					c.Unsubscribe([]string{"load/+/x"}, nil)
				}
				c.Disconnect(DisconnectKind(rng.IntN(2)), "")
			}
		}()
	}

	pubs.Wait()
	close(done)
	subs.Wait()

	// Every client is gone; only sessions with an expiry remain, and each
	// remaining session is registered under its own key.
	if n := b.Stats().ClientsConnected.Load(); n != 0 {
		t.Fatalf("ClientsConnected = %d after every client left", n)
	}
	b.regMu.Lock()
	defer b.regMu.Unlock()
	b.sessions.Range(func(k SessionKey, s SessionRef) bool {
		if s.key != k {
			t.Errorf("session %v registered under %v", s.key, k)
		}
		s.mu.Lock()
		if s.conn != nil || s.ended {
			t.Errorf("session %v: conn %v ended %v", k, s.conn, s.ended)
		}
		s.mu.Unlock()
		return true
	})
}
