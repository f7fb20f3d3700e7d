package gateway_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/gateway"
)

// connectErr connects a client named id and returns the connect error.
func connectErr(g *gateway.Gateway, id string) error {
	c := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return fmt.Errorf("connect %s: no CONNACK", id)
	}
	if tok.Error() == nil {
		c.Disconnect(0)
	}
	return tok.Error()
}

// TestBanFileAppliesAndReloads: auth.ban_file's bans refuse clients from
// the start; a reload (SIGHUP) adds the new ones, closing the connections
// they match, lifts those the file no longer has, and keeps the previous
// bans when the file has an error.
func TestBanFileAppliesAndReloads(t *testing.T) {
	dir := t.TempDir()
	bans := filepath.Join(dir, "bans")
	write := func(s string) {
		if err := os.WriteFile(bans, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# kind value until reason\nclientid bad - a leaked key\nusername mallory 2099-01-01T00:00:00Z\n")
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, auth: {allow_anonymous: true, ban_file: %q},
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, bans))
	if err := connectErr(g, "bad"); err == nil {
		t.Fatal("a client the ban file names connected")
	}
	_, _, lost := mqttClient(t, g, "good", "", true)

	write("clientid good - now banned\n")
	if err := g.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("a connected client a reloaded ban names was not disconnected")
	}
	if err := connectErr(g, "bad"); err != nil {
		t.Fatalf("a ban the file no longer has still refuses: %v", err)
	}
	if err := connectErr(g, "good"); err == nil {
		t.Fatal("a client the reloaded file names connected")
	}

	write("clientid\n")
	if err := g.Reload(context.Background()); err == nil {
		t.Fatal("a ban file with an error reloaded without an error")
	}
	if err := connectErr(g, "good"); err == nil {
		t.Fatal("a ban file with an error lifted the bans in force")
	}
	for _, b := range g.Broker.Bans() {
		if b.Value == "good" && b.Reason != "now banned" {
			t.Fatalf("ban %+v", b)
		}
	}
}
