package topic

// Match reports whether filter matches the topic name. A shared filter is
// matched by its inner filter. A filter whose first level is a wildcard does
// not match a name starting with '$' [MQTT-4.7.2-1]; `foo/#` matches `foo`
// [MQTT-4.7.1-2]; empty levels are levels like any other, so `/+` matches
// `/a` and `+` does not.
func Match(filter, name string) bool {
	if _, inner, ok := ParseShared(filter); ok {
		filter = inner
	}
	if filter == "" || name == "" {
		return false
	}
	if name[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cut(filter)
		if fl == "#" {
			return true
		}
		nl, nrest, nmore := cut(name)
		if fl != "+" && fl != nl {
			return false
		}
		switch {
		case !fmore && !nmore:
			return true
		case !nmore:
			// The name ended; only a trailing "/#" still matches (it
			// includes the parent level).
			return frest == "#"
		case !fmore:
			return false
		}
		filter, name = frest, nrest
	}
}
