package gateway_test

import (
	"context"
	"fmt"
	"net/url"
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

type banJSON struct {
	As, Who, Reason string
	Until           *time.Time
	Kicked          int
}

// TestAPIPeerHostBanRefusesAndKicks bans the test's own address through
// the API, by IP and by CIDR: the connected client it matches is kicked
// (and counted), a new one is refused at connect while the ban holds, the
// list keeps the reason, and once the ban is removed clients connect.
func TestAPIPeerHostBanRefusesAndKicks(t *testing.T) {
	for _, tc := range []struct{ name, who string }{
		{"by IP", "127.0.0.1"},
		{"by CIDR", "127.0.0.0/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, a := startAPIGateway(t)
			_, _, lost := mqttClient(t, g, "victim", "", true)
			var ban banJSON
			body := fmt.Sprintf(`{"as": "peerhost", "who": %q, "reason": "scanning ports"}`, tc.who)
			if code := a.call("POST", "/api/v1/banned", body, &ban); code != 200 || ban.As != "peerhost" || ban.Who != tc.who || ban.Kicked != 1 {
				t.Fatalf("ban = %d %+v, want the ban with kicked 1", code, ban)
			}
			select {
			case <-lost:
			case <-time.After(5 * time.Second):
				t.Fatal("the connected client the ban matches was not kicked")
			}
			if err := connectErr(g, "newcomer"); err == nil {
				t.Fatal("a client from a banned address connected")
			}
			var list struct{ Data []banJSON }
			if a.call("GET", "/api/v1/banned", "", &list); len(list.Data) != 1 || list.Data[0].Who != tc.who || list.Data[0].Reason != "scanning ports" || list.Data[0].Until != nil {
				t.Errorf("list = %+v, want the ban with its reason and no expiry", list.Data)
			}
			path := "/api/v1/banned/peerhost/" + url.PathEscape(tc.who)
			if code := a.call("DELETE", path, "", nil); code != 204 {
				t.Fatalf("remove = %d", code)
			}
			if err := connectErr(g, "newcomer"); err != nil {
				t.Fatalf("refused after the ban was removed: %v", err)
			}
			if code := a.call("DELETE", path, "", nil); code != 404 {
				t.Errorf("remove again = %d, want 404", code)
			}
		})
	}
}

// TestAPIBanLapsesAtItsExpiry: a ban with until refuses the client until
// then, and lets it connect after; the lapsed ban leaves the list.
func TestAPIBanLapsesAtItsExpiry(t *testing.T) {
	g, a := startAPIGateway(t)
	until := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	var ban banJSON
	body := fmt.Sprintf(`{"as": "clientid", "who": "temp", "until": %q}`, until.Format(time.RFC3339))
	if code := a.call("POST", "/api/v1/banned", body, &ban); code != 200 || ban.Until == nil || !ban.Until.Equal(until) || ban.Kicked != 0 {
		t.Fatalf("ban = %d %+v, want until %s", code, ban, until)
	}
	if err := connectErr(g, "temp"); err == nil && time.Now().Before(until) {
		t.Fatal("the banned client connected before the ban lapsed")
	}
	var err error
	for deadline := until.Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = connectErr(g, "temp"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("still refused after the ban lapsed: %v", err)
	}
	if time.Now().Before(until) {
		t.Fatal("the client connected before the ban lapsed")
	}
	var list struct{ Data []banJSON }
	if a.call("GET", "/api/v1/banned", "", &list); len(list.Data) != 0 {
		t.Errorf("list = %+v, want the lapsed ban gone", list.Data)
	}
}
