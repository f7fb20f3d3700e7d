package bench

import "testing"

func TestExpandTopic(t *testing.T) {
	tests := []struct {
		name, topic string
		i           int
		want        string
	}{
		{"no placeholder", "bench/a", 3, "bench/a"},
		{"one placeholder", "bench/%i", 42, "bench/42"},
		{"two placeholders", "%i/x/%i", 7, "7/x/7"},
		{"index zero", "t/%i/v", 0, "t/0/v"},
		{"other percent signs kept", "a/%d/%i", 1, "a/%d/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expandTopic(tt.topic, tt.i); got != tt.want {
				t.Fatalf("expandTopic(%q, %d) = %q, want %q", tt.topic, tt.i, got, tt.want)
			}
		})
	}
}

func TestMatchFilter(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+/c", "a/b/c", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a", true},
		{"#", "a/b", true},
		{"a/b", "a", false},
		{"a", "a/b", false},
		{"+/+", "a/", true},
	}
	for _, tt := range tests {
		if got := matchFilter(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestSplitShare(t *testing.T) {
	g, f, ok := splitShare("$share/grp/a/+")
	if !ok || g != "grp" || f != "a/+" {
		t.Fatalf("splitShare = %q %q %v", g, f, ok)
	}
	if _, f, ok := splitShare("a/b"); ok || f != "a/b" {
		t.Fatalf("ordinary filter: %q %v", f, ok)
	}
}
