package conf_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

// validDefault is Default after Validate has filled the per-listener
// defaults, which is what Parse returns for an empty file.
func validDefault(t *testing.T) *conf.Config {
	t.Helper()
	c := conf.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	return c
}

func mustParse(t *testing.T, doc string) *conf.Config {
	t.Helper()
	c, err := conf.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", doc, err)
	}
	return c
}

func TestDefaultIsValid(t *testing.T) {
	c := validDefault(t)
	if got := len(c.MQTT.Listeners); got != 2 {
		t.Fatalf("default listeners = %d, want 2", got)
	}
	// Validating twice must not invent errors, e.g. about listener names it
	// filled in the first time.
	if err := c.Validate(); err != nil {
		t.Fatalf("second Validate() = %v", err)
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	want := validDefault(t)
	for _, tc := range []struct{ name, doc string }{
		{"empty", ""},
		{"only comments", "# nothing here\n   # nor here\n"},
		{"document marker", "---\n"},
		{"null document", "~\n"},
		{"empty sections", "mqtt:\nauth:\n  http:\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.doc); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestValidationErrorNamesKeyAndAllowedValues(t *testing.T) {
	// Each case breaks one value; the error must start the line with the
	// key and say what is allowed.
	for _, tc := range []struct {
		name, doc string
		key       string
		allowed   string
	}{
		{"log level outside the list", "log: {level: verbose}", "log.level", "debug, info, warn, error"},
		{"log format outside the list", "log: {format: xml}", "log.format", "text, json"},
		{"node with a wildcard", "node: a/+", "node", "without '/', '+' or '#'"},
		{"empty node", `node: ""`, "node", "non-empty"},
		{"negative max_topic_levels", "broker: {max_topic_levels: -1}", "broker.max_topic_levels", "0 (unlimited) or more"},
		{"shared strategy outside the list", "broker: {shared_subscription_strategy: first}", "broker.shared_subscription_strategy", `"first" is not one of: round_robin, random, sticky, hash_clientid, hash_topic`},
		{"negative max_subscriptions", "broker: {max_subscriptions: -1}", "broker.max_subscriptions", "0 (unlimited) or more"},
		{"no listeners", "mqtt: {listeners: []}", "mqtt.listeners", "at least one listener"},
		{"listener type outside the list", "mqtt: {listeners: [{type: quic, address: ':1'}]}", "mqtt.listeners[0].type", `"quic" is not one of: tcp, tls, ws, wss`},
		{"second listener type", "mqtt: {listeners: [{type: tcp, address: ':1'}, {type: udp, address: ':2'}]}", "mqtt.listeners[1].type", "tcp, tls, ws, wss"},
		{"duplicate listener name", "mqtt: {listeners: [{name: a, type: tcp, address: ':1'}, {name: a, type: ws, address: ':2'}]}", "mqtt.listeners[1].name", "used by another listener"},
		{"listener without address", "mqtt: {listeners: [{type: tcp}]}", "mqtt.listeners[0].address", `host:port, e.g. ":1883"`},
		{"address without port", "mqtt: {listeners: [{type: tcp, address: localhost}]}", "mqtt.listeners[0].address", "want host:port"},
		{"address with bad port", "mqtt: {listeners: [{type: tcp, address: ':99999'}]}", "mqtt.listeners[0].address", "invalid port"},
		{"ws path without slash", "mqtt: {listeners: [{type: ws, address: ':1', path: mqtt}]}", "mqtt.listeners[0].path", "must start with '/'"},
		{"path on a tcp listener", "mqtt: {listeners: [{type: tcp, address: ':1', path: /mqtt}]}", "mqtt.listeners[0].path", "only allowed on ws and wss"},
		{"negative max_connections", "mqtt: {listeners: [{type: tcp, address: ':1', max_connections: -1}]}", "mqtt.listeners[0].max_connections", "0 (the default, 10000) or more"},
		{"tls section on a tcp listener", "mqtt: {listeners: [{type: tcp, address: ':1', tls: {cert_file: c, key_file: k}}]}", "mqtt.listeners[0].tls", "only allowed on tls and wss"},
		{"client_auth outside the list", "mqtt: {listeners: [{type: tls, address: ':1', tls: {cert_file: c, key_file: k, client_auth: maybe}}]}", "mqtt.listeners[0].tls.client_auth", "none, request, require"},
		{"client_auth without ca_file", "mqtt: {listeners: [{type: tls, address: ':1', tls: {cert_file: c, key_file: k, client_auth: require}}]}", "mqtt.listeners[0].tls.ca_file", "required when client_auth is require"},
		{"min_version outside the list", "mqtt: {listeners: [{type: tls, address: ':1', tls: {cert_file: c, key_file: k, min_version: '1.0'}}]}", "mqtt.listeners[0].tls.min_version", "1.2, 1.3"},
		{"max_packet_size too small", "mqtt: {max_packet_size: 10}", "mqtt.max_packet_size", "between 64B and 268435460"},
		{"max_packet_size too large", "mqtt: {max_packet_size: 1GiB}", "mqtt.max_packet_size", "between 64B and 268435460"},
		{"zero connect_timeout", "mqtt: {connect_timeout: 0s}", "mqtt.connect_timeout", "must be positive"},
		{"zero max_keepalive", "mqtt: {max_keepalive: 0}", "mqtt.max_keepalive", "between 1 and 65535"},
		{"short max_client_id_length", "mqtt: {max_client_id_length: 10}", "mqtt.max_client_id_length", "between 23 and 65535"},
		{"max_topic_alias above 65535", "mqtt: {max_topic_alias: 70000}", "mqtt.max_topic_alias", "between 0 and 65535"},
		{"zero receive_maximum", "mqtt: {receive_maximum: 0}", "mqtt.receive_maximum", "between 1 and 65535"},
		{"zero write_timeout", "mqtt: {write_timeout: 0s}", "mqtt.write_timeout", "must be positive"},
		{"zero max_inflight", "sessions: {max_inflight: 0}", "sessions.max_inflight", "between 1 and 65535"},
		{"zero max_queued_messages", "sessions: {max_queued_messages: 0}", "sessions.max_queued_messages", "at least 1"},
		{"tiny max_queued_bytes", "sessions: {max_queued_bytes: 100}", "sessions.max_queued_bytes", "at least 1KiB"},
		{"drop_policy outside the list", "sessions: {drop_policy: drop_all}", "sessions.drop_policy", "drop_newest, drop_oldest"},
		{"negative max_session_expiry", "sessions: {max_session_expiry: -1h}", "sessions.max_session_expiry", "0 (no limit) or positive"},
		{"zero retained max_messages", "retained: {max_messages: 0}", "retained.max_messages", "at least 1"},
		{"zero retained max_payload_size", "retained: {max_payload_size: 0}", "retained.max_payload_size", "at least 1B"},
		{"acl_default outside the list", "auth: {acl_default: maybe}", "auth.acl_default", "allow, deny"},
		{"zero http timeout", "auth: {http: {timeout: 0s}}", "auth.http.timeout", "must be positive"},
		{"authn_url not http", "auth: {http: {authn_url: 'ftp://x/y'}}", "auth.http.authn_url", "http:// or https:// URL"},
		{"authz_url without host", "auth: {http: {authz_url: 'http://'}}", "auth.http.authz_url", "http:// or https:// URL"},
		{"negative sys interval", "sys: {interval: -1s}", "sys.interval", "0 (disabled) or positive"},
		{"gc_percent too low", "runtime: {gc_percent: 0}", "runtime.gc_percent", "between 10 and 10000"},
		{"gc_percent too high", "runtime: {gc_percent: 20000}", "runtime.gc_percent", "between 10 and 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.doc)
			}
			if !hasLine(err.Error(), tc.key+": ") {
				t.Errorf("error does not name %s at the start of a line:\n%v", tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.allowed) {
				t.Errorf("error does not say %q:\n%v", tc.allowed, err)
			}
		})
	}
}

func hasLine(msg, prefix string) bool {
	for line := range strings.SplitSeq(msg, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

func TestValidateReportsEveryErrorAtOnce(t *testing.T) {
	_, err := conf.Parse([]byte("log: {level: loud}\nsessions: {drop_policy: never}\nsys: {interval: -1s}\n"))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, key := range []string{"log.level: ", "sessions.drop_policy: ", "sys.interval: "} {
		if !hasLine(err.Error(), key) {
			t.Errorf("error misses %s\n%v", key, err)
		}
	}
}

func TestUnknownKeyNamesFullPathAndAllowedKeys(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      string // the whole first line of the error
	}{
		{"top level", "node: a\nlisteners: []\n",
			"listeners: unknown key; allowed keys here are: node, log, broker, mqtt, sessions, retained, auth, sys, debug, runtime, storage, mqttsn, bridges, http, coap, stomp (line 2)"},
		{"nested", "mqtt:\n  max_packet: 1MiB\n",
			"mqtt.max_packet: unknown key; allowed keys here are: listeners, max_packet_size, connect_timeout, max_keepalive, max_client_id_length, max_topic_alias, receive_maximum, write_timeout (line 2)"},
		{"in the broker section", "broker:\n  max_topics: 5\n",
			"broker.max_topics: unknown key; allowed keys here are: max_topic_levels, shared_subscription_strategy, max_subscriptions (line 2)"},
		{"inside a listener list element", "mqtt:\n  listeners:\n    - type: tcp\n      address: ':1'\n    - type: tcp\n      adress: ':2'\n",
			"mqtt.listeners[1].adress: unknown key; allowed keys here are: name, type, address, path, max_connections, tls (line 6)"},
		{"inside tls", "mqtt:\n  listeners:\n    - type: tls\n      address: ':1'\n      tls:\n        cert: a.pem\n",
			"mqtt.listeners[0].tls.cert: unknown key; allowed keys here are: cert_file, key_file, ca_file, client_auth, cn_as_username, min_version (line 6)"},
		{"two levels down", "auth:\n  http:\n    url: http://x\n",
			"auth.http.url: unknown key; allowed keys here are: authn_url, authz_url, timeout, cache_ttl, headers (line 3)"},
		{"in a flow mapping", "sys: {interval: 1s, enabled: true}",
			"sys.enabled: unknown key; allowed keys here are: interval (line 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.doc)
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); first != tc.want {
				t.Fatalf("error\n got %s\nwant %s", first, tc.want)
			}
		})
	}
}

func TestWrongValueTypeNamesKey(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      string
	}{
		{"word for an integer", "mqtt:\n  max_keepalive: lots\n", `mqtt.max_keepalive: "lots" is not a whole number (line 2)`},
		{"word for a boolean", "retained: {enabled: maybe}", `retained.enabled: "maybe" is not a boolean (true or false) (line 1)`},
		{"size with an unknown unit", "mqtt:\n  max_packet_size: 1XB\n", `mqtt.max_packet_size: "1XB" is not a size`},
		{"duration without a unit", "mqtt: {connect_timeout: 10}", `mqtt.connect_timeout: "10" is not a duration (e.g. 500ms, 10s, 1m30s, 2h) (line 1)`},
		{"duration inside a listener-free section", "auth: {http: {cache_ttl: soon}}", `auth.http.cache_ttl: "soon" is not a duration`},
		{"scalar for a section", "mqtt: 5", `mqtt: must be a mapping of keys, not the value "5" (line 1)`},
		{"mapping for listeners", "mqtt: {listeners: {type: tcp}}", "mqtt.listeners: must be a list, not a mapping (line 1)"},
		{"scalar for a listener", "mqtt: {listeners: [tcp]}", `mqtt.listeners[0]: must be a mapping of keys, not the value "tcp" (line 1)`},
		{"list for headers", "auth: {http: {headers: [a]}}", "auth.http.headers: must be a mapping, not a list (line 1)"},
		{"mapping for a header value", "auth:\n  http:\n    headers:\n      X-Token: {a: b}\n", "auth.http.headers.X-Token: must be a single value, not a mapping (line 4)"},
		{"list for a string", "node: [a, b]", "node: must be a single value, not a list (line 1)"},
		{"list at the top", "- a\n", "top level: must be a mapping of keys, not a list (line 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.doc)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error\n got %v\nwant prefix %s", err, tc.want)
			}
		})
	}
}

