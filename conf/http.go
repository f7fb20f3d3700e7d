package conf

import (
	"net/netip"
	"strings"
	"time"
)

// DefaultHTTPAddress is where the HTTP server (REST API, metrics, health)
// listens unless http.address says otherwise: loopback only, so that a
// gateway started without a file exposes nothing to the network.
const DefaultHTTPAddress = "127.0.0.1:18083"

// HTTPServerConfig is the operations HTTP server: the REST API under
// /api/v1, Prometheus /metrics, /healthz and /readyz.
type HTTPServerConfig struct {
	// Address is host:port; "" turns the server off.
	Address string `yaml:"address"`
	// TLS serves HTTPS with this certificate (client_auth and
	// cn_as_username do not apply).
	TLS *TLSConfig `yaml:"tls"`
	// APIKeyFile lists the API keys (created with mqgate apikey) that may
	// call the API, basic or bearer. Without it the server only runs on a
	// loopback address.
	APIKeyFile string `yaml:"api_key_file"`
	// UsersFile lists the people who may sign in to the dashboard
	// (POST /api/v1/login) for a bearer token: a bcrypt password file as
	// mqgate passwd writes it. Like APIKeyFile, it lets the server run
	// off loopback.
	UsersFile string `yaml:"users_file"`
	// SessionTTL is how long a login token lasts.
	SessionTTL Duration `yaml:"session_ttl"`
}

func defaultHTTPServer() HTTPServerConfig {
	return HTTPServerConfig{Address: DefaultHTTPAddress, SessionTTL: Duration(time.Hour)}
}

// IsLoopback reports whether a listen address only accepts connections
// from this machine: 127.0.0.0/8, ::1 or localhost. An empty host (":18083")
// listens on every interface.
func IsLoopback(address string) bool {
	host, _, err := splitHostPort(address)
	if err != nil {
		return false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (c *Config) validateHTTPServer(bad func(key, format string, args ...any)) {
	h := &c.HTTP
	if h.Address == "" {
		return
	}
	if _, _, err := splitHostPort(h.Address); err != nil {
		bad("http.address", "%v", err)
		return
	}
	if h.APIKeyFile == "" && h.UsersFile == "" && !IsLoopback(h.Address) {
		bad("http.api_key_file", "is required, or http.users_file, when http.address %q is not a loopback address: create a key with mqgate apikey -f FILE NAME or a dashboard user with mqgate passwd -f FILE USER", h.Address)
	}
	if h.SessionTTL <= 0 {
		bad("http.session_ttl", "must be positive")
	}
	if t := h.TLS; t != nil {
		if t.CertFile == "" {
			bad("http.tls.cert_file", "is required when http.tls is set")
		}
		if t.KeyFile == "" {
			bad("http.tls.key_file", "is required when http.tls is set")
		}
		if t.ClientAuth != "" && t.ClientAuth != "none" || t.CNAsUsername || t.CAFile != "" {
			bad("http.tls", "only cert_file, key_file and min_version apply to the HTTP server")
		}
		if t.MinVersion == "" {
			t.MinVersion = "1.2"
		}
		if t.MinVersion != "1.2" && t.MinVersion != "1.3" {
			bad("http.tls.min_version", "%q is not one of: 1.2, 1.3", t.MinVersion)
		}
	}
}
