package conf

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the environment variables that set configuration keys:
// MQGATE_ then the key's path in upper case with "__" between levels, so
// that a key's own underscores stay: MQGATE_MQTT__MAX_PACKET_SIZE=2MiB sets
// mqtt.max_packet_size, MQGATE_NODE sets node. The value is YAML, so a
// list or a mapping is written as in the file:
// MQGATE_MQTT__LISTENERS='[{type: tcp, address: ":1883"}]'.
const EnvPrefix = "MQGATE_"

// ApplyEnv sets the keys that environment variables name (environ is as
// os.Environ returns it) over c, in name order, and validates the result.
// A variable whose first level is no top-level key (MQGATE_URL, which
// mqgate ctl reads) is not configuration and is ignored; one that names
// an unknown key deeper down, or holds a value of the wrong type, is an
// error naming the variable.
func ApplyEnv(c *Config, environ []string) error {
	environ = slices.Sorted(slices.Values(environ)) // the caller's slice stays as it was
	top := map[string]bool{}
	t := reflect.TypeOf(*c)
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "-" {
			top[name] = true
		}
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix)
		if !ok {
			continue
		}
		path := strings.Split(strings.ToLower(rest), "__")
		if !top[path[0]] {
			continue
		}
		if err := setPath(reflect.ValueOf(c).Elem(), path, strings.Join(path, "."), value); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return c.Validate()
}

// setPath decodes value as YAML into the field that path names in v; key
// is the whole path, dotted, for errors.
func setPath(v reflect.Value, path []string, key, value string) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if len(path) == 0 {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(value), &n); err != nil {
			return err
		}
		if len(n.Content) == 0 { // an empty value: the empty string
			n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""}
		} else {
			n = *n.Content[0]
		}
		if err := checkKeys(&n, v.Type(), key); err != nil {
			return err
		}
		return n.Decode(v.Addr().Interface())
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("%s: %q is below a key that is not a mapping of keys", key, path[0])
	}
	var names []string
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name == path[0] {
			return setPath(v.Field(i), path[1:], key, value)
		}
		if name != "-" {
			names = append(names, name)
		}
	}
	return fmt.Errorf("%s: unknown key %q; allowed keys here are: %s", key, path[0], strings.Join(names, ", "))
}
