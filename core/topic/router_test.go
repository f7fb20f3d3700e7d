package topic

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// delivery is a Target flattened for comparison.
type delivery struct {
	sub    string
	qos    byte
	rap    bool
	ids    string
	shared bool
}

func (d delivery) String() string {
	return fmt.Sprintf("%s q%d rap=%v ids=[%s] shared=%v", d.sub, d.qos, d.rap, d.ids, d.shared)
}

func deliveries(m *Matches[string]) []delivery {
	var out []delivery
	for _, t := range m.Targets {
		ids := slices.Clone(t.SubIDs)
		slices.Sort(ids)
		var s []string
		for _, id := range ids {
			s = append(s, fmt.Sprint(id))
		}
		out = append(out, delivery{t.Sub, t.QoS, t.RetainAsPublished, strings.Join(s, ","), t.Shared})
	}
	slices.SortFunc(out, func(a, b delivery) int { return strings.Compare(a.String(), b.String()) })
	return out
}

type sub struct {
	who    string
	filter string
	opts   Options
}

func TestRouterMatchesSpecExamples(t *testing.T) {
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRouter[string](RoundRobin)
			r.Subscribe("c", "c", tt.filter, Options{})
			// Unrelated subscriptions must not change the answer.
			r.Subscribe("other", "other", "zzz/#", Options{})
			var m Matches[string]
			r.Match(tt.topic, "", false, &m)
			got := len(m.Targets) == 1 && m.Targets[0].Sub == "c"
			if got != tt.want {
				t.Fatalf("filter %q topic %q: targets %v, want match=%v", tt.filter, tt.topic, deliveries(&m), tt.want)
			}
		})
	}
}

