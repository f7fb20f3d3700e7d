package core

import (
	"sync/atomic"
	"testing"

	"github.com/mqgate/mqgate/core/topic"
)

// countingRouter stands in for a clustered router: it wraps the
// single-node one and counts what the core asks of it.
type countingRouter struct {
	*topic.Router[SessionRef]
	subs, matches atomic.Int64
}

func (r *countingRouter) Subscribe(s SessionRef, id, f string, o topic.Options) bool {
	r.subs.Add(1)
	return r.Router.Subscribe(s, id, f, o)
}

func (r *countingRouter) MatchFrom(t string, p SessionRef, has bool, id string, m *topic.Matches[SessionRef]) {
	r.matches.Add(1)
	r.Router.MatchFrom(t, p, has, id, m)
}

type countingRegistry struct {
	mapRegistry
	puts int
}

func (r *countingRegistry) Put(k SessionKey, s SessionRef) { r.puts++; r.mapRegistry.Put(k, s) }

type countingRetained struct {
	*topic.Retained[*Message]
	sets atomic.Int64
}

func (r *countingRetained) Set(t string, m *Message) bool {
	r.sets.Add(1)
	return r.Retained.Set(t, m)
}

// TestSeamsCarryTheBroker: the router, registry and retained index given
// in the Config are the ones the broker uses.
func TestSeamsCarryTheBroker(t *testing.T) {
	rt := &countingRouter{Router: topic.NewRouter[SessionRef](topic.RoundRobin)}
	reg := &countingRegistry{mapRegistry: make(mapRegistry)}
	ret := &countingRetained{Retained: topic.NewRetained[*Message]()}
	b := newBroker(t, Config{Router: rt, Registry: reg, RetainedIndex: ret})
	c := connectID(t, b, "a")
	c.sub(t, "x/#", topic.Options{QoS: 1})
	c.pub(t, "x/1", 1, "v")
	b.inject(&Message{Topic: "r", Retain: true, Payload: []byte("kept")})
	if got := payloads(c.waitPull(t, 1)); got != "v" {
		t.Fatalf("delivered %q", got)
	}
	if rt.subs.Load() != 1 || rt.matches.Load() != 2 || reg.puts != 1 || ret.sets.Load() != 1 {
		t.Fatalf("router %d subscribes %d matches, registry %d puts, retained %d sets",
			rt.subs.Load(), rt.matches.Load(), reg.puts, ret.sets.Load())
	}
	if _, ok := b.RetainedMessage("r"); !ok || b.SessionCount() != 1 {
		t.Fatal("admin queries do not go through the seams")
	}
}
