package topic

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

type session struct{ id string }

// TestRouterConcurrent subscribes, unsubscribes and matches from many
// goroutines at once; run with -race. Each worker owns its subscriptions,
// so when all are done the router must hold exactly what each left behind,
// and a subscription that was never removed must always be matched.
func TestRouterConcurrent(t *testing.T) {
	for _, strategy := range []Strategy{RoundRobin, Sticky, HashClientID} {
		t.Run(strategy.String(), func(t *testing.T) {
			r := NewRouter[*session](strategy)
			var online atomic.Bool
			r.SetAvailable(func(s *session) bool { return online.Load() || s.id[0] == 'w' })
			anchor := &session{id: "anchor"}
			r.Subscribe(anchor, "anchor", "site/+/device/#", Options{QoS: 1})

			const workers, rounds = 8, 300
			var wg sync.WaitGroup
			kept := make([]int, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := &session{id: fmt.Sprintf("w%d", w)}
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					subscribed := map[string]bool{}
					var m Matches[*session]
					for i := range rounds {
						f := fmt.Sprintf("site/%d/device/%d/temp", rng.IntN(4), rng.IntN(4))
						switch rng.IntN(6) {
						case 0:
							f = fmt.Sprintf("$share/g%d/site/%d/#", rng.IntN(2), rng.IntN(4))
						case 1:
							f = fmt.Sprintf("site/%d/+/+/temp", rng.IntN(4))
						}
						if subscribed[f] {
							if !r.Unsubscribe(s, f) {
								t.Errorf("worker %d: Unsubscribe(%q) found nothing", w, f)
							}
							delete(subscribed, f)
						} else {
							if r.Subscribe(s, s.id, f, Options{QoS: byte(i % 3), SubscriptionID: uint32(i + 1)}) {
								t.Errorf("worker %d: Subscribe(%q) reported a replacement", w, f)
							}
							subscribed[f] = true
							if _, _, shared := ParseShared(f); !shared && !strings.Contains(f, "+") {
								// A worker's own subscription is visible
								// to its next Match.
								r.Match(f, nil, false, &m)
								mine := false
								for _, tg := range m.Targets {
									mine = mine || tg.Sub == s
								}
								if !mine {
									t.Errorf("worker %d: own subscription %q not matched", w, f)
								}
							}
						}
						online.Store(i%2 == 0)
						r.MatchFrom(fmt.Sprintf("site/%d/device/%d/temp", rng.IntN(4), rng.IntN(4)), s, true, s.id, &m)
						found := false
						for _, tg := range m.Targets {
							found = found || tg.Sub == anchor
						}
						if !found {
							t.Errorf("worker %d: the anchor subscription was not matched", w)
							return
						}
					}
					kept[w] = len(subscribed)
				}()
			}
			wg.Wait()
			want := 1
			for _, k := range kept {
				want += k
			}
			if r.Count() != want {
				t.Fatalf("Count = %d, want %d", r.Count(), want)
			}
		})
	}
}

func TestRetainedConcurrent(t *testing.T) {
	r := NewRetained[int]()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				tp := fmt.Sprintf("a/%d/%d", w, i%10)
				if i%3 == 2 {
					r.Delete(tp)
				} else {
					r.Set(tp, i)
				}
				r.Match("a/+/#", func(string, int) bool { return true })
				r.Get(tp)
			}
		}()
	}
	wg.Wait()
	n := 0
	r.Range(func(string, int) bool { n++; return true })
	if n != r.Len() {
		t.Fatalf("Range saw %d messages, Len says %d", n, r.Len())
	}
}
