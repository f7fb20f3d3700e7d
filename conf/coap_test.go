package conf_test

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestCoAPSection(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // "" for valid
		check   func(t *testing.T, c *conf.Config)
	}{
		{"off by default with a udp listener on 5683",
			"", "",
			func(t *testing.T, c *conf.Config) {
				if c.CoAP.Enabled || c.CoAP.Listeners[0].Address != ":5683" || c.CoAP.ConQoS != 1 || c.CoAP.ObserveQueue != "latest" {
					t.Fatalf("defaults %+v", c.CoAP)
				}
			}},
		{"a dtls listener with psk",
			"coap:\n  enabled: true\n  listeners:\n    - type: dtls\n      address: ':5684'\n      dtls: {psk: {dev1: '00ff'}}\n", "",
			func(t *testing.T, c *conf.Config) {
				if l := c.CoAP.Listeners[0]; l.Name != "coap-dtls0" || l.DTLS.PSK["dev1"] != "00ff" {
					t.Fatalf("listener %+v", l)
				}
			}},
		{"connection ids off and a handshake bound",
			"coap:\n  listeners:\n    - type: dtls\n      address: ':5684'\n      dtls: {psk: {dev1: '00ff'}, connection_id: false, max_handshakes: 64}\n", "",
			func(t *testing.T, c *conf.Config) {
				if d := c.CoAP.Listeners[0].DTLS; d.ConnectionID == nil || *d.ConnectionID || d.MaxHandshakes != 64 {
					t.Fatalf("dtls %+v", d)
				}
			}},
		{"a negative handshake bound",
			"coap:\n  listeners:\n    - type: dtls\n      address: ':5684'\n      dtls: {psk: {dev1: '00ff'}, max_handshakes: -1}\n",
			"coap.listeners[0].dtls.max_handshakes: -1 is not between 0 (the default, 256) and 1048576", nil},
		{"dtls without credentials",
			"coap:\n  listeners:\n    - type: dtls\n      address: ':5684'\n",
			"coap.listeners[0].dtls: is required for a dtls listener", nil},
		{"unknown listener type",
			"coap:\n  listeners:\n    - type: tcp\n      address: ':5683'\n",
			"coap.listeners[0].type: \"tcp\" is not one of: udp, dtls", nil},
		{"con_qos out of range",
			"coap:\n  con_qos: 3\n", "coap.con_qos: must be 0, 1 or 2", nil},
		{"observe_queue unknown",
			"coap:\n  observe_queue: newest\n", "coap.observe_queue: \"newest\" is not one of: latest, all", nil},
		{"mountpoint with a wildcard",
			"coap:\n  mountpoint: 'a/+/'\n", "coap.mountpoint: must not contain '+' or '#'", nil},
		{"max_message_size over a UDP datagram",
			"coap:\n  max_message_size: 70000\n", "coap.max_message_size: must be between 64B and 65507B", nil},
		{"unknown key",
			"coap:\n  listener: []\n", "coap.listener: unknown key", nil},
		{"connection_required",
			"coap:\n  connection_required: true\n", "",
			func(t *testing.T, c *conf.Config) {
				if !c.CoAP.ConnectionRequired {
					t.Fatal("connection_required not set")
				}
			}},
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
