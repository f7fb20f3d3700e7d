package topic

import (
	"fmt"
	"sync"
	"testing"
)

func sharedRouter(strategy Strategy, members ...string) *Router[string] {
	r := NewRouter[string](strategy)
	for _, m := range members {
		r.Subscribe(m, m, "$share/g/t/+", Options{QoS: 1})
	}
	return r
}

// deliverShared publishes n messages and counts the member each went to.
func deliverShared(t *testing.T, r *Router[string], n int, topic func(i int) string, publisherID func(i int) string) map[string]int {
	t.Helper()
	got := map[string]int{}
	var m Matches[string]
	for i := range n {
		r.MatchFrom(topic(i), "", false, publisherID(i), &m)
		if len(m.Targets) != 1 || !m.Targets[0].Shared {
			t.Fatalf("message %d: targets %v, want one shared", i, deliveries(&m))
		}
		got[m.Targets[0].Sub]++
	}
	return got
}

func fixedTopic(int) string    { return "t/x" }
func noPublisherID(int) string { return "" }
func topicN(i int) string      { return fmt.Sprintf("t/%d", i) }
func publisherN(i int) string  { return fmt.Sprintf("pub-%d", i%10) }
func available(online ...string) func(string) bool {
	set := map[string]bool{}
	for _, o := range online {
		set[o] = true
	}
	return func(s string) bool { return set[s] }
}

func TestSharedRoundRobinDistributesEvenly(t *testing.T) {
	r := sharedRouter(RoundRobin, "a", "b", "c")
	got := deliverShared(t, r, 300, fixedTopic, noPublisherID)
	for _, m := range []string{"a", "b", "c"} {
		if got[m] != 100 {
			t.Fatalf("round robin counts %v, want 100 each", got)
		}
	}
}

func TestSharedRoundRobinIsPerGroup(t *testing.T) {
	r := NewRouter[string](RoundRobin)
	for _, m := range []string{"a", "b"} {
		r.Subscribe(m, m, "$share/g/x", Options{})
		r.Subscribe(m, m, "$share/h/y", Options{})
	}
	var m Matches[string]
	var gotX, gotY []string
	for range 4 {
		r.Match("x", "", false, &m)
		gotX = append(gotX, m.Targets[0].Sub)
		r.Match("y", "", false, &m)
		gotY = append(gotY, m.Targets[0].Sub)
	}
	// Each group alternates on its own: interleaving publishes to the
	// other group does not skew it.
	for i := 1; i < 4; i++ {
		if gotX[i] == gotX[i-1] || gotY[i] == gotY[i-1] {
			t.Fatalf("groups do not alternate: g=%v h=%v", gotX, gotY)
		}
	}
}

func TestSharedRoundRobinConcurrentIsExact(t *testing.T) {
	r := sharedRouter(RoundRobin, "a", "b", "c", "d")
	const workers, each = 8, 1000
	counts := make([]map[string]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[w] = map[string]int{}
			var m Matches[string]
			for range each {
				r.Match("t/x", "", false, &m)
				counts[w][m.Targets[0].Sub]++
			}
		}()
	}
	wg.Wait()
	total := map[string]int{}
	for _, c := range counts {
		for k, v := range c {
			total[k] += v
		}
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		if total[k] != workers*each/4 {
			t.Fatalf("concurrent round robin counts %v, want %d each", total, workers*each/4)
		}
	}
}

func TestSharedRandomCoversMembers(t *testing.T) {
	r := sharedRouter(Random, "a", "b", "c", "d")
	got := deliverShared(t, r, 2000, fixedTopic, noPublisherID)
	for _, m := range []string{"a", "b", "c", "d"} {
		// Expect 500; 250 is more than ten standard deviations away.
		if got[m] < 250 {
			t.Fatalf("random counts %v: %s starved", got, m)
		}
	}
}

func TestSharedStickySticks(t *testing.T) {
	r := sharedRouter(Sticky, "a", "b", "c")
	got := deliverShared(t, r, 100, topicN, publisherN)
	if len(got) != 1 {
		t.Fatalf("sticky spread messages over %v", got)
	}
	var first string
	for k := range got {
		first = k
	}
	// Unsubscribing the chosen member moves the group to another member,
	// which then sticks.
	r.Unsubscribe(first, "$share/g/t/+")
	got = deliverShared(t, r, 100, topicN, publisherN)
	if len(got) != 1 || got[first] != 0 {
		t.Fatalf("after %s left, sticky delivered %v", first, got)
	}
}

