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
