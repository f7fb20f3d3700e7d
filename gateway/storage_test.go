package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/store/pebble"
	"github.com/mqgate/mqgate/gateway"
)

func storageConfig(t *testing.T, dir string) *conf.Config {
	t.Helper()
	cfg, err := conf.Parse([]byte(fmt.Sprintf("sys: {interval: 0s}\nhttp: {address: \"\"}\nstorage: {dir: %q}\nmqtt: {listeners: [{name: tcp, type: tcp, address: \"127.0.0.1:0\"}]}\n", dir)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func stop(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestGatewayRestartKeepsPersistentSessions: a persistent subscriber's
// subscription and the QoS 1 message queued for it while offline, and a
// retained message, survive a gateway restart on the same data directory.
func TestGatewayRestartKeepsPersistentSessions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g, err := gateway.New(storageConfig(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts := func(g *gateway.Gateway, id string) *paho3.ClientOptions {
		return paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(id).
			SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	}
	wait := func(tok paho3.Token) {
		t.Helper()
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("token: %v", tok.Error())
		}
	}
	sub := paho3.NewClient(opts(g, "sub"))
	wait(sub.Connect())
	wait(sub.Subscribe("kept/#", 1, nil))
	sub.Disconnect(100)
	pub := paho3.NewClient(opts(g, "pub"))
	wait(pub.Connect())
	wait(pub.Publish("kept/a", 1, false, "queued"))
	wait(pub.Publish("kept/r", 1, true, "retained"))
	pub.Disconnect(100)
	stop(t, g)

	g, err = gateway.New(storageConfig(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, g)
	if n, r := g.Broker.SubscriptionCount(), g.Broker.RetainedCount(); n != 1 || r != 1 {
		t.Fatalf("after restart %d subscriptions and %d retained messages, want 1 and 1", n, r)
	}
	got := make(chan string, 4)
	o := opts(g, "sub").SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) { got <- string(m.Payload()) })
	sub = paho3.NewClient(o)
	wait(sub.Connect())
	defer sub.Disconnect(100)
	for _, want := range []string{"queued", "retained"} {
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("got %q, want %q", p, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q not delivered after restart", want)
		}
	}
}

// TestGatewayRefusesUnusableDataDir: a data directory the store cannot use
// stops startup with the store's message, naming the directory and what to
// do, and is left as it was. Only an unreadable store is to be moved aside.
func TestGatewayRefusesUnusableDataDir(t *testing.T) {
	cases := []struct {
		name  string
		sub   string // the data directory below the test's directory
		files map[string]string
		kind  error
		want  string
	}{
		{"corrupt manifest", "", map[string]string{"CURRENT": "MANIFEST-000001\n", "MANIFEST-000001": "not a manifest"},
			pebble.ErrUnreadable, "move it aside"},
		{"not a data directory", "", map[string]string{"notes.txt": "mine"}, pebble.ErrNotStore, "is not an mqgate data directory"},
		{"parent missing", "usb/data", nil, pebble.ErrParentMissing, "usb does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, tc.sub)
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := gateway.New(storageConfig(t, dir), nil)
			if err == nil || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want %q naming %s and saying %q", err, tc.kind, dir, tc.want)
			}
			if aside := strings.Contains(err.Error(), "aside"); aside != (tc.kind == pebble.ErrUnreadable) {
				t.Errorf("New = %v: advises moving the directory aside: %v", err, aside)
			}
			for name, body := range tc.files {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != body {
					t.Fatalf("%s changed: %q %v", name, b, err)
				}
			}
			if tc.files == nil {
				if names, err := os.ReadDir(base); err != nil || len(names) != 0 {
					t.Fatalf("New left %v (%v) in %s", names, err, base)
				}
			}
		})
	}
}

// TestGatewayRefusesDataDirInUse: a second gateway on the data directory
// of a running one is refused without advice to move the directory, and
// the first one's stop releases it for the next start.
func TestGatewayRefusesDataDirInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g, err := gateway.New(storageConfig(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = gateway.New(storageConfig(t, dir), nil)
	if err == nil || !errors.Is(err, pebble.ErrInUse) || !strings.Contains(err.Error(), dir+" is ") ||
		strings.Contains(err.Error(), "aside") {
		t.Fatalf("second New = %v, want %q naming %s and no advice to move it", err, pebble.ErrInUse, dir)
	}
	stop(t, g)
	g, err = gateway.New(storageConfig(t, dir), nil)
	if err != nil {
		t.Fatalf("New after the first gateway stopped: %v", err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop(t, g)
}
