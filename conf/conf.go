// Package conf is mqgate's configuration: the YAML schema, its defaults and
// its validation. An unknown key or an invalid value is an error that names
// the key and says what is allowed.
package conf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Node     string         `yaml:"node"`
	Log      LogConfig      `yaml:"log"`
	MQTT     MQTTConfig     `yaml:"mqtt"`
	Sessions SessionsConfig `yaml:"sessions"`
	Retained RetainedConfig `yaml:"retained"`
	Auth     AuthConfig     `yaml:"auth"`
	Sys      SysConfig      `yaml:"sys"`
}

// LogConfig sets up log/slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// MQTTConfig is the native MQTT adapter.
type MQTTConfig struct {
	Listeners        []Listener `yaml:"listeners"`
	MaxPacketSize    Size       `yaml:"max_packet_size"`
	ConnectTimeout   Duration   `yaml:"connect_timeout"`
	MaxKeepAlive     int        `yaml:"max_keepalive"`
	MaxClientIDLen   int        `yaml:"max_client_id_length"`
	MaxTopicLevels   int        `yaml:"max_topic_levels"`
	MaxTopicAlias    int        `yaml:"max_topic_alias"`
	ReceiveMaximum   int        `yaml:"receive_maximum"`
	WriteTimeout     Duration   `yaml:"write_timeout"`
	RetryInterval    Duration   `yaml:"retry_interval"`
	SharedStrategy   string     `yaml:"shared_subscription_strategy"`
	MaxSubscriptions int        `yaml:"max_subscriptions"`
}

// Listener is one socket the MQTT adapter accepts connections on.
type Listener struct {
	Name           string     `yaml:"name"`
	Type           string     `yaml:"type"` // tcp, tls, ws, wss
	Address        string     `yaml:"address"`
	Path           string     `yaml:"path"` // ws and wss
	MaxConnections int        `yaml:"max_connections"`
	TLS            *TLSConfig `yaml:"tls"`
}

// TLSConfig is the certificate setup of a tls or wss listener.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	CAFile       string `yaml:"ca_file"`
	ClientAuth   string `yaml:"client_auth"` // none, request, require
	CNAsUsername bool   `yaml:"cn_as_username"`
	MinVersion   string `yaml:"min_version"` // "1.2" or "1.3"
}

// SessionsConfig bounds sessions, their queues and inflight windows.
type SessionsConfig struct {
	MaxInflight    int      `yaml:"max_inflight"`
	MaxQueued      int      `yaml:"max_queued_messages"`
	MaxQueuedBytes Size     `yaml:"max_queued_bytes"`
	QueueQoS0      bool     `yaml:"queue_qos0"`
	DropPolicy     string   `yaml:"drop_policy"` // drop_newest, drop_oldest
	MaxExpiry      Duration `yaml:"max_session_expiry"`
}

// RetainedConfig bounds the retained message store.
type RetainedConfig struct {
	Enabled     bool `yaml:"enabled"`
	MaxMessages int  `yaml:"max_messages"`
	MaxPayload  Size `yaml:"max_payload_size"`
}

// AuthConfig selects the authentication and authorization sources.
type AuthConfig struct {
	AllowAnonymous bool       `yaml:"allow_anonymous"`
	PasswordFile   string     `yaml:"password_file"`
	ACLFile        string     `yaml:"acl_file"`
	ACLDefault     string     `yaml:"acl_default"` // allow, deny
	HTTP           HTTPConfig `yaml:"http"`
}

// HTTPConfig is the HTTP callback auth source.
type HTTPConfig struct {
	AuthnURL string            `yaml:"authn_url"`
	AuthzURL string            `yaml:"authz_url"`
	Timeout  Duration          `yaml:"timeout"`
	CacheTTL Duration          `yaml:"cache_ttl"`
	Headers  map[string]string `yaml:"headers"`
}

// SysConfig controls the $SYS topics.
type SysConfig struct {
	Interval Duration `yaml:"interval"` // 0 disables $SYS
}

