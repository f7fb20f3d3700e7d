package conf

import (
	"fmt"
	"strings"
	"time"
)

// STOMPConfig is the STOMP 1.0-1.2 gateway. It is off unless enabled.
type STOMPConfig struct {
	Enabled   bool            `yaml:"enabled"`
	Listeners []STOMPListener `yaml:"listeners"`
	// Namespace is the client id namespace of STOMP sessions; Mountpoint
	// prefixes their topics.
	Namespace  string `yaml:"namespace"`
	Mountpoint string `yaml:"mountpoint"`
	// Destinations is how destinations name topics: mqtt (the topic
	// itself) or rabbitmq (/topic/a.b.c).
	Destinations         string   `yaml:"destinations"`
	MaxFrameSize         Size     `yaml:"max_frame_size"` // body bytes of one frame
	MaxHeaders           int      `yaml:"max_headers"`
	MaxHeaderLength      Size     `yaml:"max_header_length"`
	MaxSubscriptions     int      `yaml:"max_subscriptions"`
	MaxUnacked           int      `yaml:"max_unacked"`
	MaxTransactions      int      `yaml:"max_transactions"`
	MaxTransactionFrames int      `yaml:"max_transaction_frames"`
	MaxTransactionBytes  Size     `yaml:"max_transaction_bytes"`
	ConnectTimeout       Duration `yaml:"connect_timeout"`
	HeartBeat            Duration `yaml:"heart_beat"` // 0: none
	WriteTimeout         Duration `yaml:"write_timeout"`
}

// STOMPListener is one socket of the STOMP gateway: the MQTT listener's
// keys, the type sockjs besides tcp, tls, ws and wss, and the origins a
// sockjs listener serves.
type STOMPListener struct {
	Name           string     `yaml:"name"`
	Type           string     `yaml:"type"` // tcp, tls, ws, wss, sockjs
	Address        string     `yaml:"address"`
	Path           string     `yaml:"path"` // ws, wss: the HTTP path; sockjs: the prefix
	MaxConnections int        `yaml:"max_connections"`
	TLS            *TLSConfig `yaml:"tls"`
	AllowedOrigins []string   `yaml:"allowed_origins"` // sockjs
	// Share names an MQTT ws or wss listener whose port serves this ws
	// listener too, at its own path, instead of an address of its own.
	Share string `yaml:"share"`
}

func defaultSTOMP() STOMPConfig {
	return STOMPConfig{
		Listeners:            []STOMPListener{{Name: "tcp", Type: "tcp", Address: ":61613"}},
		Namespace:            "stomp",
		Destinations:         "mqtt",
		MaxFrameSize:         1 << 20,
		MaxHeaders:           64,
		MaxHeaderLength:      8192,
		MaxSubscriptions:     100,
		MaxUnacked:           32,
		MaxTransactions:      8,
		MaxTransactionFrames: 1000,
		MaxTransactionBytes:  4 << 20,
		ConnectTimeout:       Duration(10 * time.Second),
		HeartBeat:            Duration(10 * time.Second),
		WriteTimeout:         Duration(10 * time.Second),
	}
}

