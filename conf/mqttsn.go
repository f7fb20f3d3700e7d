package conf

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// MQTTSNConfig is the MQTT-SN 1.2 gateway. It is off unless enabled.
type MQTTSNConfig struct {
	Enabled             bool              `yaml:"enabled"`
	Listeners           []MQTTSNListener  `yaml:"listeners"`
	GatewayID           int               `yaml:"gateway_id"`
	AdvertiseAddress    string            `yaml:"advertise_address"`
	AdvertiseInterface  string            `yaml:"advertise_interface"` // "": advertise_address only
	AdvertiseInterval   Duration          `yaml:"advertise_interval"`  // 0: off
	Namespace           string            `yaml:"namespace"`
	Mountpoint          string            `yaml:"mountpoint"`
	SessionExpiry       Duration          `yaml:"session_expiry"`
	PredefinedTopics    map[string]string `yaml:"predefined_topics"` // id -> topic
	MaxPredefinedID     int               `yaml:"max_predefined_id"`
	QoSMinusOne         bool              `yaml:"qos_minus_one"`
	QoSMinusOneClientID string            `yaml:"qos_minus_one_client_id"`
	QoSMinusOneUsername string            `yaml:"qos_minus_one_username"`
	RetryInterval       Duration          `yaml:"retry_interval"`
	MaxRetries          int               `yaml:"max_retries"`
	MaxClients          int               `yaml:"max_clients"`
	MaxMessageSize      Size              `yaml:"max_message_size"`
	MaxRegisteredTopics int               `yaml:"max_registered_topics"`
	MaxInflight         int               `yaml:"max_inflight"`
	MaxSleepQueue       int               `yaml:"max_sleep_queue"`
}

// MQTTSNListener is one UDP or DTLS socket of the MQTT-SN gateway.
type MQTTSNListener struct {
	Name     string      `yaml:"name"`
	Type     string      `yaml:"type"` // udp, dtls
	Address  string      `yaml:"address"`
	Username string      `yaml:"username"`
	Password string      `yaml:"password"`
	DTLS     *DTLSConfig `yaml:"dtls"`
	// SocketBuffer is the socket's receive and send buffer.
	SocketBuffer Size `yaml:"socket_buffer"`
}

// DTLSConfig is a dtls listener's certificate and pre-shared keys.
type DTLSConfig struct {
	CertFile        string            `yaml:"cert_file"`
	KeyFile         string            `yaml:"key_file"`
	CAFile          string            `yaml:"ca_file"`
	ClientAuth      string            `yaml:"client_auth"` // none, request, require
	PSK             map[string]string `yaml:"psk"`         // identity -> hex key
	PSKIdentityHint string            `yaml:"psk_identity_hint"`
	// ConnectionID offers RFC 9146 Connection IDs to clients that ask for
	// them, so a client whose address changes keeps its session; default
	// true.
	ConnectionID *bool `yaml:"connection_id"`
	// MaxHandshakes bounds the handshakes whose client has not yet echoed
	// the cookie; 0 is the default (256).
	MaxHandshakes int `yaml:"max_handshakes"`
}

// DefaultMQTTSNSocketBuffer is an MQTT-SN listener's socket buffer unless
// socket_buffer says otherwise: large enough for a burst of datagrams from
// many devices, where the OS default drops them.
const DefaultMQTTSNSocketBuffer = 4 << 20

func defaultMQTTSN() MQTTSNConfig {
	return MQTTSNConfig{
		Listeners:           []MQTTSNListener{{Name: "udp", Type: "udp", Address: ":1884", SocketBuffer: DefaultMQTTSNSocketBuffer}},
		GatewayID:           1,
		AdvertiseAddress:    "255.255.255.255:1884",
		Namespace:           "mqttsn",
		MaxPredefinedID:     1024,
		QoSMinusOneClientID: "mqttsn-qos-1",
		RetryInterval:       Duration(10 * time.Second),
		MaxRetries:          3,
		MaxClients:          10000,
		MaxMessageSize:      4096,
		MaxRegisteredTopics: 1000,
		MaxInflight:         8,
		MaxSleepQueue:       100,
	}
}