// Default returns the configuration `mqgate run` uses without a file.
func Default() *Config {
	return &Config{
		Node: "mqgate",
		Log:  LogConfig{Level: "info", Format: "text"},
		MQTT: MQTTConfig{
			Listeners: []Listener{
				{Name: "tcp", Type: "tcp", Address: ":1883"},
				{Name: "ws", Type: "ws", Address: ":8083"},
			},
			MaxPacketSize:  1 << 20,
			ConnectTimeout: Duration(10 * time.Second),
			MaxKeepAlive:   65535,
			MaxClientIDLen: 1024,
			MaxTopicLevels: 128,
			MaxTopicAlias:  1024,
			ReceiveMaximum: 32,
			WriteTimeout:   Duration(10 * time.Second),
			SharedStrategy: "round_robin",
		},
		Sessions: SessionsConfig{
			MaxInflight:    32,
			MaxQueued:      1000,
			MaxQueuedBytes: 16 << 20,
			DropPolicy:     "drop_newest",
		},
		Retained: RetainedConfig{Enabled: true, MaxMessages: 100000, MaxPayload: 1 << 20},
		Auth:     AuthConfig{AllowAnonymous: true, ACLDefault: "allow", HTTP: HTTPConfig{Timeout: Duration(5 * time.Second), CacheTTL: Duration(time.Minute)}},
		Sys:      SysConfig{Interval: Duration(10 * time.Second)},
	}
}

// Load reads a YAML file over the defaults and validates the result.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML over the defaults and validates the result.
func Parse(data []byte) (*Config, error) {
	c := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return c, c.Validate()
	}
	if err := checkKeys(root.Content[0], reflect.TypeOf(*c), ""); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// checkKeys walks the document against the schema so that an unknown key is