// validateSTOMP checks the stomp section; bad reports "KEY: problem".
func (c *Config) validateSTOMP(bad func(key, format string, args ...any)) {
	s := &c.STOMP
	if s.Enabled && len(s.Listeners) == 0 {
		bad("stomp.listeners", "at least one listener is required when stomp is enabled")
	}
	names := map[string]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		key := fmt.Sprintf("stomp.listeners[%d]", i)
		switch l.Type {
		case "tcp", "tls", "ws", "wss", "sockjs":
		default:
			bad(key+".type", "%q is not one of: tcp, tls, ws, wss, sockjs", l.Type)
		}
		if l.Name == "" {
			l.Name = fmt.Sprintf("stomp-%s%d", l.Type, i)
		}
		if names[l.Name] {
			bad(key+".name", "%q is used by another listener", l.Name)
		}
		names[l.Name] = true
		if l.Share != "" {
			c.validateShare(bad, key, l)
		} else if _, _, err := splitHostPort(l.Address); err != nil {
			bad(key+".address", "%v", err)
		}
		web := l.Type == "ws" || l.Type == "wss" || l.Type == "sockjs"
		if web && l.Path == "" {
			l.Path = "/stomp"
		}
		if web && !strings.HasPrefix(l.Path, "/") {
			bad(key+".path", "%q must start with '/'", l.Path)
		}
		if !web && l.Path != "" {
			bad(key+".path", "is only allowed on ws, wss and sockjs listeners")
		}
		if l.Type != "sockjs" && len(l.AllowedOrigins) > 0 {
			bad(key+".allowed_origins", "is only allowed on sockjs listeners")
		}
		for j, o := range l.AllowedOrigins {
			if o != "*" && !strings.Contains(o, "://") {
				bad(fmt.Sprintf("%s.allowed_origins[%d]", key, j), "%q is not an origin (scheme://host[:port]) or *", o)
			}
		}
		if l.MaxConnections < 0 {
			bad(key+".max_connections", "must be 0 (the default, %d) or more", DefaultMaxConnections)
		}
		if l.MaxConnections == 0 {
			l.MaxConnections = DefaultMaxConnections
		}
		secure := l.Type == "tls" || l.Type == "wss"
		switch {
		case secure && (l.TLS == nil || l.TLS.CertFile == "" || l.TLS.KeyFile == ""):
			bad(key+".tls", "cert_file and key_file are required for a %s listener", l.Type)
		case l.Type == "sockjs" && l.TLS != nil && (l.TLS.CertFile == "" || l.TLS.KeyFile == ""):
			bad(key+".tls", "cert_file and key_file are required for HTTPS")
		case !secure && l.Type != "sockjs" && l.TLS != nil:
			bad(key+".tls", "is only allowed on tls, wss and sockjs listeners")
		}
		if t := l.TLS; t != nil {
			if t.ClientAuth == "" {
				t.ClientAuth = "none"
			}
			if t.ClientAuth != "none" && t.ClientAuth != "request" && t.ClientAuth != "require" {
				bad(key+".tls.client_auth", "%q is not one of: none, request, require", t.ClientAuth)
			} else if t.ClientAuth != "none" && t.CAFile == "" {
				bad(key+".tls.ca_file", "is required when client_auth is %s", t.ClientAuth)
			}
			if t.MinVersion == "" {
				t.MinVersion = "1.2"
			}
			if t.MinVersion != "1.2" && t.MinVersion != "1.3" {
				bad(key+".tls.min_version", "%q is not one of: 1.2, 1.3", t.MinVersion)
			}
		}
	}
	if s.Namespace == "" {
		bad("stomp.namespace", "must not be empty")
	}
	if strings.ContainsAny(s.Mountpoint, "+#") {
		bad("stomp.mountpoint", "must not contain '+' or '#'")
	}
	if s.Destinations != "mqtt" && s.Destinations != "rabbitmq" {
		bad("stomp.destinations", "%q is not one of: mqtt, rabbitmq", s.Destinations)
	}
	if s.MaxFrameSize < 1 || s.MaxFrameSize > 256<<20 {
		bad("stomp.max_frame_size", "must be between 1B and 256MiB")
	}
	if s.MaxHeaders < 8 || s.MaxHeaders > 10000 {
		bad("stomp.max_headers", "must be between 8 and 10000")
	}
	if s.MaxHeaderLength < 256 || s.MaxHeaderLength > 1<<20 {
		bad("stomp.max_header_length", "must be between 256B and 1MiB")
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"max_subscriptions", s.MaxSubscriptions}, {"max_unacked", s.MaxUnacked},
		{"max_transactions", s.MaxTransactions}, {"max_transaction_frames", s.MaxTransactionFrames}} {
		if n.v < 1 {
			bad("stomp."+n.key, "must be at least 1")
		}
	}
	if s.MaxTransactionBytes < 1 {
		bad("stomp.max_transaction_bytes", "must be at least 1B")
	}
	if s.MaxUnacked > 65535 {
		bad("stomp.max_unacked", "must be at most 65535")
	}
	if s.ConnectTimeout <= 0 {
		bad("stomp.connect_timeout", "must be positive")
	}
	if s.HeartBeat < 0 {
		bad("stomp.heart_beat", "must be 0 (none) or positive")
	}
	if s.WriteTimeout <= 0 {
		bad("stomp.write_timeout", "must be positive")
	}
}

// validateShare checks a STOMP listener that serves on an MQTT WebSocket
// listener's port.
func (c *Config) validateShare(bad func(key, format string, args ...any), key string, l *STOMPListener) {
	if l.Type != "ws" && l.Type != "wss" {
		bad(key+".share", "only a ws or wss listener can share an MQTT listener's port")
		return
	}
	if l.Address != "" || l.TLS != nil || l.MaxConnections != 0 {
		bad(key+".share", "a shared listener takes address, tls and max_connections from %q; leave them out", l.Share)
	}
	for _, m := range c.MQTT.Listeners {
		if m.Name != l.Share {
			continue
		}
		if m.Type != l.Type {
			bad(key+".share", "MQTT listener %q is %s, not %s", l.Share, m.Type, l.Type)
		}
		mp := m.Path
		if mp == "" {
			mp = "/mqtt"
		}
		if p := l.Path; p == mp || p == "" && mp == "/stomp" {
			bad(key+".path", "%q is the MQTT listener's own path", mp)
		}
		return
	}
	bad(key+".share", "there is no MQTT listener named %q", l.Share)
}
