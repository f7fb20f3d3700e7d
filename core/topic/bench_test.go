package topic

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

var metrics = [...]string{"temp", "hum", "pressure", "battery"}

type benchSession struct{ id int }

type benchFixture struct {
	r      *Router[*benchSession]
	topics []string
	heapMB float64
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[int]*benchFixture{}
)

// benchRouter builds (once per size) a router with n exact subscriptions
// `site/{s}/device/{d}/{metric}`, one session per device, plus two wildcard
// subscriptions per site (`site/{s}/device/+/temp` and `site/{s}/#`), and a
// sample of topics that hit it.
func benchRouter(b *testing.B, n int) *benchFixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[n]; f != nil {
		return f
	}
	const devicesPerSite = 250
	sites := n / (devicesPerSite * len(metrics))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := NewRouter[*benchSession](RoundRobin)
	id := 0
	for s := range sites {
		for d := range devicesPerSite {
			sess := &benchSession{id: id}
			id++
			for _, m := range metrics {
				r.Subscribe(sess, "", fmt.Sprintf("site/%d/device/%d/%s", s, d, m), Options{QoS: 1})
			}
		}
		watcher := &benchSession{id: id}
		id++
		r.Subscribe(watcher, "", fmt.Sprintf("site/%d/device/+/temp", s), Options{QoS: 0, SubscriptionID: 1})
		r.Subscribe(watcher, "", fmt.Sprintf("site/%d/#", s), Options{QoS: 1, SubscriptionID: 2})
	}
	topics := make([]string, 4096)
	for i := range topics {
		topics[i] = fmt.Sprintf("site/%d/device/%d/%s", (i*7919)%sites, (i*104729)%devicesPerSite, metrics[i%len(metrics)])
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	f := &benchFixture{r: r, topics: topics, heapMB: float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)}
	fixtures[n] = f
	return f
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			f := benchRouter(b, n)
			var m Matches[*benchSession]
			f.r.Match(f.topics[0], nil, false, &m) // grow the scratch
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f.r.Match(f.topics[i&4095], nil, false, &m)
				if len(m.Targets) != 2 {
					b.Fatalf("topic %s: %d targets, want 2", f.topics[i&4095], len(m.Targets))
				}
			}
			b.ReportMetric(f.heapMB, "setup-heap-MB")
		})
	}
}

func BenchmarkMatchParallel(b *testing.B) {
	f := benchRouter(b, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var m Matches[*benchSession]
		i := 0
		for pb.Next() {
			f.r.Match(f.topics[i&4095], nil, false, &m)
			i++
		}
	})
}

// BenchmarkMatchShared matches a topic that reaches a shared group, so
// member selection is measured too.
func BenchmarkMatchShared(b *testing.B) {
	for _, s := range []Strategy{RoundRobin, Random, Sticky, HashClientID, HashTopic} {
		b.Run(s.String(), func(b *testing.B) {
			r := NewRouter[*benchSession](s)
			r.SetAvailable(func(*benchSession) bool { return true })
			for i := range 8 {
				r.Subscribe(&benchSession{id: i}, fmt.Sprintf("worker-%d", i), "$share/workers/jobs/+", Options{QoS: 1, SubscriptionID: 3})
			}
			var m Matches[*benchSession]
			b.ReportAllocs()
			for b.Loop() {
				r.MatchFrom("jobs/resize", nil, false, "publisher-1", &m)
			}
		})
	}
}

// BenchmarkMatchFanOut matches a topic that 10,000 subscribers share, past
// the linear merge, so the map-based merge is measured.
func BenchmarkMatchFanOut(b *testing.B) {
	r := NewRouter[*benchSession](RoundRobin)
	for i := range 10_000 {
		s := &benchSession{id: i}
		r.Subscribe(s, "", "alerts/#", Options{QoS: 1, SubscriptionID: 1})
		r.Subscribe(s, "", "alerts/+/fire", Options{QoS: 2, SubscriptionID: 2})
	}
	var m Matches[*benchSession]
	r.Match("alerts/b1/fire", nil, false, &m)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Match("alerts/b1/fire", nil, false, &m)
	}
}

func BenchmarkSubscribe(b *testing.B) {
	r := NewRouter[*benchSession](RoundRobin)
	filters := make([]string, 1<<16)
	for i := range filters {
		filters[i] = fmt.Sprintf("site/%d/device/%d/temp", i%64, i)
	}
	sess := &benchSession{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f := filters[i&(1<<16-1)]
		// Alternate adding and removing so the trie stays the same size.
		if i&(1<<16) == 0 {
			r.Subscribe(sess, "", f, Options{QoS: 1})
		} else {
			r.Unsubscribe(sess, f)
		}
	}
}

func BenchmarkSubscribeParallel(b *testing.B) {
	r := NewRouter[*benchSession](RoundRobin)
	var next sync.Mutex
	id := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		sess := &benchSession{id: id}
		id++
		next.Unlock()
		filters := make([]string, 1024)
		for i := range filters {
			filters[i] = fmt.Sprintf("site/%d/device/%d/temp", sess.id, i)
		}
		i := 0
		for pb.Next() {
			r.Subscribe(sess, "", filters[i&1023], Options{})
			r.Unsubscribe(sess, filters[(i+512)&1023])
			i++
		}
	})
}

func BenchmarkRetainedMatch(b *testing.B) {
	r := NewRetained[int]()
	for s := range 100 {
		for d := range 1000 {
			r.Set(fmt.Sprintf("site/%d/device/%d/temp", s, d), d)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		r.Match("site/42/device/+/temp", func(string, int) bool { n++; return true })
		if n != 1000 {
			b.Fatalf("matched %d", n)
		}
	}
}
