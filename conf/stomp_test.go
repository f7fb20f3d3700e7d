package conf_test

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestSTOMP(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // "" for valid
		check   func(t *testing.T, c *conf.Config)
	}{
		{"off by default on :61613",
			"", "",
			func(t *testing.T, c *conf.Config) {
				if c.STOMP.Enabled || c.STOMP.Listeners[0].Address != ":61613" || c.STOMP.Destinations != "mqtt" {
					t.Fatalf("%+v", c.STOMP)
				}
			}},
		{"a ws listener gets /stomp",
			"stomp:\n  enabled: true\n  listeners:\n    - type: ws\n      address: ':15674'\n  destinations: rabbitmq\n", "",
			func(t *testing.T, c *conf.Config) {
				l := c.STOMP.Listeners[0]
				if l.Path != "/stomp" || l.Name != "stomp-ws0" || c.STOMP.Destinations != "rabbitmq" {
					t.Fatalf("%+v", l)
				}
			}},
		{"a sockjs listener with its origins",
			"stomp:\n  listeners:\n    - type: sockjs\n      address: ':15674'\n      allowed_origins: ['https://app.example']\n", "",
			func(t *testing.T, c *conf.Config) {
				l := c.STOMP.Listeners[0]
				if l.Path != "/stomp" || len(l.AllowedOrigins) != 1 {
					t.Fatalf("%+v", l)
				}
			}},
		{"origins only on sockjs",
			"stomp:\n  listeners:\n    - type: ws\n      address: ':15674'\n      allowed_origins: ['*']\n",
			"stomp.listeners[0].allowed_origins: is only allowed on sockjs listeners", nil},
		{"an origin is scheme://host",
			"stomp:\n  listeners:\n    - type: sockjs\n      address: ':15674'\n      allowed_origins: ['app.example']\n",
			"is not an origin", nil},
		{"an unknown destination mode",
			"stomp:\n  destinations: activemq\n",
			`stomp.destinations: "activemq" is not one of: mqtt, rabbitmq`, nil},
		{"a tls listener needs its certificate",
			"stomp:\n  listeners:\n    - type: tls\n      address: ':61614'\n",
			"stomp.listeners[0].tls: cert_file and key_file are required", nil},
		{"enabled without listeners",
			"stomp:\n  enabled: true\n  listeners: []\n",
			"stomp.listeners: at least one listener is required", nil},
		{"limits take units",
			"stomp:\n  max_frame_size: 64KiB\n  max_header_length: 1KiB\n", "",
			func(t *testing.T, c *conf.Config) {
				if c.STOMP.MaxFrameSize != 64<<10 || c.STOMP.MaxHeaderLength != 1<<10 {
					t.Fatalf("%+v", c.STOMP)
				}
			}},
		{"a sockjs listener may serve HTTPS",
			"stomp:\n  listeners:\n    - type: sockjs\n      address: ':15675'\n      tls: {cert_file: c, key_file: k}\n", "",
			func(t *testing.T, c *conf.Config) {
				if c.STOMP.Listeners[0].TLS == nil {
					t.Fatal("no tls")
				}
			}},
		{"tls only on tls, wss and sockjs",
			"stomp:\n  listeners:\n    - type: tcp\n      address: ':61613'\n      tls: {cert_file: c, key_file: k}\n",
			"stomp.listeners[0].tls: is only allowed on tls, wss and sockjs listeners", nil},
		{"heart_beat may be 0, not negative",
			"stomp:\n  heart_beat: -1s\n",
			"stomp.heart_beat: must be 0 (none) or positive", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := conf.Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestSTOMPShareNamesAnMQTTWebSocketListener(t *testing.T) {
	base := "mqtt: {listeners: [{name: ws, type: ws, address: ':8083'}, {name: tcp, type: tcp, address: ':1883'}]}\n"
	ok := base + "stomp: {enabled: true, listeners: [{name: s, type: ws, share: ws, path: /stomp}]}"
	if _, err := conf.Parse([]byte(ok)); err != nil {
		t.Fatalf("a share of the ws listener: %v", err)
	}
	for _, tc := range []struct{ listener, want string }{
		{"{name: s, type: ws, share: nope}", `there is no MQTT listener named "nope"`},
		{"{name: s, type: tcp, share: ws}", "only a ws or wss listener"},
		{"{name: s, type: wss, share: ws}", `MQTT listener "ws" is ws, not wss`},
		{"{name: s, type: ws, share: ws, path: /mqtt}", "the MQTT listener's own path"},
		{"{name: s, type: ws, share: ws, address: ':9'}", "leave them out"},
	} {
		_, err := conf.Parse([]byte(base + "stomp: {enabled: true, listeners: [" + tc.listener + "]}"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.listener, err, tc.want)
		}
	}
}
