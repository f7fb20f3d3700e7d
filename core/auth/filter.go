package auth

import "strings"

// This file holds the small topic matcher the ACL needs. It is private on
// purpose: the router's matcher optimises for many subscriptions, the ACL
// for a handful of patterns checked once per subscribe or publish.

// validFilter reports whether f is a syntactically valid MQTT topic filter.
func validFilter(f string) bool {
	if f == "" {
		return false
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '+':
			// [MQTT-4.7.1-2] '+' must occupy an entire level.
			if (i > 0 && f[i-1] != '/') || (i+1 < len(f) && f[i+1] != '/') {
				return false
			}
		case '#':
			// [MQTT-4.7.1-1] '#' must be the last character and a whole level.
			if i != len(f)-1 || (i > 0 && f[i-1] != '/') {
				return false
			}
		case 0:
			// [MQTT-4.7.3-2] topic names and filters must not contain U+0000.
			return false
		}
	}
	return true
}

// validTopic reports whether t is a topic name a client may publish to.
func validTopic(t string) bool {
	return t != "" && !strings.ContainsAny(t, "+#\x00")
}

// matchTopic reports whether topic name t matches filter f. Both must be
// valid; t must contain no wildcards.
func matchTopic(f, t string) bool {
	// [MQTT-4.7.2-1] a filter starting with a wildcard does not match a
	// topic starting with '$'.
	if t != "" && t[0] == '$' && f != "" && (f[0] == '+' || f[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(f, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(t, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case fmore && tmore:
			f, t = frest, trest
		case !fmore && !tmore:
			return true
		case fmore && !tmore:
			// "a/#" also matches "a" [MQTT-4.7.1-2].
			return frest == "#"
		default:
			return false
		}
	}
}

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
