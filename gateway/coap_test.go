package gateway

import (
	"context"
	"slices"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestCoAPOffByDefaultAndStartsWhenEnabled(t *testing.T) {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	cfg.Storage.Type = "memory" // never the repository's ./data
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); slices.Contains(got, "coap") {
		t.Fatalf("adapters %q: coap is not enabled", got)
	}
	cfg.CoAP.Enabled = true
	cfg.CoAP.Listeners = []conf.CoAPListener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); !slices.Equal(got, []string{"mqtt", "coap"}) {
		t.Fatalf("adapters %q, want mqtt then coap", got)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := g.Addrs("coap")["udp"]; a == nil {
		t.Fatal("no udp listener")
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
