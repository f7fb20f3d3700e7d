package topic

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func retainedTopics(r *Retained[int], filter string) []string {
	var got []string
	r.Match(filter, func(topic string, v int) bool {
		got = append(got, topic)
		return true
	})
	slices.Sort(got)
	return got
}

func TestRetainedMatchesSpecExamples(t *testing.T) {
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRetained[int]()
			r.Set(tt.topic, 1)
			r.Set("zzz/unrelated", 2)
			got := slices.Contains(retainedTopics(r, tt.filter), tt.topic)
			if got != tt.want {
				t.Fatalf("filter %q topic %q: matched=%v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}

func TestRetainedMatch(t *testing.T) {
	topics := []string{
		"a", "a/b", "a/b/c", "a/c", "a//b", "/a", "/", "a/",
		"$SYS/uptime", "$SYS", "$other/x", "b/$x",
	}
	r := NewRetained[int]()
	for i, tp := range topics {
		r.Set(tp, i)
	}
	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"hash returns everything but dollar topics", "#", []string{"/", "/a", "a", "a/", "a//b", "a/b", "a/b/c", "a/c", "b/$x"}},
		{"a hash includes a itself", "a/#", []string{"a", "a/", "a//b", "a/b", "a/b/c", "a/c"}},
		{"a plus matches one level including empty", "a/+", []string{"a/", "a/b", "a/c"}},
		{"plus matches first-level topics but not dollar", "+", []string{"a"}},
		{"plus plus matches two-level topics", "+/+", []string{"/", "/a", "a/", "a/b", "a/c", "b/$x"}},
		{"exact topic", "a/b", []string{"a/b"}},
		{"exact topic is not a prefix", "a/b/c/d", nil},
		{"SYS hash returns SYS topics", "$SYS/#", []string{"$SYS", "$SYS/uptime"}},
		{"plus in the middle", "a/+/b", []string{"a//b"}},
		{"plus then hash", "+/b/#", []string{"a/b", "a/b/c"}},
		{"no match", "x/#", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retainedTopics(r, tt.filter); !slices.Equal(got, tt.want) {
				t.Fatalf("Match(%q) = %q, want %q", tt.filter, got, tt.want)
			}
		})
	}
}

func TestRetainedSetGetDelete(t *testing.T) {
	r := NewRetained[string]()
	steps := []struct {
		name   string
		op     string // set, del
		topic  string
		value  string
		result bool // replaced or existed
		length int
	}{
		{"first set is new", "set", "a/b", "1", false, 1},
		{"second set replaces", "set", "a/b", "2", true, 1},
		{"parent topic is separate", "set", "a", "3", false, 2},
		{"deleting a missing topic reports nothing", "del", "a/c", "", false, 2},
		{"deleting a prefix-only node reports nothing", "del", "a/b/c", "", false, 2},
		{"delete removes", "del", "a/b", "", true, 1},
		{"delete again reports nothing", "del", "a/b", "", false, 1},
		{"delete the parent", "del", "a", "", true, 0},
	}
	for _, s := range steps {
		var got bool
		if s.op == "set" {
			got = r.Set(s.topic, s.value)
			if v, ok := r.Get(s.topic); !ok || v != s.value {
				t.Fatalf("%s: Get(%q) = %q, %v", s.name, s.topic, v, ok)
			}
		} else {
			got = r.Delete(s.topic)
			if _, ok := r.Get(s.topic); ok {
				t.Fatalf("%s: Get(%q) found a deleted topic", s.name, s.topic)
			}
		}
		if got != s.result || r.Len() != s.length {
			t.Fatalf("%s: result %v, Len %d; want %v, %d", s.name, got, r.Len(), s.result, s.length)
		}
	}
	if len(r.root.kids) != 0 {
		t.Fatalf("deleting everything left %d children at the root", len(r.root.kids))
	}
}

func TestRetainedPrunesEmptyNodes(t *testing.T) {
	r := NewRetained[int]()
	for i := range 100 {
		r.Set(fmt.Sprintf("site/%d/device/%d/temp", i%7, i), i)
		r.Set(fmt.Sprintf("site/%d", i%7), i)
	}
	r.Range(func(topic string, _ int) bool {
		r.Delete(topic) // fn may call back into r
		return true
	})
	if r.Len() != 0 || r.root.kids != nil {
		t.Fatalf("Len %d, root children %d after deleting everything", r.Len(), len(r.root.kids))
	}
}

func TestRetainedMatchStopsEarly(t *testing.T) {
	r := NewRetained[int]()
	for i := range 10 {
		r.Set(fmt.Sprintf("a/%d", i), i)
	}
	calls := 0
	r.Match("a/#", func(string, int) bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Fatalf("fn called %d times after returning false on the third", calls)
	}
}

func TestRetainedRangeIncludesDollarTopics(t *testing.T) {
	r := NewRetained[int]()
	r.Set("$SYS/x", 1)
	r.Set("a", 2)
	var got []string
	r.Range(func(topic string, _ int) bool { got = append(got, topic); return true })
	slices.Sort(got)
	if !slices.Equal(got, []string{"$SYS/x", "a"}) {
		t.Fatalf("Range = %q", got)
	}
}

func TestRetainedDeepTopic(t *testing.T) {
	r := NewRetained[int]()
	deep := strings.Repeat("a/", 5000) + "b"
	r.Set(deep, 1)
	if got := retainedTopics(r, "a/#"); len(got) != 1 || got[0] != deep {
		t.Fatalf("a/# on a deep topic matched %d topics", len(got))
	}
	if !r.Delete(deep) || r.root.kids != nil {
		t.Fatal("deleting a deep topic left nodes behind")
	}
}