// validateMQTTSN checks the mqttsn section; bad reports "KEY: problem".
func (c *Config) validateMQTTSN(bad func(key, format string, args ...any)) {
	s := &c.MQTTSN
	if s.Enabled && len(s.Listeners) == 0 {
		bad("mqttsn.listeners", "at least one listener is required when mqttsn is enabled")
	}
	names := map[string]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		key := fmt.Sprintf("mqttsn.listeners[%d]", i)
		validateDatagramListener(bad, key, "mqttsn", i, l.Type, &l.Name, l.Address, l.DTLS, names)
		if l.SocketBuffer == 0 {
			l.SocketBuffer = DefaultMQTTSNSocketBuffer
		}
		if l.SocketBuffer < 8<<10 || l.SocketBuffer > 1<<30 {
			bad(key+".socket_buffer", "must be between 8KiB and 1GiB")
		}
	}
	if s.GatewayID < 0 || s.GatewayID > 255 {
		bad("mqttsn.gateway_id", "must be between 0 and 255")
	}
	if s.AdvertiseInterval < 0 {
		bad("mqttsn.advertise_interval", "must be 0 (off) or positive")
	}
	if s.AdvertiseInterval > 0 {
		if host, _, err := splitHostPort(s.AdvertiseAddress); err != nil {
			bad("mqttsn.advertise_address", "%v", err)
		} else if host == "" && s.AdvertiseInterface == "" {
			bad("mqttsn.advertise_address", "needs a host unless advertise_interface is set")
		}
	}
	if strings.ContainsAny(s.AdvertiseInterface, " \t/:") {
		bad("mqttsn.advertise_interface", "%q is not a network interface name", s.AdvertiseInterface)
	}
	if strings.ContainsAny(s.Mountpoint, "+#") {
		bad("mqttsn.mountpoint", "must not contain '+' or '#'")
	}
	if s.SessionExpiry < 0 {
		bad("mqttsn.session_expiry", "must be 0 (no expiry) or positive")
	}
	if s.MaxPredefinedID < 1 || s.MaxPredefinedID > 65534 {
		bad("mqttsn.max_predefined_id", "must be between 1 and 65534")
	}
	for id, t := range s.PredefinedTopics {
		var n int
		if _, err := fmt.Sscanf(id, "%d", &n); err != nil || fmt.Sprint(n) != id || n < 1 || n > s.MaxPredefinedID {
			bad("mqttsn.predefined_topics."+id, "the key must be a topic id between 1 and max_predefined_id (%d)", s.MaxPredefinedID)
		}
		if t == "" || strings.ContainsAny(t, "+#") {
			bad("mqttsn.predefined_topics."+id, "must be a topic name without wildcards")
		}
	}
	if s.QoSMinusOneClientID == "" {
		bad("mqttsn.qos_minus_one_client_id", "must not be empty")
	}
	if s.RetryInterval <= 0 {
		bad("mqttsn.retry_interval", "must be positive")
	}
	if s.MaxRetries < 1 {
		bad("mqttsn.max_retries", "must be at least 1")
	}
	if s.MaxClients < 1 {
		bad("mqttsn.max_clients", "must be at least 1")
	}
	if s.MaxMessageSize < 64 || s.MaxMessageSize > 65535 {
		bad("mqttsn.max_message_size", "must be between 64B and 65535B")
	}
	if s.MaxRegisteredTopics < 1 {
		bad("mqttsn.max_registered_topics", "must be at least 1")
	}
	if s.MaxInflight < 1 || s.MaxInflight > 65535 {
		bad("mqttsn.max_inflight", "must be between 1 and 65535")
	}
	if s.MaxSleepQueue < 1 {
		bad("mqttsn.max_sleep_queue", "must be at least 1")
	}
}

// validateDatagramListener checks what the UDP gateways' listeners share:
// the type, a unique name (given one when empty), the address and the
// dtls block. names collects the names seen so far.
func validateDatagramListener(bad func(key, format string, args ...any), key, section string, i int,
	typ string, name *string, address string, d *DTLSConfig, names map[string]bool) {
	if typ != "udp" && typ != "dtls" {
		bad(key+".type", "%q is not one of: udp, dtls", typ)
	}
	if *name == "" {
		*name = fmt.Sprintf("%s-%s%d", section, typ, i)
	}
	if names[*name] {
		bad(key+".name", "%q is used by another listener", *name)
	}
	names[*name] = true
	if _, _, err := splitHostPort(address); err != nil {
		bad(key+".address", "%v", err)
	}
	if typ == "dtls" {
		if d == nil || (d.CertFile == "" && len(d.PSK) == 0) {
			bad(key+".dtls", "is required for a dtls listener: cert_file and key_file, or psk")
		}
	} else if d != nil {
		bad(key+".dtls", "is only allowed on dtls listeners")
	}
	if d == nil {
		return
	}
	if (d.CertFile == "") != (d.KeyFile == "") {
		bad(key+".dtls.key_file", "cert_file and key_file go together")
	}
	if d.ClientAuth == "" {
		d.ClientAuth = "none"
	}
	if d.ClientAuth != "none" && d.ClientAuth != "request" && d.ClientAuth != "require" {
		bad(key+".dtls.client_auth", "%q is not one of: none, request, require", d.ClientAuth)
	} else if d.ClientAuth != "none" && d.CAFile == "" {
		bad(key+".dtls.ca_file", "is required when client_auth is %s", d.ClientAuth)
	}
	if d.MaxHandshakes < 0 || d.MaxHandshakes > 1<<20 {
		bad(key+".dtls.max_handshakes", "%d is not between 0 (the default, 256) and 1048576", d.MaxHandshakes)
	}
	for id, k := range d.PSK {
		if b, err := hex.DecodeString(k); err != nil || len(b) == 0 {
			bad(key+".dtls.psk."+id, "must be a non-empty hex key")
		}
	}
}
