package auth

import (
	"strings"

	"github.com/mqgate/mqgate/core/topic"
)

// The ACL uses the router's topic rules (core/topic) for validation and
// matching, so a rule and a subscription can never disagree about what a
// filter means. Only the subset test below is the ACL's own.

// validFilter reports whether f is a syntactically valid MQTT topic filter.
func validFilter(f string) bool { return topic.ValidateFilter(f, 0) == nil }

// validTopic reports whether t is a topic name a client may publish to.
func validTopic(t string) bool { return topic.ValidateName(t, 0) == nil }

// matchTopic reports whether topic name t matches filter f, with the
// $-topic rule [MQTT-4.7.2-1].
func matchTopic(f, t string) bool { return topic.Match(f, t) }

// coversFilter reports whether every topic matched by filter req is also
// matched by filter pattern, so that granting a subscription to req grants
// nothing pattern does not. Both must be valid filters. The answer errs on
// the side of "not covered" for exotic equivalences such as "+/#" and "#".
func coversFilter(pattern, req string) bool {
	if pattern == req {
		return true
	}
	// A wildcard in the first level of pattern matches no '$' topic, so it
	// cannot cover a request whose first level is a literal '$' level.
	if req != "" && req[0] == '$' && pattern != "" && (pattern[0] == '+' || pattern[0] == '#') {
		return false
	}
	for {
		pl, prest, pmore := strings.Cut(pattern, "/")
		if pl == "#" {
			return true
		}
		rl, rrest, rmore := strings.Cut(req, "/")
		switch {
		case rl == "#":
			// Only '#' covers '#', handled above.
			return false
		case pl == "+":
			// '+' covers any single level, literal or '+'.
		case pl != rl:
			// A literal level covers only the same literal, never '+'.
			return false
		}
		switch {
		case pmore && rmore:
			pattern, req = prest, rrest
		case !pmore && !rmore:
			return true
		case pmore && !rmore:
			// Pattern "a/#" covers request "a".
			return prest == "#"
		default:
			return false
		}
	}
}
