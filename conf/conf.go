package conf

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Node     string           `yaml:"node"`
	Log      LogConfig        `yaml:"log"`
	Broker   BrokerConfig     `yaml:"broker"`
	MQTT     MQTTConfig       `yaml:"mqtt"`
	Sessions SessionsConfig   `yaml:"sessions"`
	Retained RetainedConfig   `yaml:"retained"`
	Auth     AuthConfig       `yaml:"auth"`
	Sys      SysConfig        `yaml:"sys"`
	Debug    DebugConfig      `yaml:"debug"`
	Runtime  RuntimeConfig    `yaml:"runtime"`
	Storage  StorageConfig    `yaml:"storage"`
	MQTTSN   MQTTSNConfig     `yaml:"mqttsn"`
	Bridges  []BridgeConfig   `yaml:"bridges"`
	HTTP     HTTPServerConfig `yaml:"http"`
	CoAP     CoAPConfig       `yaml:"coap"`
	STOMP    STOMPConfig      `yaml:"stomp"`

	// Warnings are what Parse found worth telling but not wrong, such as a
	// deprecated key it applied; the gateway logs them when it starts.
	Warnings []string `yaml:"-"`
}

// LogConfig sets up log/slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// MQTTConfig is the native MQTT adapter.
type MQTTConfig struct {
	Listeners      []Listener `yaml:"listeners"`
	MaxPacketSize  Size       `yaml:"max_packet_size"`
	ConnectTimeout Duration   `yaml:"connect_timeout"`
	MaxKeepAlive   int        `yaml:"max_keepalive"`
	MaxClientIDLen int        `yaml:"max_client_id_length"`
	MaxTopicAlias  int        `yaml:"max_topic_alias"`
	ReceiveMaximum int        `yaml:"receive_maximum"`
	WriteTimeout   Duration   `yaml:"write_timeout"`
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
	BanFile        string     `yaml:"ban_file"`    // bans kept in a file, re-read on SIGHUP
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

// DebugConfig holds diagnostics that are off by default.
type DebugConfig struct {
	// PprofAddress serves net/http/pprof on this address ("" disables);
	// bind it to loopback: profiles reveal internals.
	PprofAddress string `yaml:"pprof_address"`
}

// RuntimeConfig tunes Go's garbage collector. The environment variables
// GOGC and GOMEMLIMIT, when set, take precedence.
type RuntimeConfig struct {
	// GCPercent is how far, in percent of the live heap, the heap may
	// grow before the next collection (Go's GOGC; Go's default is 100).
	// A broker's heap is mostly long-lived connection and session state
	// and its message path allocates little, so a collection mostly
	// rescans that state: 200 halves the collector's share of a connect
	// storm for about 0.1 KiB more RSS per idle connection.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimit is a soft limit on the memory the Go runtime uses (Go's
	// GOMEMLIMIT): near it the collector runs as often as it must. 0 sets
	// none; a small device sets it below its RAM.
	MemoryLimit Size `yaml:"memory_limit"`
}

// Default returns the configuration `mqgate run` uses without a file.
func Default() *Config {
	return &Config{
		Node:   "mqgate",
		Log:    LogConfig{Level: "info", Format: "text"},
		Broker: defaultBroker(),
		MQTT: MQTTConfig{
			Listeners: []Listener{
				{Name: "tcp", Type: "tcp", Address: ":1883"},
				{Name: "ws", Type: "ws", Address: ":8083"},
			},
			MaxPacketSize:  1 << 20,
			ConnectTimeout: Duration(10 * time.Second),
			MaxKeepAlive:   65535,
			MaxClientIDLen: 1024,
			MaxTopicAlias:  1024,
			ReceiveMaximum: 32,
			WriteTimeout:   Duration(10 * time.Second),
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
		Storage:  defaultStorage(),
		MQTTSN:   defaultMQTTSN(),
		HTTP:     defaultHTTPServer(),
		CoAP:     defaultCoAP(),
		STOMP:    defaultSTOMP(),
		Runtime:  RuntimeConfig{GCPercent: 200},
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

// Parse decodes YAML over the defaults and validates the result. The
// document is checked against the schema first, so that an unknown key or a
// value of the wrong type is reported with its full path. A key that moved
// (moved.go) is applied under its new name, with a warning in Warnings.
func Parse(data []byte) (*Config, error) { return parse(data, nil) }

// parse is Parse with the MQGATE_ variables of environ over the document.
func parse(data []byte, environ []string) (*Config, error) {
	c := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	// An empty or comment-only file, or a lone "---" or "~", means defaults.
	if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		root.Kind = yaml.DocumentNode
		root.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	if err := envOverlay(root.Content[0], environ); err != nil {
		return nil, err
	}
	warnings, err := moveKeys(root.Content[0])
	if err != nil {
		return nil, err
	}
	if err := checkKeys(root.Content[0], reflect.TypeOf(*c), ""); err != nil {
		return nil, err
	}
	// The document as moveKeys left it; checkKeys has refused unknown keys.
	if err := root.Decode(c); err != nil {
		return nil, err
	}
	c.Warnings = warnings
	if err := c.Validate(); err != nil {
		if len(warnings) > 0 {
			// A bad value set under an old key is reported under its new
			// one; the warnings say which old key that was.
			return nil, fmt.Errorf("%w\n%s", err, strings.Join(warnings, "\n"))
		}
		return nil, err
	}
	return c, nil
}
