package conf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

func TestHTTPServerNeedsKeysOffLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"loopback without keys by default", ``, ""},
		{"off", `http: {address: ""}`, ""},
		{"IPv6 loopback without keys", `http: {address: "[::1]:18083"}`, ""},
		{"localhost without keys", `http: {address: "localhost:18083"}`, ""},
		{"every interface without keys", `http: {address: ":18083"}`, "http.api_key_file: is required"},
		{"a public address without keys", `http: {address: "192.0.2.1:18083"}`, "http.api_key_file: is required"},
		{"every interface with keys", `http: {address: ":18083", api_key_file: /etc/mqgate/api_keys}`, ""},
		{"every interface with dashboard users only", `http: {address: ":18083", users_file: /etc/mqgate/dashboard_users}`, ""},
		{"a public address with users and keys", `http: {address: "192.0.2.1:18083", users_file: /u, api_key_file: /k}`, ""},
		{"the refusal names both files", `http: {address: ":18083"}`, "is required, or http.users_file, when"},
		{"a zero session lifetime", `http: {session_ttl: 0s}`, "http.session_ttl: must be positive"},
		{"a bad address", `http: {address: "18083"}`, "http.address:"},
		{"TLS without a key", `http: {tls: {cert_file: /c.pem}}`, "http.tls.key_file: is required"},
		{"TLS with client auth", `http: {tls: {cert_file: /c.pem, key_file: /k.pem, client_auth: require}}`, "http.tls: only cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := conf.Parse([]byte(tc.doc))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tc.doc == "" && (c.HTTP.Address != "127.0.0.1:18083" || time.Duration(c.HTTP.SessionTTL) != time.Hour) {
					t.Errorf("default http.address = %q, session_ttl = %v", c.HTTP.Address, c.HTTP.SessionTTL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}
