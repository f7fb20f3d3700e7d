package topic

import "testing"

// matchCases are shared by the Match, Router and Retained tests, so the
// three implementations of the matching rules agree.
var matchCases = []struct {
	name   string
	filter string
	topic  string
	want   bool
}{
	// MQTT 5 section 4.7.1.2 multi-level wildcard examples.
	{"hash matches the parent level", "sport/tennis/player1/#", "sport/tennis/player1", true},
	{"hash matches one level below", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"hash matches many levels below", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"hash does not match a sibling", "sport/tennis/player1/#", "sport/tennis/player2", false},
	{"sport hash matches sport", "sport/#", "sport", true},
	{"lone hash matches everything", "#", "sport/tennis/player1", true},
	{"lone hash matches a lone slash", "#", "/", true},
	{"foo hash matches foo", "foo/#", "foo", true},
	{"foo hash matches foo slash", "foo/#", "foo/", true},
	{"foo hash does not match foobar", "foo/#", "foobar", false},
	// Section 4.7.1.3 single-level wildcard examples.
	{"plus matches one level", "sport/tennis/+", "sport/tennis/player1", true},
	{"plus matches another level", "sport/tennis/+", "sport/tennis/player2", true},
	{"plus does not match two levels", "sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport plus does not match sport", "sport/+", "sport", false},
	{"sport plus matches an empty level", "sport/+", "sport/", true},
	{"plus plus matches leading slash", "+/+", "/finance", true},
	{"slash plus matches leading slash", "/+", "/finance", true},
	{"lone plus does not match leading slash", "+", "/finance", false},
	{"lone plus matches one level", "+", "finance", true},
	{"middle plus", "sport/+/player1", "sport/tennis/player1", true},
	{"plus then hash matches one level", "+/#", "a", true},
	// Section 4.7.2 topics beginning with $.
	{"hash does not match SYS", "#", "$SYS/broker/uptime", false},
	{"hash does not match a bare dollar topic", "#", "$SYS", false},
	{"plus does not match a dollar level", "+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"plus hash does not match a dollar topic", "+/#", "$SYS/x", false},
	{"plus does not match other dollar topics", "+/b", "$foo/b", false},
	{"SYS hash matches SYS topics", "$SYS/#", "$SYS/monitor/Clients", true},
	{"SYS hash matches SYS", "$SYS/#", "$SYS", true},
	{"SYS plus matches SYS topics", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"dollar below the first level is ordinary", "a/+", "a/$b", true},
	{"hash matches dollar below the first level", "#", "a/$b", true},
	// Level semantics.
	{"exact match", "a/b", "a/b", true},
	{"filter does not match a longer topic", "a/b", "a/b/c", false},
	{"filter does not match a shorter topic", "a/b/c", "a/b", false},
	{"case matters", "A/b", "a/b", false},
	{"empty middle level matches", "a//b", "a//b", true},
	{"empty middle level is a level", "a/b", "a//b", false},
	{"plus matches an empty middle level", "a/+/b", "a//b", true},
	{"leading empty level matches", "/a", "/a", true},
	{"leading empty level is a level", "a", "/a", false},
	{"trailing empty level matches", "a/", "a/", true},
	{"trailing empty level is a level", "a", "a/", false},
	{"lone slash matches lone slash", "/", "/", true},
	{"plus slash plus matches lone slash", "+/+", "/", true},
	{"lone plus does not match lone slash", "+", "/", false},
	{"hash after empty level", "/#", "/", true},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.filter, tt.topic); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}

func TestMatchSharedFilter(t *testing.T) {
	tests := []struct {
		name, filter, topic string
		want                bool
	}{
		{"shared filter matches by its inner filter", "$share/g/a/+", "a/b", true},
		{"queue filter matches by its inner filter", "$queue/#", "a/b", true},
		{"shared hash keeps the dollar rule", "$share/g/#", "$SYS/x", false},
		{"upper-case SHARE is a literal level", "$SHARE/g/x", "$SHARE/g/x", true},
		{"upper-case SHARE does not match the inner topic", "$SHARE/g/x", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.filter, tt.topic); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}
