package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	deep := strings.Repeat("a/", 99) + "a" // 100 levels
	tests := []struct {
		name      string
		topic     string
		maxLevels int
		want      error
	}{
		{"plain topic is valid", "sport/tennis/player1", 0, nil},
		{"single level is valid", "a", 0, nil},
		{"lone slash has two empty levels", "/", 0, nil},
		{"empty levels are valid", "a//b", 0, nil},
		{"leading slash is valid", "/a", 0, nil},
		{"trailing slash is valid", "a/", 0, nil},
		{"dollar topic may be published", "$SYS/broker/uptime", 0, nil},
		{"space and unicode are valid", "caf\u00e9/\u4e16\u754c/a b", 0, nil},
		{"U+FFFD spelled out is valid", "a/\ufffd", 0, nil},
		{"empty name is rejected", "", 0, ErrEmpty},
		{"plus in name is rejected", "a/+/b", 0, ErrWildcardInName},
		{"hash in name is rejected", "a/#", 0, ErrWildcardInName},
		{"plus inside a level is rejected", "a/b+", 0, ErrWildcardInName},
		{"hash inside a level is rejected", "a#b", 0, ErrWildcardInName},
		{"U+0000 is rejected", "a\x00b", 0, ErrInvalidChar},
		{"C0 control U+0001 is rejected", "a\x01b", 0, ErrInvalidChar},
		{"C0 control U+001F is rejected", "a\x1fb", 0, ErrInvalidChar},
		{"tab is rejected", "a\tb", 0, ErrInvalidChar},
		{"DEL U+007F is rejected", "a\x7fb", 0, ErrInvalidChar},
		{"C1 control U+0080 is rejected", "a\u0080b", 0, ErrInvalidChar},
		{"C1 control U+009F is rejected", "a\u009fb", 0, ErrInvalidChar},
		{"U+00A0 is valid", "a\u00a0b", 0, nil},
		{"invalid UTF-8 byte is rejected", "a\xffb", 0, ErrInvalidChar},
		{"truncated UTF-8 is rejected", "a\xc3", 0, ErrInvalidChar},
		{"overlong encoding is rejected", "\xc0\xaf", 0, ErrInvalidChar},
		{"surrogate U+D800 is rejected", "a\xed\xa0\x80", 0, ErrInvalidChar},
		{"surrogate U+DFFF is rejected", "a\xed\xbf\xbf", 0, ErrInvalidChar},
		{"65535 bytes is valid", strings.Repeat("a", 65535), 0, nil},
		{"65536 bytes is too long", strings.Repeat("a", 65536), 0, ErrTooLong},
		{"level limit reached is valid", deep, 100, nil},
		{"level limit exceeded is rejected", deep + "/a", 100, ErrTooManyLevels},
		{"zero level limit is unlimited", strings.Repeat("/", 30000), 0, nil},
		{"negative level limit is unlimited", deep, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateName(tt.topic, tt.maxLevels); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateName(%.40q, %d) = %v, want %v", tt.topic, tt.maxLevels, err, tt.want)
			}
		})
	}
}

