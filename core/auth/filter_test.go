package auth

import "testing"

func TestValidFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{"a/b", true},
		{"#", true},
		{"+", true},
		{"a/+/c", true},
		{"a/#", true},
		{"/", true},
		{"+/+", true},
		{"", false},
		{"a/#/c", false},
		{"a#", false},
		{"a+/b", false},
		{"a/+b", false},
		{"a/b\x00", false},
	}
	for _, tt := range tests {
		if got := validFilter(tt.filter); got != tt.want {
			t.Errorf("validFilter(%q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		name, filter, topic string
		want                bool
	}{
		{"exact", "a/b", "a/b", true},
		{"literal differs", "a/b", "a/c", false},
		{"plus matches one level", "a/+/c", "a/x/c", true},
		{"plus does not match two levels", "a/+", "a/x/y", false},
		{"plus matches empty level", "a/+/c", "a//c", true},
		{"hash matches many levels", "a/#", "a/b/c/d", true},
		{"hash matches parent", "a/#", "a", true},
		{"hash alone matches all", "#", "x/y", true},
		{"longer topic", "a/b", "a/b/c", false},
		{"shorter topic", "a/b/c", "a/b", false},
		{"hash does not match dollar topic", "#", "$SYS/broker", false},
		{"plus does not match dollar topic", "+/broker", "$SYS/broker", false},
		{"literal dollar pattern matches", "$SYS/#", "$SYS/broker/uptime", true},
		{"dollar later in topic is ordinary", "a/#", "a/$x", true},
		{"leading slash level", "/a", "/a", true},
		{"plus matches empty first level", "+/a", "/a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchTopic(tt.filter, tt.topic); got != tt.want {
				t.Errorf("matchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}

func TestCoversFilter(t *testing.T) {
	tests := []struct {
		name, pattern, req string
		want               bool
	}{
		{"equal literal", "a/b", "a/b", true},
		{"equal wildcard", "sensors/+", "sensors/+", true},
		{"hash covers plus subtree", "sensors/#", "sensors/+/temp", true},
		{"hash covers hash below", "sensors/#", "sensors/a/#", true},
		{"hash covers parent", "sensors/#", "sensors", true},
		{"hash covers itself", "sensors/#", "sensors/#", true},
		{"plus covers literal", "sensors/+", "sensors/x", true},
		{"plus does not cover hash", "sensors/+", "sensors/#", false},
		{"plus does not cover deeper", "sensors/+", "sensors/a/b", false},
		{"literal does not cover plus", "sensors/x", "sensors/+", false},
		{"literal does not cover hash", "sensors/x", "sensors/#", false},
		{"different prefix", "sensors/#", "actuators/#", false},
		{"root hash covers all", "#", "#", true},
		{"root hash covers any filter", "#", "a/+/b/#", true},
		{"root hash does not cover SYS", "#", "$SYS/#", false},
		{"root plus does not cover SYS literal", "+/#", "$SYS/x", false},
		{"SYS pattern covers SYS filter", "$SYS/#", "$SYS/broker/+", true},
		{"request shorter than pattern", "a/b/c", "a/b", false},
		{"request longer than pattern", "a/b", "a/b/c", false},
		{"plus plus covers plus literal", "+/+", "+/x", true},
		{"plus hash not treated as hash", "+/#", "#", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coversFilter(tt.pattern, tt.req); got != tt.want {
				t.Errorf("coversFilter(%q, %q) = %v, want %v", tt.pattern, tt.req, got, tt.want)
			}
		})
	}
}

// TestCoversFilterIsSound checks exhaustively over a small alphabet that
// coversFilter never claims coverage that matchTopic contradicts: if
// pattern covers req, every topic req matches, pattern matches too.
func TestCoversFilterIsSound(t *testing.T) {
	filters := expand([]string{"a", "b", "$s", "+", "#"}, 3, validFilter)
	topics := expand([]string{"a", "b", "$s", ""}, 3, validTopic)
	for _, p := range filters {
		for _, r := range filters {
			if !coversFilter(p, r) {
				continue
			}
			for _, tp := range topics {
				if matchTopic(r, tp) && !matchTopic(p, tp) {
					t.Fatalf("coversFilter(%q, %q) but %q matches %q and not %q", p, r, r, tp, p)
				}
			}
		}
	}
}

// expand returns every string of 1 to n levels drawn from levels that keep
// passes.
func expand(levels []string, n int, keep func(string) bool) []string {
	var out, cur []string
	cur = append(cur, levels...)
	for i := 1; i <= n; i++ {
		var next []string
		for _, s := range cur {
			if keep(s) {
				out = append(out, s)
			}
			if i < n {
				for _, l := range levels {
					next = append(next, s+"/"+l)
				}
			}
		}
		cur = next
	}
	return out
}