func TestTypedValuesAreNotUnknownKeys(t *testing.T) {
	// Sizes, durations, free-form header names and anchors are values, not
	// schema keys; none of them may be reported as unknown.
	c := mustParse(t, `
node: edge-1
mqtt:
  max_packet_size: 64KB
  write_timeout: &timeout 3s
  connect_timeout: *timeout
  listeners:
    - {type: tcp, address: "127.0.0.1:0"}
auth:
  http:
    authn_url: https://auth.example.com/authn
    timeout: 2s
    cache_ttl: -1s
    headers:
      Authorization: Bearer abc
      X-Custom-Header: "1"
sessions:
  max_queued_bytes: 1 MiB
  max_session_expiry: 2h
`[1:])
	if c.MQTT.MaxPacketSize != 64<<10 {
		t.Errorf("max_packet_size = %d, want %d", c.MQTT.MaxPacketSize, 64<<10)
	}
	if c.MQTT.ConnectTimeout.D() != 3*time.Second || c.MQTT.WriteTimeout.D() != 3*time.Second {
		t.Errorf("connect_timeout, write_timeout = %v, %v; want 3s, 3s", c.MQTT.ConnectTimeout.D(), c.MQTT.WriteTimeout.D())
	}
	if c.Auth.HTTP.CacheTTL.D() != -time.Second {
		t.Errorf("cache_ttl = %v, want -1s", c.Auth.HTTP.CacheTTL.D())
	}
	wantHeaders := map[string]string{"Authorization": "Bearer abc", "X-Custom-Header": "1"}
	if !reflect.DeepEqual(c.Auth.HTTP.Headers, wantHeaders) {
		t.Errorf("headers = %v, want %v", c.Auth.HTTP.Headers, wantHeaders)
	}
	if c.Sessions.MaxQueuedBytes != 1<<20 || c.Sessions.MaxExpiry.D() != 2*time.Hour {
		t.Errorf("max_queued_bytes, max_session_expiry = %d, %v; want %d, 2h", c.Sessions.MaxQueuedBytes, c.Sessions.MaxExpiry.D(), 1<<20)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"512", 512},
		{"0", 0},
		{"10B", 10},
		{"64KB", 64 << 10},
		{"64KiB", 64 << 10},
		{"1MB", 1 << 20},
		{"1MiB", 1 << 20},
		{"2GB", 2 << 30},
		{"2GiB", 2 << 30},
		{"1 MiB", 1 << 20},
		{" 16MiB ", 16 << 20},
	} {
		t.Run("accepts "+tc.in, func(t *testing.T) {
			got, err := conf.ParseSize(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"", "MiB", "1XB", "1TiB", "1kb", "1 k", "1.5MiB", "-1", "-1KB", "+5", "0x10", "1MiB2", "9999999999GiB"} {
		t.Run("rejects "+in, func(t *testing.T) {
			if got, err := conf.ParseSize(in); err == nil {
				t.Fatalf("ParseSize(%q) = %d, want an error", in, got)
			}
		})
	}
}

func TestSizeKeysAcceptUnits(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  conf.Size
	}{
		{"512", 512},
		{"64KB", 64 << 10},
		{"1MiB", 1 << 20},
		{`"2 MiB"`, 2 << 20},
	} {
		t.Run(tc.value, func(t *testing.T) {
			c := mustParse(t, "mqtt: {max_packet_size: "+tc.value+"}")
			if c.MQTT.MaxPacketSize != tc.want {
				t.Fatalf("max_packet_size = %d, want %d", c.MQTT.MaxPacketSize, tc.want)
			}
		})
	}
}

func TestDurationKeys(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"500ms", 500 * time.Millisecond},
		{"10s", 10 * time.Second},
		{"1m30s", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"0", 0},
	} {
		t.Run("accepts "+tc.value, func(t *testing.T) {
			c := mustParse(t, "sys: {interval: "+tc.value+"}")
			if got := c.Sys.Interval.D(); got != tc.want {
				t.Fatalf("sys.interval = %v, want %v", got, tc.want)
			}
		})
	}
	for _, value := range []string{"10", "soon", "1d", `""`, "10 s"} {
		t.Run("rejects "+value, func(t *testing.T) {
			_, err := conf.Parse([]byte("sys: {interval: " + value + "}"))
			if err == nil || !strings.HasPrefix(err.Error(), "sys.interval: ") || !strings.Contains(err.Error(), "is not a duration (e.g. 500ms, 10s, 1m30s, 2h)") {
				t.Fatalf("Parse(interval %s) error = %v, want a sys.interval duration error", value, err)
			}
		})
	}
}

