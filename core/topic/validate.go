package topic

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest topic name or filter MQTT can carry: a UTF-8
// string is prefixed by a two-byte length.
const MaxLen = 65535

// Errors returned by ValidateName and ValidateFilter.
var (
	ErrEmpty          = errors.New("topic: empty topic or filter")
	ErrWildcardInName = errors.New("topic: wildcard in topic name")
	ErrBadWildcard    = errors.New("topic: wildcard not alone in its level or '#' not last")
	ErrTooManyLevels  = errors.New("topic: too many levels")
	ErrBadShare       = errors.New("topic: malformed shared subscription filter")
	ErrInvalidChar    = errors.New("topic: invalid UTF-8, U+0000 or control character")
	ErrTooLong        = errors.New("topic: longer than 65535 bytes")
)

const (
	sharePrefix = "$share/"
	queuePrefix = "$queue/"
	// QueueGroup is the group name ParseShared reports for `$queue/{filter}`.
	QueueGroup = "$queue"
)

// ValidateName checks a PUBLISH topic name. maxLevels <= 0 means no limit on
// the number of levels.
func ValidateName(name string, maxLevels int) error {
	if name == "" {
		return ErrEmpty // [MQTT-4.7.3-1]
	}
	if len(name) > MaxLen {
		return ErrTooLong
	}
	levels, err := scan(name, false)
	if err != nil {
		return err
	}
	if maxLevels > 0 && levels > maxLevels {
		return ErrTooManyLevels
	}
	return nil
}

// ValidateFilter checks a subscription filter, including the shared forms
// `$share/{group}/{filter}` and `$queue/{filter}`. For a shared filter,
// maxLevels applies to the inner filter.
//
// A filter whose first level is exactly "$share" or "$queue" is held to the
// shared syntax; the match is case-sensitive, so `$SHARE/g/x` is an ordinary
// filter whose first level is "$SHARE".
func ValidateFilter(filter string, maxLevels int) error {
	if filter == "" {
		return ErrEmpty // [MQTT-4.7.3-1]
	}
	if len(filter) > MaxLen {
		return ErrTooLong
	}
	if _, err := scan(filter, true); err != nil {
		return err
	}
	inner := filter
	switch _, in, kind := splitShared(filter); kind {
	case badShared:
		return ErrBadShare
	case isShared:
		inner = in
	}
	levels := 0
	for rest, more := inner, true; more; levels++ {
		var level string
		level, rest, more = cut(rest)
		if strings.IndexByte(level, '#') >= 0 {
			// [MQTT-4.7.1-1] '#' must be alone in its level and the last level.
			if level != "#" || more {
				return ErrBadWildcard
			}
		}
		if strings.IndexByte(level, '+') >= 0 && level != "+" {
			return ErrBadWildcard // [MQTT-4.7.1-2] '+' must occupy a whole level.
		}
	}
	if maxLevels > 0 && levels > maxLevels {
		return ErrTooManyLevels
	}
	return nil
}

// scan checks the characters of s and counts its levels. Our policy on the
// control characters the spec says SHOULD NOT appear (U+0001-U+001F,
// U+007F-U+009F) is to reject them, on publish and on subscribe alike.
func scan(s string, wildcards bool) (levels int, err error) {
	levels = 1
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '/':
				levels++
			case c == '+' || c == '#':
				if !wildcards {
					return 0, ErrWildcardInName // [MQTT-3.3.2-2]
				}
			case c < 0x20 || c == 0x7f:
				return 0, ErrInvalidChar // [MQTT-1.5.4-2] U+0000, and our control-character policy
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Also catches encoded surrogates U+D800-U+DFFF [MQTT-1.5.4-1].
			return 0, ErrInvalidChar
		}
		if r <= 0x9f {
			return 0, ErrInvalidChar // C1 controls U+0080-U+009F
		}
		i += size
	}
	return levels, nil
}

type shareKind int

const (
	notShared shareKind = iota
	isShared
	badShared
)

// splitShared recognises the shared-subscription forms [MQTT-4.8.2-1/2].
// For `$queue/{filter}` the group is QueueGroup.
func splitShared(filter string) (group, inner string, kind shareKind) {
	switch {
	case strings.HasPrefix(filter, sharePrefix):
		rest := filter[len(sharePrefix):]
		i := strings.IndexByte(rest, '/')
		if i <= 0 {
			return "", "", badShared // no group, or a group with no filter
		}
		group, inner = rest[:i], rest[i+1:]
		if inner == "" || strings.ContainsAny(group, "+#") {
			return "", "", badShared
		}
		return group, inner, isShared
	case strings.HasPrefix(filter, queuePrefix):
		inner = filter[len(queuePrefix):]
		if inner == "" {
			return "", "", badShared
		}
		return QueueGroup, inner, isShared
	case filter == "$share" || filter == "$queue":
		return "", "", badShared
	}
	return "", filter, notShared
}

// ParseShared splits a shared filter into its group and inner filter. For
// `$queue/{filter}` the group is "$queue". A filter that is not shared, or
// whose shared syntax is malformed, yields ("", filter, false).
func ParseShared(filter string) (group, inner string, shared bool) {
	group, inner, kind := splitShared(filter)
	if kind != isShared {
		return "", filter, false
	}
	return group, inner, true
}

// cut splits off the first level of s.
func cut(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
