package conf_test

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestMQTTSNSocketBufferAndAdvertise(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // "" for valid
		check   func(t *testing.T, c *conf.Config)
	}{
		{"a listener without socket_buffer gets the default",
			"mqttsn:\n  listeners:\n    - type: udp\n      address: ':1884'\n", "",
			func(t *testing.T, c *conf.Config) {
				if got := c.MQTTSN.Listeners[0].SocketBuffer; got != conf.DefaultMQTTSNSocketBuffer {
					t.Fatalf("socket_buffer %d", got)
				}
			}},
		{"socket_buffer takes units",
			"mqttsn:\n  listeners:\n    - type: dtls\n      address: ':1885'\n      socket_buffer: 16MiB\n      dtls: {psk: {d: '00ff'}}\n", "",
			func(t *testing.T, c *conf.Config) {
				if got := c.MQTTSN.Listeners[0].SocketBuffer; got != 16<<20 {
					t.Fatalf("socket_buffer %d", got)
				}
			}},
		{"socket_buffer too small",
			"mqttsn:\n  listeners:\n    - type: udp\n      address: ':1884'\n      socket_buffer: 1KiB\n",
			"mqttsn.listeners[0].socket_buffer: must be between 8KiB and 1GiB", nil},
		{"advertise on an interface takes the port of advertise_address",
			"mqttsn:\n  advertise_interval: 30s\n  advertise_interface: eth0\n  advertise_address: ':1884'\n", "",
			func(t *testing.T, c *conf.Config) {
				if c.MQTTSN.AdvertiseInterface != "eth0" {
					t.Fatalf("advertise_interface %q", c.MQTTSN.AdvertiseInterface)
				}
			}},
		{"advertise without an interface needs a host",
			"mqttsn:\n  advertise_interval: 30s\n  advertise_address: ':1884'\n",
			"mqttsn.advertise_address: needs a host unless advertise_interface is set", nil},
		{"advertise_interface is a name",
			"mqttsn:\n  advertise_interface: 'eth0:1884'\n",
			"mqttsn.advertise_interface: ", nil},
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