func TestRouterMatch(t *testing.T) {
	tests := []struct {
		name      string
		subs      []sub
		topic     string
		publisher string // "" = no publisher
		want      []delivery
	}{
		{
			name:  "no subscriptions gives no targets",
			topic: "a/b",
		},
		{
			name:  "overlapping filters merge into one delivery at the highest QoS with every id",
			subs:  []sub{{"c", "a/#", Options{QoS: 0, SubscriptionID: 1}}, {"c", "a/+", Options{QoS: 2, SubscriptionID: 2}}, {"c", "a/b", Options{QoS: 1, SubscriptionID: 3}}},
			topic: "a/b",
			want:  []delivery{{"c", 2, false, "1,2,3", false}},
		},
		{
			name:  "merged delivery omits subscriptions without an id",
			subs:  []sub{{"c", "a/#", Options{QoS: 1}}, {"c", "a/b", Options{SubscriptionID: 7}}},
			topic: "a/b",
			want:  []delivery{{"c", 1, false, "7", false}},
		},
		{
			name:  "retain as published is OR-ed across merged subscriptions",
			subs:  []sub{{"c", "a/#", Options{}}, {"c", "+/b", Options{RetainAsPublished: true}}},
			topic: "a/b",
			want:  []delivery{{"c", 0, true, "", false}},
		},
		{
			name:  "subscribers are delivered separately",
			subs:  []sub{{"c1", "a/b", Options{QoS: 1, SubscriptionID: 4}}, {"c2", "a/+", Options{QoS: 2}}},
			topic: "a/b",
			want:  []delivery{{"c1", 1, false, "4", false}, {"c2", 2, false, "", false}},
		},
		{
			name:      "no local skips the publisher",
			subs:      []sub{{"c", "a/b", Options{NoLocal: true}}, {"d", "a/b", Options{NoLocal: true}}},
			topic:     "a/b",
			publisher: "c",
			want:      []delivery{{"d", 0, false, "", false}},
		},
		{
			name:      "no local skips only that subscription of the publisher",
			subs:      []sub{{"c", "a/b", Options{NoLocal: true, QoS: 2, SubscriptionID: 1}}, {"c", "a/#", Options{QoS: 1, SubscriptionID: 2}}},
			topic:     "a/b",
			publisher: "c",
			want:      []delivery{{"c", 1, false, "2", false}},
		},
		{
			name:  "no local does not apply without a publisher",
			subs:  []sub{{"c", "a/b", Options{NoLocal: true}}},
			topic: "a/b",
			want:  []delivery{{"c", 0, false, "", false}},
		},
		{
			name:  "re-subscribing replaces the options",
			subs:  []sub{{"c", "a/b", Options{QoS: 2, SubscriptionID: 1}}, {"c", "a/b", Options{QoS: 0, SubscriptionID: 9}}},
			topic: "a/b",
			want:  []delivery{{"c", 0, false, "9", false}},
		},
		{
			name:  "shared and non-shared subscriptions of one client give two deliveries",
			subs:  []sub{{"c", "a/b", Options{QoS: 1, SubscriptionID: 1}}, {"c", "$share/g/a/b", Options{QoS: 2, SubscriptionID: 2}}},
			topic: "a/b",
			want:  []delivery{{"c", 1, false, "1", false}, {"c", 2, false, "2", true}},
		},
		{
			name:  "each shared group yields one delivery",
			subs:  []sub{{"c1", "$share/g/a/+", Options{}}, {"c2", "$share/h/a/#", Options{}}, {"c3", "$queue/a/b", Options{}}},
			topic: "a/b",
			want:  []delivery{{"c1", 0, false, "", true}, {"c2", 0, false, "", true}, {"c3", 0, false, "", true}},
		},
		{
			name:  "queue group is apart from a share group named $queue",
			subs:  []sub{{"c1", "$queue/a", Options{}}, {"c2", "$share/$queue/a", Options{}}},
			topic: "a",
			want:  []delivery{{"c1", 0, false, "", true}, {"c2", 0, false, "", true}},
		},
		{
			name:      "no local is not consulted on shared subscriptions",
			subs:      []sub{{"c", "$share/g/a", Options{NoLocal: true}}},
			topic:     "a",
			publisher: "c",
			want:      []delivery{{"c", 0, false, "", true}},
		},
		{
			name:  "shared wildcard does not match dollar topics",
			subs:  []sub{{"c", "$share/g/#", Options{}}, {"d", "$share/g/+/x", Options{}}},
			topic: "$SYS/x",
		},
		{
			name:  "upper-case SHARE is an ordinary subscription",
			subs:  []sub{{"c", "$SHARE/g/x", Options{}}},
			topic: "$SHARE/g/x",
			want:  []delivery{{"c", 0, false, "", false}},
		},
		{
			name:  "upper-case SHARE does not receive its inner topic",
			subs:  []sub{{"c", "$SHARE/g/x", Options{}}},
			topic: "x",
		},
		{
			name:  "a b does not receive a b c",
			subs:  []sub{{"c", "a/b", Options{}}},
			topic: "a/b/c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRouter[string](RoundRobin)
			for _, s := range tt.subs {
				r.Subscribe(s.who, s.who, s.filter, s.opts)
			}
			var m Matches[string]
			r.Match(tt.topic, tt.publisher, tt.publisher != "", &m)
			got := deliveries(&m)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Match(%q):\n got  %v\n want %v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestRouterMergesManySubscriptionsOfOneClient(t *testing.T) {
	// Past the linear merge threshold the merge uses a map; the result
	// must be the same.
	r := NewRouter[string](RoundRobin)
	var wantIDs []string
	for i := 1; i <= 3*linearMerge; i++ {
		r.Subscribe(fmt.Sprintf("s%02d", i), "", "a/#", Options{SubscriptionID: uint32(i)})
		wantIDs = append(wantIDs, fmt.Sprint(i))
	}
	for i := 1; i <= 3*linearMerge; i++ {
		r.Subscribe("all", "all", fmt.Sprintf("a/%s", strings.Repeat("+/", i%3)+"#"), Options{QoS: byte(i % 3), SubscriptionID: uint32(100 + i)})
		r.Subscribe("all", "all", fmt.Sprintf("$share/g%d/a/#", i), Options{SubscriptionID: uint32(200 + i)})
	}
	var m Matches[string]
	for range 2 { // the second round reuses the scratch
		r.Match("a/b/c/d", "", false, &m)
		got := deliveries(&m)
		var nonShared, shared int
		for _, d := range got {
			switch {
			case d.shared:
				shared++
				if d.sub != "all" || d.ids == "" {
					t.Fatalf("shared delivery %v", d)
				}
			case d.sub == "all":
				nonShared++
				// a/#, a/+/#, a/+/+/# each subscribed; replaced options keep the last id.
				if d.qos != 2 || len(strings.Split(d.ids, ",")) != 3 {
					t.Fatalf("merged delivery %v", d)
				}
			default:
				nonShared++
				if !slices.Contains(wantIDs, d.ids) {
					t.Fatalf("delivery %v", d)
				}
			}
		}
		if nonShared != 3*linearMerge+1 || shared != 3*linearMerge {
			t.Fatalf("got %d non-shared and %d shared deliveries", nonShared, shared)
		}
	}
}

func TestRouterSubscribeReportsReplacement(t *testing.T) {
	r := NewRouter[string](RoundRobin)
	steps := []struct {
		name, who, filter string
		existed           bool
		count             int
	}{
		{"first subscription is new", "c", "a/b", false, 1},
		{"same filter again replaces", "c", "a/b", true, 1},
		{"same filter by another client is new", "d", "a/b", false, 2},
		{"shared form of the same filter is new", "c", "$share/g/a/b", false, 3},
		{"shared form again replaces", "c", "$share/g/a/b", true, 3},
		{"another group is new", "c", "$share/h/a/b", false, 4},
		{"queue form is new", "c", "$queue/a/b", false, 5},
		{"upper-case SHARE is a distinct filter", "c", "$SHARE/g/a/b", false, 6},
	}
	for _, s := range steps {
		if got := r.Subscribe(s.who, s.who, s.filter, Options{}); got != s.existed || r.Count() != s.count {
			t.Fatalf("%s: Subscribe = %v, Count = %d; want %v, %d", s.name, got, r.Count(), s.existed, s.count)
		}
	}
}

func TestRouterUnsubscribe(t *testing.T) {
	tests := []struct {
		name        string
		subs        []sub
		unsubWho    string
		unsubFilter string
		existed     bool
		topic       string
		want        []delivery
	}{
		{
			name:        "unsubscribe stops delivery",
			subs:        []sub{{"c", "a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "a/b",
			existed:     true,
			topic:       "a/b",
		},
		{
			name:        "unsubscribing an unknown filter reports nothing removed",
			subs:        []sub{{"c", "a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "a/c",
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", false}},
		},
		{
			name:        "unsubscribing another client's filter removes nothing",
			subs:        []sub{{"c", "a/b", Options{}}},
			unsubWho:    "d",
			unsubFilter: "a/b",
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", false}},
		},
		{
			name:        "plain unsubscribe leaves the shared subscription",
			subs:        []sub{{"c", "$share/g/a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "a/b",
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", true}},
		},
		{
			name:        "shared unsubscribe leaves the plain subscription",
			subs:        []sub{{"c", "a/b", Options{}}, {"c", "$share/g/a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "$share/g/a/b",
			existed:     true,
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", false}},
		},
		{
			name:        "unsubscribing another group removes nothing",
			subs:        []sub{{"c", "$share/g/a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "$share/h/a/b",
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", true}},
		},
		{
			name:        "queue unsubscribe leaves the share group named $queue",
			subs:        []sub{{"c", "$share/$queue/a", Options{}}},
			unsubWho:    "c",
			unsubFilter: "$queue/a",
			topic:       "a",
			want:        []delivery{{"c", 0, false, "", true}},
		},
		{
			name:        "upper-case SHARE unsubscribe leaves the shared subscription",
			subs:        []sub{{"c", "$share/g/x", Options{}}},
			unsubWho:    "c",
			unsubFilter: "$SHARE/g/x",
			topic:       "x",
			want:        []delivery{{"c", 0, false, "", true}},
		},
		{
			name:        "unsubscribing a parent filter keeps the child",
			subs:        []sub{{"c", "a", Options{}}, {"c", "a/b", Options{}}},
			unsubWho:    "c",
			unsubFilter: "a",
			existed:     true,
			topic:       "a/b",
			want:        []delivery{{"c", 0, false, "", false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRouter[string](RoundRobin)
			for _, s := range tt.subs {
				r.Subscribe(s.who, s.who, s.filter, s.opts)
			}
			if got := r.Unsubscribe(tt.unsubWho, tt.unsubFilter); got != tt.existed {
				t.Fatalf("Unsubscribe(%q, %q) = %v, want %v", tt.unsubWho, tt.unsubFilter, got, tt.existed)
			}
			wantCount := len(tt.subs)
			if tt.existed {
				wantCount--
			}
			if r.Count() != wantCount {
				t.Fatalf("Count = %d, want %d", r.Count(), wantCount)
			}
			var m Matches[string]
			r.Match(tt.topic, "", false, &m)
			if got := deliveries(&m); !slices.Equal(got, tt.want) {
				t.Fatalf("Match(%q):\n got  %v\n want %v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestRouterPrunesEmptyNodes(t *testing.T) {
	r := NewRouter[string](Sticky)
	var filters []string
	for i := range 50 {
		filters = append(filters,
			fmt.Sprintf("site/%d/device/+/temp", i),
			fmt.Sprintf("site/%d/#", i),
			fmt.Sprintf("$share/g%d/site/%d/x", i%3, i),
			fmt.Sprintf("$queue/q/%d", i),
			fmt.Sprintf("/%d//", i),
		)
	}
	for _, f := range filters {
		r.Subscribe("a", "a", f, Options{SubscriptionID: 1})
		r.Subscribe("b", "b", f, Options{})
	}
	var m Matches[string]
	r.Match("site/3/x", "", false, &m) // sets a sticky member
	for _, f := range filters {
		for _, who := range []string{"a", "b"} {
			if !r.Unsubscribe(who, f) {
				t.Fatalf("Unsubscribe(%q, %q) = false", who, f)
			}
		}
	}
	if r.Count() != 0 {
		t.Fatalf("Count = %d after removing everything", r.Count())
	}
	if !r.root.empty() {
		t.Fatal("root still holds children")
	}
}

func TestRouterDeepFilter(t *testing.T) {
	// A deep hierarchy must neither crash nor stay in memory when removed.
	deep := strings.Repeat("a/", 5000) + "#"
	r := NewRouter[string](RoundRobin)
	r.Subscribe("c", "c", deep, Options{})
	var m Matches[string]
	r.Match(strings.Repeat("a/", 5000)+"b", "", false, &m)
	if len(m.Targets) != 1 {
		t.Fatalf("deep filter: %d targets", len(m.Targets))
	}
	r.Unsubscribe("c", deep)
	if !r.root.empty() {
		t.Fatal("deep filter left nodes behind")
	}
}

// TestRouterGrowsAndShrinks drives a node through its representations: a
// subscriber list past maxSmallSubs and back below minBigSubs, and a child
// set past maxSmallKids into a table (with tombstones reused) and back.
func TestRouterGrowsAndShrinks(t *testing.T) {
	r := NewRouter[string](RoundRobin)
	const many = 3 * maxSmallSubs
	countTargets := func(topic string) int {
		var m Matches[string]
		r.Match(topic, "", false, &m)
		return len(m.Targets)
	}
	steps := []struct {
		name string
		do   func()
		want map[string]int // topic -> targets
	}{
		{"many subscribers on one filter", func() {
			for i := range many {
				r.Subscribe(fmt.Sprint("s", i), "", "big/x", Options{})
			}
		}, map[string]int{"big/x": many}},
		{"re-subscribing in the big list replaces", func() {
			for i := range many {
				if !r.Subscribe(fmt.Sprint("s", i), "", "big/x", Options{QoS: 1}) {
					t.Fatalf("s%d was not a replacement", i)
				}
			}
		}, map[string]int{"big/x": many}},
		{"shrinking the list below the threshold", func() {
			for i := range many - 10 {
				r.Unsubscribe(fmt.Sprint("s", i), "big/x")
			}
		}, map[string]int{"big/x": 10}},
		{"many sibling levels", func() {
			for i := range 100 {
				r.Subscribe("k", "", fmt.Sprintf("kids/%d", i), Options{})
			}
		}, map[string]int{"kids/0": 1, "kids/57": 1, "kids/99": 1, "kids/100": 0}},
		{"removing half the siblings leaves the rest", func() {
			for i := 0; i < 100; i += 2 {
				r.Unsubscribe("k", fmt.Sprintf("kids/%d", i))
			}
		}, map[string]int{"kids/0": 0, "kids/1": 1, "kids/98": 0, "kids/99": 1}},
		{"re-adding reuses tombstones", func() {
			for i := 0; i < 100; i += 2 {
				r.Subscribe("k", "", fmt.Sprintf("kids/%d", i), Options{})
			}
		}, map[string]int{"kids/0": 1, "kids/1": 1, "kids/98": 1}},
		{"removing nearly all siblings", func() {
			for i := range 98 {
				r.Unsubscribe("k", fmt.Sprintf("kids/%d", i))
			}
		}, map[string]int{"kids/0": 0, "kids/98": 1, "kids/99": 1}},
	}
	for _, s := range steps {
		s.do()
		for topic, want := range s.want {
			if got := countTargets(topic); got != want {
				t.Fatalf("%s: %q has %d targets, want %d", s.name, topic, got, want)
			}
		}
	}
	for i := many - 10; i < many; i++ {
		r.Unsubscribe(fmt.Sprint("s", i), "big/x")
	}
	r.Unsubscribe("k", "kids/98")
	r.Unsubscribe("k", "kids/99")
	if r.Count() != 0 || !r.root.empty() {
		t.Fatalf("Count %d, root empty %v", r.Count(), r.root.empty())
	}
}

func TestRouterCompactsSparseChildTable(t *testing.T) {
	r := NewRouter[string](RoundRobin)
	for i := range 1000 {
		r.Subscribe("c", "", fmt.Sprintf("d/%d", i), Options{})
	}
	for i := range 990 {
		r.Unsubscribe("c", fmt.Sprintf("d/%d", i))
	}
	d := r.root.literal("d")
	if k := d.kids.Load(); k == nil || len(k.table) > 64 {
		t.Fatalf("10 live children kept a table of %d slots", len(k.table))
	}
	var m Matches[string]
	for i := 990; i < 1000; i++ {
		if r.Match(fmt.Sprintf("d/%d", i), "", false, &m); len(m.Targets) != 1 {
			t.Fatalf("d/%d lost after compaction", i)
		}
	}
}

// TestRouterKeyedSubscriptions: one subscriber holds several subscriptions
// to one filter under different keys; Separate ones each get a target of
// their own with their key, merged ones still merge.
func TestRouterKeyedSubscriptions(t *testing.T) {
	for _, big := range []bool{false, true} {
		t.Run(fmt.Sprintf("big=%v", big), func(t *testing.T) {
			r := NewRouter[string](RoundRobin)
			if big {
				// Enough other subscribers at the filter for the map form.
				for i := range maxSmallSubs + 1 {
					r.Subscribe(fmt.Sprint("o", i), "", "a/+", Options{})
				}
			}
			r.Subscribe("s", "s", "a/+", Options{QoS: 1, Key: "sub-1", Separate: true, SubscriptionID: 7})
			r.Subscribe("s", "s", "a/+", Options{QoS: 0, Key: "sub-2", Separate: true})
			r.Subscribe("s", "s", "a/#", Options{QoS: 2})
			r.Subscribe("s", "s", "#", Options{QoS: 1, SubscriptionID: 9})
			// Replacing keeps one subscription per key.
			if !r.Subscribe("s", "s", "a/+", Options{QoS: 2, Key: "sub-2", Separate: true}) {
				t.Fatal("same key not reported as a replacement")
			}
			var m Matches[string]
			r.Match("a/b", "", false, &m)
			got := map[string]string{}
			for _, tg := range m.Targets {
				if tg.Sub != "s" {
					continue
				}
				got[tg.Key] = fmt.Sprintf("q%d ids=%v", tg.QoS, tg.SubIDs)
			}
			want := map[string]string{"sub-1": "q1 ids=[7]", "sub-2": "q2 ids=[]", "": "q2 ids=[9]"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("targets of s = %v, want %v", got, want)
			}
			if !r.UnsubscribeKey("s", "sub-1", "a/+") || r.UnsubscribeKey("s", "sub-1", "a/+") {
				t.Fatal("UnsubscribeKey did not remove exactly once")
			}
			r.Match("a/b", "", false, &m)
			n := 0
			for _, tg := range m.Targets {
				if tg.Sub == "s" {
					n++
					if tg.Key == "sub-1" {
						t.Fatal("removed subscription still matched")
					}
				}
			}
			if n != 2 {
				t.Fatalf("%d targets for s after removing one key, want 2", n)
			}
		})
	}
}
