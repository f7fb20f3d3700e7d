package core

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/core/topic"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeConn is the adapter side of a connection: it records Notify and Kick
// on channels so tests wait for them instead of sleeping.
type fakeConn struct {
	notes chan struct{}
	kicks chan Code
}

func newFakeConn() *fakeConn {
	return &fakeConn{notes: make(chan struct{}, 1), kicks: make(chan Code, 8)}
}

func (f *fakeConn) Notify() {
	select {
	case f.notes <- struct{}{}:
	default:
	}
}

func (f *fakeConn) Kick(c Code) {
	select {
	case f.kicks <- c:
	default:
	}
}

// notified reports whether a Notify arrived within d.
func (f *fakeConn) notified(d time.Duration) bool {
	select {
	case <-f.notes:
		return true
	case <-time.After(d):
		return false
	}
}

// drainNotes forgets Notify calls made so far.
func (f *fakeConn) drainNotes() {
	select {
	case <-f.notes:
	default:
	}
}

func (f *fakeConn) wantKick(t *testing.T, want Code) {
	t.Helper()
	select {
	case got := <-f.kicks:
		if got != want {
			t.Fatalf("kicked with %v, want %v", got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("not kicked, want %v", want)
	}
}

func (f *fakeConn) wantNoKick(t *testing.T) {
	t.Helper()
	select {
	case got := <-f.kicks:
		t.Fatalf("kicked with %v", got)
	default:
	}
}

// nullConn is a Conn that ignores everything, for benchmarks.
type nullConn struct{}

func (nullConn) Notify()   {}
func (nullConn) Kick(Code) {}

// tclient is a connected test client and its fake connection.
type tclient struct {
	*Client
	conn *fakeConn
}

const waitLimit = 2 * time.Second

func newBroker(t testing.TB, cfg Config) *Broker {
	t.Helper()
	if !cfg.AllowAnonymous {
		cfg.AllowAnonymous = true
	}
	b := NewBroker(cfg)
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// connect connects req; a nil req.Conn gets a fakeConn and an empty
// Info.Protocol becomes "mqtt".
func connect(t testing.TB, b *Broker, req OpenRequest) (*tclient, bool) {
	t.Helper()
	fc, _ := req.Conn.(*fakeConn)
	if req.Conn == nil {
		fc = newFakeConn()
		req.Conn = fc
	}
	if req.Info.Protocol == "" {
		req.Info.Protocol = "mqtt"
	}
	c, present, err := b.Open(context.Background(), &req)
	if err != nil {
		t.Fatalf("connect %q: %v", req.Info.ClientID, err)
	}
	return &tclient{Client: c, conn: fc}, present
}

// connectID connects a client id with a session that outlives the
// connection by an hour.
func connectID(t testing.TB, b *Broker, id string) *tclient {
	t.Helper()
	c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: id}, SessionExpiry: time.Hour})
	return c
}

func (c *tclient) sub(t testing.TB, filter string, o topic.Options) {
	t.Helper()
	reqs := []SubscribeRequest{{Filter: filter, Options: o}}
	res := c.Subscribe(context.Background(), reqs, nil)
	if res[0].Code.Failed() {
		t.Fatalf("subscribe %q: %v", filter, res[0].Code)
	}
	c.SendRetained(reqs, res)
}

func (c *tclient) pub(t testing.TB, tp string, qos byte, payload string) Code {
	t.Helper()
	return c.Publish(context.Background(), &Message{Topic: tp, QoS: qos, Payload: []byte(payload)})
}

func (c *tclient) pull() []Delivery { return c.Pull(nil, 1<<20) }

// waitPull pulls until at least n deliveries arrived or the wait limit
// passes.
func (c *tclient) waitPull(t testing.TB, n int) []Delivery {
	t.Helper()
	var ds []Delivery
	waitFor(t, "deliveries", func() bool {
		ds = c.Pull(ds, 1<<20)
		return len(ds) >= n
	})
	return ds
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func payloads(ds []Delivery) string {
	var s []string
	for _, d := range ds {
		switch {
		case d.Held:
			s = append(s, "rel")
		case d.Msg != nil:
			s = append(s, string(d.Msg.Payload))
		}
	}
	return strings.Join(s, ",")
}

// authorizerFunc adapts a function to Authorizer.
type authorizerFunc func(c *ClientInfo, a Action, topic string) Verdict

func (f authorizerFunc) Authorize(_ context.Context, c *ClientInfo, a Action, topic string) (Verdict, error) {
	return f(c, a, topic), nil
}

// denyPrefix denies every action on topics and filters starting with p.
func denyPrefix(p string) Authorizer {
	return authorizerFunc(func(_ *ClientInfo, _ Action, t string) Verdict {
		if strings.HasPrefix(t, p) {
			return Deny
		}
		return Ignore
	})
}

func (b *Broker) sessionOf(ns, id string) *session {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	return b.sessions.Get(SessionKey{ns, id})
}

// An assigned client id is never one a session already has, even when
// the random source repeats itself.
func TestAssignClientIDSkipsExistingSession(t *testing.T) {
	calls := 0
	randRead = func(b []byte) (int, error) {
		calls++
		for i := range b {
			b[i] = byte(calls / 3) // the same bytes for the first two calls
		}
		return len(b), nil
	}
	t.Cleanup(func() { randRead = rand.Read })
	b := NewBroker(Config{AllowAnonymous: true})
	defer b.Close()
	first := b.AssignClientID("")
	if _, _, err := b.open(&OpenRequest{Info: ClientInfo{ClientID: first}, Conn: newFakeConn(), SessionExpiry: time.Hour}); err != nil {
		t.Fatal(err)
	}
	second := b.AssignClientID("")
	if second == first {
		t.Fatalf("id %q assigned while a session holds it", first)
	}
	if calls != 3 {
		t.Fatalf("%d draws, want 3 (one refused as taken)", calls)
	}
	if other := b.AssignClientID("mqttsn"); other != second {
		// A namespace without that session accepts the same draw.
		_ = other
	}
}
