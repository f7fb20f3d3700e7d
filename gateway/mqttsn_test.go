package gateway

import (
	"context"
	"slices"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestMQTTSNOffByDefaultAndStartsWhenEnabled(t *testing.T) {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	cfg.Storage.Type = "memory" // never the repository's ./data
	cfg.HTTP.Address = ""
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); !slices.Equal(got, []string{"mqtt"}) {
		t.Fatalf("adapters %q, want only mqtt: mqttsn is not enabled", got)
	}
	cfg.MQTTSN.Enabled = true
	cfg.MQTTSN.Listeners = []conf.MQTTSNListener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}}
	cfg.MQTTSN.PredefinedTopics = map[string]string{"5": "pre/five"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); !slices.Equal(got, []string{"mqtt", "mqtt-sn"}) {
		t.Fatalf("adapters %q, want mqtt then mqtt-sn", got)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := g.Addrs("mqtt-sn")["udp"]; a == nil {
		t.Fatal("no udp listener")
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDTLSSetupDecodesKeys(t *testing.T) {
	if dtlsSetup(nil) != nil {
		t.Fatal("no dtls block must give no DTLS setup")
	}
	d := dtlsSetup(&conf.DTLSConfig{CertFile: "c.pem", KeyFile: "k.pem", ClientAuth: "require",
		PSK: map[string]string{"sensor-1": "00ff10"}, PSKIdentityHint: "mqgate"})
	if d.CertFile != "c.pem" || d.KeyFile != "k.pem" || d.ClientAuth != "require" || d.PSKIdentityHint != "mqgate" {
		t.Fatalf("fields not carried over: %+v", d)
	}
	if k := d.PSK["sensor-1"]; string(k) != "\x00\xff\x10" {
		t.Fatalf("psk key = %x, want 00ff10", k)
	}
}
