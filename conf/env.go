package conf

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the environment variables that set configuration keys:
// MQGATE_ followed by the key's path, sections separated by a double
// underscore, in any case: MQGATE_MQTT__MAX_PACKET_SIZE=256KiB sets
// mqtt.max_packet_size, MQGATE_NODE=edge-1 sets node. The value is read
// as YAML, so lists and maps can be given in flow form:
// MQGATE_MQTT__LISTENERS='[{name: tcp, type: tcp, address: ":1883"}]'.
// Variables starting MQGATE_TEST_ belong to the test suite and are not
// read.
const EnvPrefix = "MQGATE_"

// envLine marks the nodes the environment set, for error messages.
const envLine = -1

// envName is the variable that sets the key at path.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "__"))
}

// markEnv marks n and everything below it as set by the environment.
func markEnv(n *yaml.Node) {
	n.Line, n.Column = envLine, 0
	for _, c := range n.Content {
		markEnv(c)
	}
}

// Resolve builds the configuration mqgate runs with: the embedded
// defaults, the file at path over them (none when path is empty), and the
// MQGATE_ variables of environ over both. Every key is checked as in a
// file; an unknown one names its variable.
func Resolve(path string, environ []string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	c, err := parse(data, environ)
	if err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// envOverlay sets the keys the MQGATE_ variables of environ name in the
// document's root mapping, replacing what the file set there.
func envOverlay(root *yaml.Node, environ []string) error {
	var vars []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, EnvPrefix) && !strings.HasPrefix(kv, EnvPrefix+"TEST_") {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars) // one order, whatever the environment's
	for _, kv := range vars {
		name, value, _ := strings.Cut(kv, "=")
		path := strings.Split(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "__")
		for _, p := range path {
			if p == "" {
				return fmt.Errorf("%s: an empty key in the variable's name", name)
			}
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) == 0 {
			// Not YAML (or empty): the string as it is.
			v = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}}}
		}
		val := v.Content[0]
		markEnv(val)
		n := root
		for i, key := range path {
			if n.Kind != yaml.MappingNode {
				return fmt.Errorf("%s: %s is not a section", name, strings.Join(path[:i], "."))
			}
			next := mappingValue(n, key)
			if i == len(path)-1 {
				if next != nil {
					*next = *val
				} else {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: envLine}, val)
				}
				break
			}
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: envLine}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: envLine}, next)
			}
			n = next
		}
	}
	return nil
}
