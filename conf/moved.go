package conf

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// movedKeys are keys that moved to another section. A file that still sets
// the old key works: Parse moves the value to the new key and warns. Each
// key is section.name at the top level of the file.
var movedKeys = []struct{ from, to string }{
	{"mqtt.max_topic_levels", "broker.max_topic_levels"},
	{"mqtt.shared_subscription_strategy", "broker.shared_subscription_strategy"},
	{"mqtt.max_subscriptions", "broker.max_subscriptions"},
}

// moveKeys rewrites the document doc, the file's top-level mapping, so that
// every moved key it sets is under its new name, and returns a warning for
// each. The old key's value is checked against the schema first, so that a
// wrong type is reported under the name the file uses. Setting both the old
// and the new key is an error.
func moveKeys(doc *yaml.Node) (warnings []string, err error) {
	if doc.Kind != yaml.MappingNode {
		return nil, nil // checkKeys reports it
	}
	for _, m := range movedKeys {
		fromSection, fromName, _ := strings.Cut(m.from, ".")
		toSection, toName, _ := strings.Cut(m.to, ".")
		from := mappingValue(doc, fromSection)
		if from == nil || from.Kind != yaml.MappingNode {
			continue // absent, empty or not a mapping, which checkKeys reports
		}
		i := keyIndex(from.Content, fromName)
		if i < 0 {
			continue
		}
		k, v := from.Content[i], from.Content[i+1]
		if j := keyIndex(from.Content[i+2:], fromName); j >= 0 {
			// Left in place, the second would be reported as unknown.
			return nil, fmt.Errorf("%s: set twice (line %d and line %d)", m.from, k.Line, from.Content[i+2+j].Line)
		}
		if err := checkKeys(v, schemaType(m.to), m.from); err != nil {
			return nil, err
		}
		to, err := sectionFor(doc, toSection)
		if err != nil {
			return nil, err
		}
		if j := keyIndex(to.Content, toName); j >= 0 {
			return nil, fmt.Errorf("%s: moved to %s, which is set as well (line %d); remove %s (line %d)",
				m.from, m.to, to.Content[j].Line, m.from, k.Line)
		}
		from.Content = append(from.Content[:i], from.Content[i+2:]...)
		nk := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: toName, Line: k.Line, Column: k.Column}
		to.Content = append(to.Content, nk, v)
		warnings = append(warnings, fmt.Sprintf("%s is deprecated, use %s", m.from, m.to))
	}
	return warnings, nil
}

// sectionFor returns the mapping of the top-level section name, adding it
// to doc when the file has none and making an empty one ("broker:") a
// mapping.
func sectionFor(doc *yaml.Node, name string) (*yaml.Node, error) {
	i := keyIndex(doc.Content, name)
	if i < 0 {
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, n)
		return n, nil
	}
	n := doc.Content[i+1]
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		doc.Content[i+1] = m
		return m, nil
	case n.Kind != yaml.MappingNode:
		return nil, keyError(name, n, "must be a mapping of keys, not %s", shape(n))
	}
	return n, nil
}

// mappingValue returns the value of key in mapping n, resolving an alias;
// nil when n has no such key.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	i := keyIndex(n.Content, key)
	if i < 0 {
		return nil
	}
	v := n.Content[i+1]
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v
}

// keyIndex returns the index of key in the content of a mapping, which
// alternates keys and values, or -1.
func keyIndex(content []*yaml.Node, key string) int {
	for i := 0; i+1 < len(content); i += 2 {
		if content[i].Value == key {
			return i
		}
	}
	return -1
}

// schemaType returns the type of the value at the dotted path in Config,
// or nil when Config has no such key.
func schemaType(path string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for name := range strings.SplitSeq(path, ".") {
		if t.Kind() != reflect.Struct {
			return nil
		}
		var next reflect.Type
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name {
				next = t.Field(i).Type
				break
			}
		}
		if next == nil {
			return nil
		}
		t = next
	}
	return t
}