func TestSharedStickyLeavesUnavailableMember(t *testing.T) {
	r := sharedRouter(Sticky, "a", "b")
	online := map[string]bool{"a": true, "b": true}
	var mu sync.Mutex
	r.SetAvailable(func(s string) bool { mu.Lock(); defer mu.Unlock(); return online[s] })
	got := deliverShared(t, r, 10, fixedTopic, noPublisherID)
	var first, second string
	for k := range got {
		first = k
	}
	second = map[string]string{"a": "b", "b": "a"}[first]
	mu.Lock()
	online[first] = false
	mu.Unlock()
	if got := deliverShared(t, r, 10, fixedTopic, noPublisherID); got[second] != 10 {
		t.Fatalf("with %s offline sticky delivered %v", first, got)
	}
	mu.Lock()
	online[first] = true
	mu.Unlock()
	// The group stays on its new member when the old one returns.
	if got := deliverShared(t, r, 10, fixedTopic, noPublisherID); got[second] != 10 {
		t.Fatalf("after %s returned sticky delivered %v", first, got)
	}
}

func TestSharedHashClientIDIsStablePerPublisher(t *testing.T) {
	r := sharedRouter(HashClientID, "a", "b", "c", "d")
	var m Matches[string]
	chosen := map[string]string{}
	used := map[string]bool{}
	for i := range 400 {
		pub := fmt.Sprintf("pub-%d", i%40)
		r.MatchFrom(fmt.Sprintf("t/%d", i), "", false, pub, &m)
		got := m.Targets[0].Sub
		if prev, ok := chosen[pub]; ok && prev != got {
			t.Fatalf("publisher %s went to %s then %s", pub, prev, got)
		}
		chosen[pub] = got
		used[got] = true
	}
	if len(used) < 2 {
		t.Fatalf("40 publishers all hashed to %v", used)
	}
	// Removing a member moves only the publishers it served.
	r.Unsubscribe("a", "$share/g/t/+")
	for pub, before := range chosen {
		r.MatchFrom("t/x", "", false, pub, &m)
		if got := m.Targets[0].Sub; before != "a" && got != before {
			t.Fatalf("publisher %s moved from %s to %s when a left", pub, before, got)
		}
	}
}

func TestSharedHashTopicIsStablePerTopic(t *testing.T) {
	r := sharedRouter(HashTopic, "a", "b", "c", "d")
	var m Matches[string]
	chosen := map[string]string{}
	used := map[string]bool{}
	for i := range 400 {
		topic := fmt.Sprintf("t/%d", i%40)
		r.MatchFrom(topic, "", false, fmt.Sprint(i), &m)
		got := m.Targets[0].Sub
		if prev, ok := chosen[topic]; ok && prev != got {
			t.Fatalf("topic %s went to %s then %s", topic, prev, got)
		}
		chosen[topic] = got
		used[got] = true
	}
	if len(used) < 2 {
		t.Fatalf("40 topics all hashed to %v", used)
	}
}

func TestSharedAvailabilityPreference(t *testing.T) {
	for _, s := range []Strategy{RoundRobin, Random, Sticky, HashClientID, HashTopic} {
		t.Run(s.String()+" prefers the available member", func(t *testing.T) {
			r := sharedRouter(s, "a", "b", "c")
			r.SetAvailable(available("b"))
			got := deliverShared(t, r, 60, topicN, publisherN)
			if got["b"] != 60 {
				t.Fatalf("deliveries %v, want all to b", got)
			}
		})
		t.Run(s.String()+" falls back to an unavailable member", func(t *testing.T) {
			r := sharedRouter(s, "a", "b", "c")
			r.SetAvailable(available())
			got := deliverShared(t, r, 60, topicN, publisherN)
			if got["a"]+got["b"]+got["c"] != 60 {
				t.Fatalf("deliveries %v, want 60 to someone", got)
			}
		})
	}
}

func TestSharedOptionsAndReplacement(t *testing.T) {
	r := NewRouter[string](RoundRobin)
	r.Subscribe("a", "a", "$share/g/x", Options{QoS: 1, SubscriptionID: 5})
	if !r.Subscribe("a", "a", "$share/g/x", Options{QoS: 2, RetainAsPublished: true, SubscriptionID: 6}) {
		t.Fatal("re-subscribing a shared filter was not a replacement")
	}
	var m Matches[string]
	r.Match("x", "", false, &m)
	want := []delivery{{"a", 2, true, "6", true}}
	if got := deliveries(&m); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("got %v, want %v", got, want)
	}
}
