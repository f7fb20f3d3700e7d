package conf

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxConnections is a listener's connection cap when the file leaves
// max_connections at 0.
const DefaultMaxConnections = 10000

// Validate checks every value and fills per-listener defaults. Each error
// is "KEY: problem" and says what is allowed; all of them are returned
// together so that one run shows every mistake in the file.
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
		bad(key, "%q is not one of: %s", v, strings.Join(allowed, ", "))
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	if c.Node == "" || strings.ContainsAny(c.Node, "/+#") {
		bad("node", "must be non-empty without '/', '+' or '#'")
	}
	c.validateBroker(bad)
	if len(c.MQTT.Listeners) == 0 {
		bad("mqtt.listeners", "at least one listener is required")
	}
	// Names given in the file are taken first, so that a generated name
	// never collides with one the user wrote.
	given := map[string]bool{}
	for _, l := range c.MQTT.Listeners {
		given[l.Name] = true
	}
	names := map[string]bool{}
	for i := range c.MQTT.Listeners {
		l := &c.MQTT.Listeners[i]
		key := fmt.Sprintf("mqtt.listeners[%d]", i)
		oneOf(key+".type", l.Type, "tcp", "tls", "ws", "wss")
		if l.Name == "" {
			l.Name = fmt.Sprintf("%s%d", l.Type, i)
			for n := 2; given[l.Name] || names[l.Name]; n++ {
				l.Name = fmt.Sprintf("%s%d-%d", l.Type, i, n)
			}
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
				bad(key+".path", "%q must start with '/'", l.Path)
			}
		} else if l.Path != "" {
			bad(key+".path", "is only allowed on ws and wss listeners")
		}
		if l.MaxConnections < 0 {
			bad(key+".max_connections", "must be 0 (the default, %d) or more", DefaultMaxConnections)
		}
		if l.MaxConnections == 0 {
			l.MaxConnections = DefaultMaxConnections
		}
		secure := l.Type == "tls" || l.Type == "wss"
		switch {
		case secure && l.TLS == nil:
			bad(key+".tls", "is required for a %s listener (cert_file and key_file)", l.Type)
		case secure:
			if l.TLS.CertFile == "" {
				bad(key+".tls.cert_file", "is required for a %s listener", l.Type)
			}
			if l.TLS.KeyFile == "" {
				bad(key+".tls.key_file", "is required for a %s listener", l.Type)
			}
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
		bad("mqtt.max_packet_size", "must be between 64B and 268435460 (256MiB plus the fixed header)")
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
	if m.MaxTopicAlias < 0 || m.MaxTopicAlias > 65535 {
		bad("mqtt.max_topic_alias", "must be between 0 and 65535")
	}
	if m.ReceiveMaximum < 1 || m.ReceiveMaximum > 65535 {
		bad("mqtt.receive_maximum", "must be between 1 and 65535")
	}
	if m.WriteTimeout <= 0 {
		bad("mqtt.write_timeout", "must be positive")
	}
	s := &c.Sessions
	if s.MaxInflight < 1 || s.MaxInflight > 65535 {
		bad("sessions.max_inflight", "must be between 1 and 65535")
	}
	if s.MaxQueued < 1 {
		bad("sessions.max_queued_messages", "must be at least 1")
	}
	if s.MaxQueuedBytes < 1024 {
		bad("sessions.max_queued_bytes", "must be at least 1KiB")
	}
	oneOf("sessions.drop_policy", s.DropPolicy, "drop_newest", "drop_oldest")
	if s.MaxExpiry < 0 {
		bad("sessions.max_session_expiry", "must be 0 (no limit) or positive")
	}
	if c.Retained.MaxMessages < 1 {
		bad("retained.max_messages", "must be at least 1")
	}
	if c.Retained.MaxPayload < 1 {
		bad("retained.max_payload_size", "must be at least 1B")
	}
	oneOf("auth.acl_default", c.Auth.ACLDefault, "allow", "deny")
	if c.Auth.HTTP.Timeout <= 0 {
		bad("auth.http.timeout", "must be positive")
	}
	for _, u := range []struct{ key, v string }{{"auth.http.authn_url", c.Auth.HTTP.AuthnURL}, {"auth.http.authz_url", c.Auth.HTTP.AuthzURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(u.key, "%q is not an http:// or https:// URL", u.v)
		}
	}
	if c.Sys.Interval < 0 {
		bad("sys.interval", "must be 0 (disabled) or positive")
	}
	if c.Debug.PprofAddress != "" {
		if _, _, err := splitHostPort(c.Debug.PprofAddress); err != nil {
			bad("debug.pprof_address", "%v", err)
		}
	}
	if c.Runtime.GCPercent < 10 || c.Runtime.GCPercent > 10000 {
		bad("runtime.gc_percent", "must be between 10 and 10000")
	}
	c.validateMQTTSN(bad)
	c.validateBridges(bad)
	c.validateCoAP(bad)
	c.validateSTOMP(bad)
	c.validateStorage(bad)
	c.validateHTTPServer(bad)
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
