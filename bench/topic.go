package bench

import (
	"strconv"
	"strings"
)

// expandTopic replaces every %i in t with the client index i. It runs once
// per client at setup, never per message.
func expandTopic(t string, i int) string {
	return strings.ReplaceAll(t, "%i", strconv.Itoa(i))
}

// matchFilter reports whether topic name t matches filter f (+ and #). The
// bench uses it to work out how many deliveries each publish should cause.
func matchFilter(f, t string) bool {
	for {
		fl, frest, fmore := strings.Cut(f, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(t, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore || !tmore {
			if !fmore && !tmore {
				return true
			}
			// "a/#" matches "a" as well [MQTT-4.7.1-2].
			return !tmore && frest == "#"
		}
		f, t = frest, trest
	}
}

// splitShare splits "$share/group/filter" into group and filter; ok is false
// for an ordinary filter.
func splitShare(f string) (group, filter string, ok bool) {
	rest, ok := strings.CutPrefix(f, "$share/")
	if !ok {
		return "", f, false
	}
	group, filter, ok = strings.Cut(rest, "/")
	return group, filter, ok
}
