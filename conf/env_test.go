package conf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

func TestApplyEnvSetsEveryKindOfKey(t *testing.T) {
	c := conf.Default()
	err := conf.ApplyEnv(c, []string{
		"MQGATE_NODE=edge-7",
		"MQGATE_MQTT__MAX_PACKET_SIZE=2MiB",
		"MQGATE_MQTT__CONNECT_TIMEOUT=3s",
		"MQGATE_AUTH__ALLOW_ANONYMOUS=false",
		"MQGATE_AUTH__HTTP__HEADERS={x-api: k}",
		`MQGATE_MQTT__LISTENERS=[{type: tcp, address: ":1999"}]`,
		"MQGATE_HTTP__ADDRESS=",
		"MQGATE_URL=http://elsewhere:18083", // mqgate ctl's, not a key
		"HOME=/root",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "edge-7" || c.MQTT.MaxPacketSize != 2<<20 || c.MQTT.ConnectTimeout.D() != 3*time.Second || c.Auth.AllowAnonymous ||
		c.Auth.HTTP.Headers["x-api"] != "k" || len(c.MQTT.Listeners) != 1 || c.MQTT.Listeners[0].Address != ":1999" ||
		c.MQTT.Listeners[0].Name != "tcp0" || c.HTTP.Address != "" {
		t.Fatalf("config after ApplyEnv = %+v", c)
	}
}

func TestApplyEnvNamesTheVariableAtFault(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"MQGATE_MQTT__MAX_PAKET_SIZE=1", `MQGATE_MQTT__MAX_PAKET_SIZE: mqtt.max_paket_size: unknown key "max_paket_size"; allowed keys here are: listeners, max_packet_size`},
		{"MQGATE_MQTT__MAX_PACKET_SIZE=lots", "MQGATE_MQTT__MAX_PACKET_SIZE: mqtt.max_packet_size: \"lots\" is not a size"},
		{"MQGATE_AUTH__ALLOW_ANONYMOUS=perhaps", "MQGATE_AUTH__ALLOW_ANONYMOUS: auth.allow_anonymous: \"perhaps\" is not a boolean"},
		{"MQGATE_NODE__X=1", "MQGATE_NODE__X: node.x: \"x\" is below a key that is not a mapping"},
		{"MQGATE_HTTP__ADDRESS=:18083", "http.api_key_file: is required"},
	} {
		err := conf.ApplyEnv(conf.Default(), []string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.env, err, tc.want)
		}
	}
}
