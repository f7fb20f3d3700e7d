package conf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// checkKeys walks the document against the schema type t so that an unknown
// key, or a value of the wrong shape or type, is reported as
// "PATH: problem (line N)" with the full path of the key. yaml.v3 alone
// reports only a line number, which is hard to act on in a long file.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	// A key with no value ("tls:") leaves the default in place.
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType || t == sizeType:
		// Scalars with their own syntax; checked below with their parser.
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return keyError(path, n, "must be a mapping of keys, not %s", shape(n))
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "-" {
				continue // not read from the file (Config.Warnings)
			}
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return keyError(join(path, k.Value), k, "unknown key; allowed keys here are: %s", strings.Join(names, ", "))
			}
			if err := checkKeys(n.Content[i+1], ft, join(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return keyError(path, n, "must be a list, not %s", shape(n))
		}
		for i, e := range n.Content {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Map:
		// Free-form keys (auth.http.headers); only the values are typed.
		if n.Kind != yaml.MappingNode {
			return keyError(path, n, "must be a mapping, not %s", shape(n))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return keyError(path, n, "must be a single value, not %s", shape(n))
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		var ve *valueError
		if errors.As(err, &ve) {
			return keyError(path, n, "%s", ve.msg)
		}
		switch t.Kind() {
		case reflect.Bool:
			return keyError(path, n, "%q is not a boolean (true or false)", n.Value)
		case reflect.Int, reflect.Int64:
			return keyError(path, n, "%q is not a whole number", n.Value)
		}
		return keyError(path, n, "%v", err)
	}
	return nil
}

// valueError is a scalar that does not parse, from Size or Duration; its
// message leaves naming the key and line to the caller.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

func keyError(path string, n *yaml.Node, format string, args ...any) error {
	if path == "" {
		path = "top level"
	}
	if n.Line == envLine {
		return fmt.Errorf("%s: %s (set by %s)", path, fmt.Sprintf(format, args...), envName(path))
	}
	return fmt.Errorf("%s: %s (line %d)", path, fmt.Sprintf(format, args...), n.Line)
}

func shape(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
