package gateway

import (
	"context"
	"slices"
	"testing"
	"time"

	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/conf"
)

func TestSTOMPOffByDefaultAndServesWhenEnabled(t *testing.T) {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	cfg.Storage.Type = "memory"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); slices.Contains(got, "stomp") {
		t.Fatalf("adapters %q: stomp is not enabled", got)
	}
	cfg.STOMP.Enabled = true
	cfg.STOMP.Listeners = []conf.STOMPListener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapterNames(g); !slices.Contains(got, "stomp") {
		t.Fatalf("adapters %q, want stomp", got)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	c, err := gostomp.Dial("tcp", g.Addrs("stomp")["tcp"].String())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe("g/1", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send("g/1", "text/plain", []byte("hi"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C:
		if m.Err != nil || string(m.Body) != "hi" {
			t.Fatalf("got %v %q", m.Err, m.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no MESSAGE")
	}
	c.Disconnect()
}