func TestDurationMarshalsAsGoString(t *testing.T) {
	v, err := conf.Duration(90 * time.Second).MarshalYAML()
	if err != nil || v != "1m30s" {
		t.Fatalf("MarshalYAML = %v, %v; want 1m30s", v, err)
	}
}

func TestListenerListReplacesDefaults(t *testing.T) {
	c := mustParse(t, `
mqtt:
  listeners:
    - type: tcp
      address: 127.0.0.1:1884
`[1:])
	want := []conf.Listener{{Name: "tcp0", Type: "tcp", Address: "127.0.0.1:1884", MaxConnections: conf.DefaultMaxConnections}}
	if !reflect.DeepEqual(c.MQTT.Listeners, want) {
		t.Fatalf("listeners = %+v, want %+v", c.MQTT.Listeners, want)
	}
	// The rest of the mqtt section keeps its defaults.
	if c.MQTT.MaxPacketSize != conf.Default().MQTT.MaxPacketSize {
		t.Fatalf("max_packet_size = %d, want the default", c.MQTT.MaxPacketSize)
	}
}

func TestListenerDefaults(t *testing.T) {
	c := mustParse(t, `
mqtt:
  listeners:
    - {type: ws, address: ":8083"}
    - {type: wss, address: ":8084", tls: {cert_file: c.pem, key_file: k.pem}}
    - {type: ws, address: ":8085", path: /ws, name: custom, max_connections: 5}
    - {type: tcp, address: ":1883"}
`[1:])
	want := []conf.Listener{
		{Name: "ws0", Type: "ws", Address: ":8083", Path: "/mqtt", MaxConnections: conf.DefaultMaxConnections},
		{Name: "wss1", Type: "wss", Address: ":8084", Path: "/mqtt", MaxConnections: conf.DefaultMaxConnections,
			TLS: &conf.TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", ClientAuth: "none", MinVersion: "1.2"}},
		{Name: "custom", Type: "ws", Address: ":8085", Path: "/ws", MaxConnections: 5},
		{Name: "tcp3", Type: "tcp", Address: ":1883", MaxConnections: conf.DefaultMaxConnections},
	}
	if !reflect.DeepEqual(c.MQTT.Listeners, want) {
		t.Fatalf("listeners:\n got %+v\nwant %+v", c.MQTT.Listeners, want)
	}
	if got := c.MQTT.Listeners[1].TLS; !reflect.DeepEqual(got, want[1].TLS) {
		t.Fatalf("wss tls = %+v, want %+v", got, want[1].TLS)
	}
}

func TestGeneratedListenerNameAvoidsGivenNames(t *testing.T) {
	c := mustParse(t, "mqtt: {listeners: [{type: tcp, address: ':1'}, {name: tcp0, type: tcp, address: ':2'}]}")
	if a, b := c.MQTT.Listeners[0].Name, c.MQTT.Listeners[1].Name; a == b || b != "tcp0" {
		t.Fatalf("names = %q, %q; want the given tcp0 kept and a different generated name", a, b)
	}
}

func TestSecureListenerNeedsCertAndKey(t *testing.T) {
	for _, tc := range []struct {
		name, listener string
		key            string
	}{
		{"tls without a tls section", "{type: tls, address: ':8883'}", "mqtt.listeners[0].tls: "},
		{"wss without a tls section", "{type: wss, address: ':8084'}", "mqtt.listeners[0].tls: "},
		{"tls with an empty tls section", "{type: tls, address: ':8883', tls: {}}", "mqtt.listeners[0].tls.cert_file: "},
		{"tls without key_file", "{type: tls, address: ':8883', tls: {cert_file: c.pem}}", "mqtt.listeners[0].tls.key_file: "},
		{"wss without cert_file", "{type: wss, address: ':8084', tls: {key_file: k.pem}}", "mqtt.listeners[0].tls.cert_file: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte("mqtt: {listeners: [" + tc.listener + "]}"))
			if err == nil || !hasLine(err.Error(), tc.key) || !strings.Contains(err.Error(), "is required") {
				t.Fatalf("error = %v, want one starting %q that says what is required", err, tc.key)
			}
		})
	}
	c := mustParse(t, "mqtt: {listeners: [{type: tls, address: ':8883', tls: {cert_file: c.pem, key_file: k.pem, ca_file: ca.pem, client_auth: require, min_version: '1.3', cn_as_username: true}}]}")
	want := &conf.TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", CAFile: "ca.pem", ClientAuth: "require", CNAsUsername: true, MinVersion: "1.3"}
	if got := c.MQTT.Listeners[0].TLS; !reflect.DeepEqual(got, want) {
		t.Fatalf("tls = %+v, want %+v", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing file", func(t *testing.T) {
		_, err := conf.Load(filepath.Join(dir, "nope.yaml"))
		if err == nil || !strings.Contains(err.Error(), "read config") {
			t.Fatalf("Load(missing) = %v, want a read config error", err)
		}
	})
	t.Run("error names the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(path, []byte("mqtt:\n  bogus: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := conf.Load(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "mqtt.bogus: unknown key") {
			t.Fatalf("Load(bad) = %v, want the path and mqtt.bogus", err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(dir, "empty.yaml")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := conf.Load(path)
		if err != nil || !reflect.DeepEqual(c, validDefault(t)) {
			t.Fatalf("Load(empty) = %+v, %v; want defaults", c, err)
		}
	})
}

func TestExampleConfigIsTheDefaults(t *testing.T) {
	// mqgate.example.yaml spells out every default; the commented-out
	// examples are the only deliberate differences.
	c, err := conf.Load("mqgate.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := validDefault(t); !reflect.DeepEqual(c, want) {
		t.Fatalf("example config differs from the defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("mqgate.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A key counts as documented when it appears as "key:" or as a word in
	// the listener description, set or commented out.
	text := string(data)
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue // not a key (Config.Warnings)
			}
			key := name
			if path != "" {
				key = path + "." + name
			}
			if !strings.Contains(text, " "+name+":") && !strings.Contains(text, "\n"+name+":") {
				t.Errorf("mqgate.example.yaml does not document %s", key)
			}
			walk(f.Type, key)
		}
	}
	walk(reflect.TypeFor[conf.Config](), "")
	for _, want := range []string{"type: tls", "type: wss", "password_file: /", "acl_file: /", "authn_url: https://", "authz_url: https://"} {
		if !strings.Contains(text, want) {
			t.Errorf("mqgate.example.yaml has no example of %q", want)
		}
	}
}