func TestValidateFilter(t *testing.T) {
	deep := strings.Repeat("+/", 9) + "#" // 10 levels
	tests := []struct {
		name      string
		filter    string
		maxLevels int
		want      error
	}{
		{"plain filter is valid", "sport/tennis", 0, nil},
		{"lone hash is valid", "#", 0, nil},
		{"lone plus is valid", "+", 0, nil},
		{"trailing hash is valid", "sport/tennis/#", 0, nil},
		{"plus levels are valid", "+/tennis/+", 0, nil},
		{"plus then hash is valid", "+/#", 0, nil},
		{"empty levels are valid", "a//b", 0, nil},
		{"lone slash is valid", "/", 0, nil},
		{"plus on empty levels is valid", "/+/", 0, nil},
		{"dollar filter is valid", "$SYS/#", 0, nil},
		{"empty filter is rejected", "", 0, ErrEmpty},
		{"hash not last is rejected", "a/#/b", 0, ErrBadWildcard},
		{"hash sharing a level is rejected", "a/b#", 0, ErrBadWildcard},
		{"hash before text is rejected", "#a", 0, ErrBadWildcard},
		{"double hash is rejected", "##", 0, ErrBadWildcard},
		{"plus sharing a level is rejected", "a/b+", 0, ErrBadWildcard},
		{"plus before text is rejected", "+a/b", 0, ErrBadWildcard},
		{"double plus is rejected", "a/++", 0, ErrBadWildcard},
		{"plus and hash in one level are rejected", "+#", 0, ErrBadWildcard},
		{"U+0000 is rejected", "a/\x00", 0, ErrInvalidChar},
		{"control character is rejected", "a/\x1b/#", 0, ErrInvalidChar},
		{"C1 control is rejected", "a/\u0085", 0, ErrInvalidChar},
		{"invalid UTF-8 is rejected", "a/\xfe", 0, ErrInvalidChar},
		{"surrogate is rejected", "\xed\xb0\x80/#", 0, ErrInvalidChar},
		{"65536 bytes is too long", strings.Repeat("a", 65536), 0, ErrTooLong},
		{"level limit reached is valid", deep, 10, nil},
		{"level limit exceeded is rejected", "a/" + deep, 10, ErrTooManyLevels},

		// Shared subscriptions [MQTT-4.8.2-1/2].
		{"shared filter is valid", "$share/g/a/b", 0, nil},
		{"shared wildcard filter is valid", "$share/g/#", 0, nil},
		{"shared filter with dollar group is valid", "$share/$g/+", 0, nil},
		{"queue filter is valid", "$queue/a/+", 0, nil},
		{"share prefix alone is rejected", "$share/", 0, ErrBadShare},
		{"share level alone is rejected", "$share", 0, ErrBadShare},
		{"empty group is rejected", "$share//a", 0, ErrBadShare},
		{"group without filter is rejected", "$share/g", 0, ErrBadShare},
		{"group with empty filter is rejected", "$share/g/", 0, ErrBadShare},
		{"plus in group is rejected", "$share/a+b/x", 0, ErrBadShare},
		{"hash in group is rejected", "$share/g#/x", 0, ErrBadShare},
		{"lone wildcard group is rejected", "$share/+/x", 0, ErrBadShare},
		{"bad wildcard in shared filter is rejected", "$share/g/a/#/b", 0, ErrBadWildcard},
		{"queue prefix alone is rejected", "$queue/", 0, ErrBadShare},
		{"queue level alone is rejected", "$queue", 0, ErrBadShare},
		{"bad wildcard in queue filter is rejected", "$queue/a+", 0, ErrBadWildcard},
		{"upper-case SHARE is an ordinary filter", "$SHARE/g/x", 0, nil},
		{"upper-case SHARE without filter is an ordinary filter", "$SHARE/", 0, nil},
		{"upper-case SHARE keeps wildcard rules", "$SHARE/g#/x", 0, ErrBadWildcard},
		{"share-like first level is an ordinary filter", "$shared/g/x", 0, nil},
		{"level limit counts the inner filter", "$share/g/" + deep, 10, nil},
		{"level limit exceeded in inner filter is rejected", "$share/g/a/" + deep, 10, ErrTooManyLevels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateFilter(tt.filter, tt.maxLevels); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateFilter(%.40q, %d) = %v, want %v", tt.filter, tt.maxLevels, err, tt.want)
			}
		})
	}
}

func TestParseShared(t *testing.T) {
	tests := []struct {
		name, filter, group, inner string
		shared                     bool
	}{
		{"share splits group and filter", "$share/g/a/b", "g", "a/b", true},
		{"share keeps a wildcard filter", "$share/g/#", "g", "#", true},
		{"queue reports the queue group", "$queue/a/+", "$queue", "a/+", true},
		{"plain filter is not shared", "a/b", "", "a/b", false},
		{"upper-case SHARE is not shared", "$SHARE/g/x", "", "$SHARE/g/x", false},
		{"malformed share is not shared", "$share/g", "", "$share/g", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, in, sh := ParseShared(tt.filter)
			if g != tt.group || in != tt.inner || sh != tt.shared {
				t.Fatalf("ParseShared(%q) = %q, %q, %v; want %q, %q, %v", tt.filter, g, in, sh, tt.group, tt.inner, tt.shared)
			}
		})
	}
}

func TestStrategy(t *testing.T) {
	for _, s := range []Strategy{RoundRobin, Random, Sticky, HashClientID, HashTopic} {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	if _, err := ParseStrategy("Round_Robin"); err == nil {
		t.Error("ParseStrategy accepted a wrongly cased name")
	}
	if got := Strategy(42).String(); got != "Strategy(42)" {
		t.Errorf("unknown strategy String() = %q", got)
	}
}