// reported with its full path and the keys allowed there.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeOf(Duration(0)) && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q; allowed keys are: %s", n.Content[i].Line, join(path, k), strings.Join(names, ", "))
			}
			if err := checkKeys(n.Content[i+1], ft, join(path, k)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Validate checks every value and fills per-listener defaults. Errors name
// the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	if c.Node == "" || strings.ContainsAny(c.Node, "/+#") {
		bad("node", "must be non-empty without '/', '+' or '#'")
	}
	names := map[string]bool{}
	for i := range c.MQTT.Listeners {
		l := &c.MQTT.Listeners[i]
		key := fmt.Sprintf("mqtt.listeners[%d]", i)
		oneOf(key+".type", l.Type, "tcp", "tls", "ws", "wss")
		if l.Name == "" {
			l.Name = fmt.Sprintf("%s%d", l.Type, i)
		}
		if names[l.Name] {
			bad(key+".name", "%q is used by another listener", l.Name)
		}
		names[l.Name] = true
		if l.Address == "" {
			bad(key+".address", "is required (host:port, e.g. \":1883\")")
		} else if _, _, err := splitHostPort(l.Address); err != nil {
			bad(key+".address", "%v", err)
		}
		if l.Type == "ws" || l.Type == "wss" {
			if l.Path == "" {
				l.Path = "/mqtt"
			}
			if !strings.HasPrefix(l.Path, "/") {
				bad(key+".path", "must start with '/'")
			}
		}
		if l.MaxConnections < 0 {
			bad(key+".max_connections", "must be 0 (unlimited) or more")
		}
		if l.MaxConnections == 0 {
			l.MaxConnections = 10000
		}
		secure := l.Type == "tls" || l.Type == "wss"
		if secure && (l.TLS == nil || l.TLS.CertFile == "" || l.TLS.KeyFile == "") {
			bad(key+".tls", "cert_file and key_file are required for a %s listener", l.Type)
		}
		if !secure && l.TLS != nil {
			bad(key+".tls", "is only allowed on tls and wss listeners")
		}
		if l.TLS != nil {
			if l.TLS.ClientAuth == "" {
				l.TLS.ClientAuth = "none"
			}
			oneOf(key+".tls.client_auth", l.TLS.ClientAuth, "none", "request", "require")
			if l.TLS.ClientAuth != "none" && l.TLS.CAFile == "" {
				bad(key+".tls.ca_file", "is required when client_auth is %s", l.TLS.ClientAuth)
			}
			if l.TLS.MinVersion == "" {
				l.TLS.MinVersion = "1.2"
			}
			oneOf(key+".tls.min_version", l.TLS.MinVersion, "1.2", "1.3")
		}
	}
	m := &c.MQTT
	if m.MaxPacketSize < 64 || m.MaxPacketSize > 268435460 {
		bad("mqtt.max_packet_size", "must be between 64 B and 256 MiB")
	}
	if m.ConnectTimeout <= 0 {
		bad("mqtt.connect_timeout", "must be positive")
	}
	if m.MaxKeepAlive < 1 || m.MaxKeepAlive > 65535 {
		bad("mqtt.max_keepalive", "must be between 1 and 65535 seconds")
	}
	if m.MaxClientIDLen < 23 || m.MaxClientIDLen > 65535 {
		bad("mqtt.max_client_id_length", "must be between 23 and 65535")
	}
	if m.MaxTopicLevels < 0 {
		bad("mqtt.max_topic_levels", "must be 0 (unlimited) or more")
	}
	if m.MaxTopicAlias < 0 || m.MaxTopicAlias > 65535 {
		bad("mqtt.max_topic_alias", "must be between 0 and 65535")
	}
	if m.ReceiveMaximum < 1 || m.ReceiveMaximum > 65535 {
		bad("mqtt.receive_maximum", "must be between 1 and 65535")
	}
	if m.WriteTimeout <= 0 {
		bad("mqtt.write_timeout", "must be positive")
	}
	oneOf("mqtt.shared_subscription_strategy", m.SharedStrategy, "round_robin", "random", "sticky", "hash_clientid", "hash_topic")
	if m.MaxSubscriptions < 0 {
		bad("mqtt.max_subscriptions", "must be 0 (unlimited) or more")
	}
	s := &c.Sessions
	if s.MaxInflight < 1 || s.MaxInflight > 65535 {
		bad("sessions.max_inflight", "must be between 1 and 65535")
	}
	if s.MaxQueued < 1 {
		bad("sessions.max_queued_messages", "must be at least 1")
	}
	if s.MaxQueuedBytes < 1024 {
		bad("sessions.max_queued_bytes", "must be at least 1 KiB")
	}
	oneOf("sessions.drop_policy", s.DropPolicy, "drop_newest", "drop_oldest")
	if s.MaxExpiry < 0 {
		bad("sessions.max_session_expiry", "must be 0 (no limit) or positive")
	}
	if c.Retained.MaxMessages < 1 {
		bad("retained.max_messages", "must be at least 1")
	}
	if c.Retained.MaxPayload < 1 {
		bad("retained.max_payload_size", "must be at least 1 B")
	}
	oneOf("auth.acl_default", c.Auth.ACLDefault, "allow", "deny")
	if c.Auth.HTTP.Timeout <= 0 {
		bad("auth.http.timeout", "must be positive")
	}
	for _, u := range []struct{ key, v string }{{"auth.http.authn_url", c.Auth.HTTP.AuthnURL}, {"auth.http.authz_url", c.Auth.HTTP.AuthzURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			bad(u.key, "must be an http:// or https:// URL")
		}
	}
	if c.Sys.Interval < 0 {
		bad("sys.interval", "must be 0 (disabled) or positive")
	}
	return errors.Join(errs...)
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%q has no port (want host:port)", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%q has an invalid port", addr)
	}
	return addr[:i], p, nil
}

// Duration is a time.Duration written as "10s", "1m30s" or "2h".
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 10s, 1m, 2h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as a number or with a unit: 512, 64KB,
// 1MiB (KB and KiB both mean 1024).
type Size int64

// UnmarshalYAML accepts plain numbers and B, KB, KiB, MB, MiB, GB, GiB.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = Size(v)
	return nil
}

// ParseSize parses a byte count with an optional unit.
func ParseSize(str string) (int64, error) {
	t := strings.TrimSpace(str)
	mult := int64(1)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 65536, 64KB, 1MiB)", str)
	}
	return v * mult, nil
}