// commentedYAML matches a commented-out line of YAML in the example, such
// as "    # - name: tls" or "  # acl_file: /etc/mqgate/acl"; prose comments
// never start with "key:".
var commentedYAML = regexp.MustCompile(`(?m)^([ ]*)# ([ ]*(?:- )?[A-Za-z][A-Za-z0-9_-]*:(?:[ ].*)?)$`)

func TestExampleConfigCommentedExamplesLoad(t *testing.T) {
	data, err := os.ReadFile("mqgate.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := commentedYAML.ReplaceAllString(string(data), "$1$2")
	c, err := conf.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("the example with its commented-out settings enabled does not load: %v\n%s", err, doc)
	}
	var types []string
	for _, l := range c.MQTT.Listeners {
		types = append(types, l.Type)
	}
	if got, want := strings.Join(types, ","), "tcp,ws,tls,wss"; got != want {
		t.Errorf("listener types = %s, want %s", got, want)
	}
	if wss := c.MQTT.Listeners[3]; wss.TLS == nil || wss.TLS.ClientAuth != "require" || wss.Path != "/mqtt" {
		t.Errorf("wss listener = %+v", wss)
	}
	a := c.Auth
	if a.PasswordFile == "" || a.ACLFile == "" || a.HTTP.AuthnURL == "" || a.HTTP.AuthzURL == "" || len(a.HTTP.Headers) != 2 {
		t.Errorf("auth = %+v, want password_file, acl_file, both URLs and two headers set", a)
	}
}
