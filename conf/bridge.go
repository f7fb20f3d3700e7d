package conf

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mqgate/mqgate/adapters/bridge/topicmap"
)

// BridgeConfig is one upstream MQTT broker that local topics are forwarded
// to and remote topics taken from.
type BridgeConfig struct {
	Name string `yaml:"name"`
	// Address, or Addresses tried in turn, is host:port or a URL with the
	// scheme tcp, mqtt, tls, ssl, mqtts, ws or wss.
	Address      string   `yaml:"address"`
	Addresses    []string `yaml:"addresses"`
	Protocol     string   `yaml:"protocol"` // "3.1.1" or "5"
	ClientID     string   `yaml:"client_id"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
	// CleanStart off (the default) keeps the upstream session, so the
	// upstream queues for us while the link is down.
	CleanStart bool `yaml:"clean_start"`
	// SessionExpiry is the MQTT 5 session expiry asked of the upstream.
	SessionExpiry Duration   `yaml:"session_expiry"`
	KeepAlive     Duration   `yaml:"keepalive"`
	TLS           *BridgeTLS `yaml:"tls"`
	// MaxInflight is how many outbox messages may await the upstream's
	// acknowledgement at once.
	MaxInflight  int          `yaml:"max_inflight"`
	ReconnectMin Duration     `yaml:"reconnect_min"`
	ReconnectMax Duration     `yaml:"reconnect_max"`
	Outbox       BridgeOutbox `yaml:"outbox"`
	Rules        []BridgeRule `yaml:"rules"`
}

// BridgeTLS is the TLS setup towards an upstream.
type BridgeTLS struct {
	CAFile     string   `yaml:"ca_file"`   // "": the system roots
	CertFile   string   `yaml:"cert_file"` // client certificate for mTLS
	KeyFile    string   `yaml:"key_file"`
	ServerName string   `yaml:"server_name"` // SNI; "": the address's host
	ALPN       []string `yaml:"alpn"`        // e.g. x-amzn-mqtt-ca for AWS IoT on 443
	// InsecureSkipVerify accepts any server certificate; it is logged as
	// a warning on every start.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// BridgeOutbox bounds the messages waiting for the upstream.
type BridgeOutbox struct {
	MaxMessages int  `yaml:"max_messages"`
	MaxBytes    Size `yaml:"max_bytes"`
	// Policy says what a full outbox does: drop_oldest (the default) or
	// drop_newest, the arriving message, either drop counted; or refuse:
	// the bridge stops taking messages, its local session fills, and
	// then local QoS 1/2 publishers the bridge would forward for are
	// refused (MQTT 5 PUBACK 0x97, MQTT 3 closed without PUBACK, MQTT-SN
	// congestion, CoAP 5.03, STOMP ERROR) and nothing is dropped.
	Policy string `yaml:"policy"`
	// QoS0 stores QoS 0 messages in the outbox too; otherwise they are
	// sent only while the upstream is connected.
	QoS0 bool `yaml:"qos0"`
}

// BridgeRule forwards topics in one direction or both.
type BridgeRule struct {
	Direction string `yaml:"direction"` // out, in, both
	// Local and Remote are the filter on the source side and the target on
	// the other; Remote "" means the local topic unchanged.
	Local  string `yaml:"local"`
	Remote string `yaml:"remote"`
	QoS    int    `yaml:"qos"`
}

// Bridge defaults.
const (
	DefaultBridgeKeepAlive    = 60 * time.Second
	DefaultBridgeSessionExp   = 24 * time.Hour
	DefaultBridgeMaxInflight  = 64
	DefaultBridgeReconnectMin = time.Second
	DefaultBridgeReconnectMax = 2 * time.Minute
	DefaultBridgeOutboxMax    = 1_000_000
	DefaultBridgeOutboxBytes  = 1 << 30
)

// Addrs returns the bridge's addresses in the order they are tried.
func (b *BridgeConfig) Addrs() []string {
	if b.Address != "" {
		return append([]string{b.Address}, b.Addresses...)
	}
	return b.Addresses
}

// validateBridges checks the bridges list and fills each bridge's defaults.
func (c *Config) validateBridges(bad func(key, format string, args ...any)) {
	names := map[string]bool{}
	for i := range c.Bridges {
		b := &c.Bridges[i]
		key := fmt.Sprintf("bridges[%d]", i)
		if b.Name == "" {
			bad(key+".name", "is required")
		} else if strings.ContainsAny(b.Name, "/+#") {
			bad(key+".name", "%q must not contain '/', '+' or '#': it is a topic level of the bridge's status", b.Name)
		}
		if names[b.Name] {
			bad(key+".name", "%q is used by another bridge", b.Name)
		}
		names[b.Name] = true
		addrs := b.Addrs()
		if len(addrs) == 0 {
			bad(key+".address", "is required (or addresses)")
		}
		for _, a := range addrs {
			if err := checkBridgeAddr(a); err != nil {
				bad(key+".address", "%v", err)
			}
		}
		switch b.Protocol {
		case "":
			b.Protocol = "3.1.1"
		case "3.1.1", "5":
		default:
			bad(key+".protocol", "%q is not one of: 3.1.1, 5", b.Protocol)
		}
		if b.ClientID == "" {
			b.ClientID = c.Node + "-" + b.Name
		}
		if b.Password != "" && b.PasswordFile != "" {
			bad(key+".password_file", "password and password_file exclude each other")
		}
		if b.KeepAlive == 0 {
			b.KeepAlive = Duration(DefaultBridgeKeepAlive)
		}
		if b.KeepAlive < Duration(time.Second) || b.KeepAlive > Duration(65535*time.Second) {
			bad(key+".keepalive", "must be between 1s and 65535s")
		}
		if b.SessionExpiry < 0 {
			bad(key+".session_expiry", "must not be negative")
		}
		if b.SessionExpiry == 0 && !b.CleanStart {
			b.SessionExpiry = Duration(DefaultBridgeSessionExp)
		}
		if b.MaxInflight == 0 {
			b.MaxInflight = DefaultBridgeMaxInflight
		}
		if b.MaxInflight < 1 || b.MaxInflight > 65535 {
			bad(key+".max_inflight", "must be between 1 and 65535")
		}
		if b.ReconnectMin == 0 {
			b.ReconnectMin = Duration(DefaultBridgeReconnectMin)
		}
		if b.ReconnectMax == 0 {
			b.ReconnectMax = Duration(DefaultBridgeReconnectMax)
		}
		if b.ReconnectMin < 0 || b.ReconnectMax < b.ReconnectMin {
			bad(key+".reconnect_max", "must be at least reconnect_min, and both positive")
		}
		if t := b.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
			bad(key+".tls.key_file", "cert_file and key_file go together")
		}
		o := &b.Outbox
		if o.MaxMessages == 0 {
			o.MaxMessages = DefaultBridgeOutboxMax
		}
		if o.MaxBytes == 0 {
			o.MaxBytes = DefaultBridgeOutboxBytes
		}
		if o.MaxMessages < 1 || o.MaxBytes < 1 {
			bad(key+".outbox", "max_messages and max_bytes must be positive")
		}
		switch o.Policy {
		case "":
			o.Policy = "drop_oldest"
		case "drop_oldest", "drop_newest", "refuse":
		default:
			bad(key+".outbox.policy", "%q is not one of: drop_oldest, drop_newest, refuse", o.Policy)
		}
		if len(b.Rules) == 0 {
			bad(key+".rules", "at least one rule is required")
		}
		vars := topicmap.Vars{Node: c.Node, ClientID: b.ClientID}
		for j := range b.Rules {
			r := &b.Rules[j]
			rkey := fmt.Sprintf("%s.rules[%d]", key, j)
			if r.QoS < 0 || r.QoS > 2 {
				bad(rkey+".qos", "must be 0, 1 or 2")
			}
			if r.Local == "" {
				bad(rkey+".local", "is required")
				continue
			}
			var err error
			switch r.Direction {
			case "out":
				_, err = topicmap.Compile(r.Local, r.Remote, vars)
			case "in":
				remote := r.Remote
				if remote == "" {
					remote = r.Local
				}
				_, err = topicmap.Compile(remote, r.Local, vars)
			case "both":
				if strings.Contains(r.Remote, "$") && strings.ContainsAny(r.Remote, "0123456789") && !strings.ContainsAny(r.Remote, "+#") {
					bad(rkey+".remote", "a rule in both directions repeats the wildcards of local in remote; $N references work one way only")
					continue
				}
				if _, err = topicmap.Compile(r.Local, r.Remote, vars); err == nil && r.Remote != "" {
					_, err = topicmap.Compile(r.Remote, r.Local, vars)
				}
			default:
				bad(rkey+".direction", "%q is not one of: out, in, both", r.Direction)
				continue
			}
			if err != nil {
				bad(rkey, "%v", err)
			}
		}
	}
}

// checkBridgeAddr checks one upstream address.
func checkBridgeAddr(a string) error {
	if !strings.Contains(a, "://") {
		_, _, err := splitHostPort(a)
		return err
	}
	u, err := url.Parse(a)
	if err != nil {
		return fmt.Errorf("%q: %v", a, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme %q is not one of: tcp, mqtt, tls, ssl, mqtts, ws, wss", a, u.Scheme)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("%q: host and port are required", a)
	}
	return nil
}
