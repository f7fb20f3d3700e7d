// Package topicmap rewrites topics that cross a bridge: a source filter
// matched against a topic captures the levels its wildcards matched, and a
// target template builds the topic on the other side from them.
//
// A target refers to captures in one of two ways, never both in one rule:
//
//   - Numbered: "$1", "$2"... anywhere in a level, in the order the
//     filter's wildcards appear ("site/+/temp" -> "cloud/$1/t").
//   - Positional: the target has the same wildcards as the filter in the
//     same order ("site/+/temp" -> "cloud/+/temp"); each is filled with
//     the matching capture. This form reads both ways, so a rule with
//     direction both uses it.
//
// "${node}" and "${clientid}" are expanded in filter and target when the
// map is compiled. A "#" that matched nothing ("foo/#" matching "foo")
// removes its level and the separator before it from the target, so the
// topic equal to the prefix maps to the target prefix, not to "prefix/".
package topicmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mqgate/mqgate/core/topic"
)

// Vars are the values of the ${...} placeholders.
type Vars struct {
	Node     string
	ClientID string
}

// Map rewrites the topics one filter matches.
type Map struct {
	filter string
	flev   []string
	nwild  int
	// tlev is the target's levels; each part is a literal or a capture.
	tlev [][]part
}

// part is a literal (ref 0) or a reference to capture ref (1-based).
type part struct {
	lit string
	ref int
}

// Expand replaces ${node} and ${clientid} in s; any other ${...} is an
// error.
func Expand(s string, v Vars) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated placeholder in %q", s)
		}
		b.WriteString(s[:i])
		switch name := s[i+2 : i+j]; name {
		case "node":
			b.WriteString(v.Node)
		case "clientid":
			b.WriteString(v.ClientID)
		default:
			return "", fmt.Errorf("unknown placeholder ${%s}: use ${node} or ${clientid}", name)
		}
		s = s[i+j+1:]
	}
}

// Compile builds the map from filter to target; target "" keeps the topic
// as it is.
func Compile(filter, target string, v Vars) (*Map, error) {
	var err error
	if filter, err = Expand(filter, v); err != nil {
		return nil, err
	}
	if target == "" {
		target = filter
	} else if target, err = Expand(target, v); err != nil {
		return nil, err
	}
	if err := topic.ValidateFilter(filter, 0); err != nil {
		return nil, fmt.Errorf("filter %q: %w", filter, err)
	}
	if _, _, shared := topic.ParseShared(filter); shared {
		return nil, fmt.Errorf("filter %q: a bridge cannot use a shared subscription", filter)
	}
	if isShared(target) {
		// A topic, not a filter: $share/ would make every broker refuse
		// it, or take it for a shared subscription and loop (emqx #4369).
		return nil, fmt.Errorf("target %q: a topic cannot start with $share/", target)
	}
	m := &Map{filter: filter, flev: strings.Split(filter, "/")}
	var kinds []string // the filter's wildcards in order
	for _, l := range m.flev {
		if l == "+" || l == "#" {
			kinds = append(kinds, l)
		}
	}
	m.nwild = len(kinds)
	if strings.Contains(target, "+") || strings.Contains(target, "#") {
		// Positional: the target's wildcards must be the filter's.
		if strings.Contains(target, "$") && hasRef(target) {
			return nil, fmt.Errorf("target %q mixes wildcards and $N references", target)
		}
		if err := topic.ValidateFilter(target, 0); err != nil {
			return nil, fmt.Errorf("target %q: %w", target, err)
		}
		k := 0
		for _, l := range strings.Split(target, "/") {
			if l == "+" || l == "#" {
				if k >= len(kinds) || kinds[k] != l {
					return nil, fmt.Errorf("target %q: its wildcards must be the filter's %q, in order", target, filter)
				}
				k++
				m.tlev = append(m.tlev, []part{{ref: k}})
				continue
			}
			m.tlev = append(m.tlev, []part{{lit: l}})
		}
		if k != len(kinds) {
			return nil, fmt.Errorf("target %q: its wildcards must be the filter's %q, in order", target, filter)
		}
		return m, nil
	}
	for _, l := range strings.Split(target, "/") {
		ps, err := parseLevel(l, m.nwild)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", target, err)
		}
		m.tlev = append(m.tlev, ps)
	}
	return m, nil
}

// hasRef reports whether s has a "$" followed by a digit.
func hasRef(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && s[i+1] >= '0' && s[i+1] <= '9' {
			return true
		}
	}
	return false
}

// parseLevel splits one target level into literals and $N references.
func parseLevel(l string, nwild int) ([]part, error) {
	var ps []part
	for l != "" {
		i := strings.IndexByte(l, '$')
		if i < 0 || i+1 >= len(l) || l[i+1] < '0' || l[i+1] > '9' {
			if i < 0 || i+1 >= len(l) {
				ps = append(ps, part{lit: l})
				break
			}
			// A '$' not followed by a digit is literal ($SYS).
			ps = append(ps, part{lit: l[:i+1]})
			l = l[i+1:]
			continue
		}
		if i > 0 {
			ps = append(ps, part{lit: l[:i]})
		}
		j := i + 1
		for j < len(l) && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(l[i+1 : j])
		if n < 1 || n > nwild {
			return nil, fmt.Errorf("$%s refers to no wildcard of the filter (it has %d)", l[i+1:j], nwild)
		}
		ps = append(ps, part{ref: n})
		l = l[j:]
	}
	if len(ps) == 0 {
		ps = []part{{lit: ""}}
	}
	return ps, nil
}

// Filter is the source filter with placeholders expanded.
func (m *Map) Filter() string { return m.filter }

// ErrNoMatch is returned by Apply for a topic the filter does not match.
var ErrNoMatch = errors.New("topicmap: topic does not match the filter")

// Apply maps name. It fails with ErrNoMatch when the filter does not match
// name, and with a topic validation error when the result is not a valid
// topic name (empty, for example).
func (m *Map) Apply(name string) (string, error) {
	if !topic.Match(m.filter, name) {
		return "", ErrNoMatch
	}
	caps := make([]string, 0, m.nwild)
	absent := -1 // index of a '#' capture that matched no level
	nl := strings.Split(name, "/")
	for i, fl := range m.flev {
		switch fl {
		case "#":
			if i >= len(nl) {
				absent = len(caps)
				caps = append(caps, "")
			} else {
				caps = append(caps, strings.Join(nl[i:], "/"))
			}
		case "+":
			caps = append(caps, nl[i])
		}
	}
	var b strings.Builder
	for i, ps := range m.tlev {
		if len(ps) == 1 && ps[0].ref != 0 && ps[0].ref-1 == absent && i == len(m.tlev)-1 {
			break // "foo/#" matched "foo": no trailing level
		}
		if i > 0 {
			b.WriteByte('/')
		}
		for _, p := range ps {
			if p.ref != 0 {
				b.WriteString(caps[p.ref-1])
			} else {
				b.WriteString(p.lit)
			}
		}
	}
	out := b.String()
	if err := topic.ValidateName(out, 0); err != nil {
		return "", fmt.Errorf("%q maps to %q: %w", name, out, err)
	}
	if isShared(out) {
		return "", fmt.Errorf("%q maps to %q: a topic cannot start with $share/", name, out)
	}
	return out, nil
}

// isShared reports whether t's first level is $share.
func isShared(t string) bool {
	return t == "$share" || strings.HasPrefix(t, "$share/")
}
