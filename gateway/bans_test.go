package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/gateway"
)

// tryConnect connects a paho client and returns the error, nil when it
// got in (it is then disconnected).
func tryConnect(g *gateway.Gateway, id, user string) error {
	o := paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(id).SetUsername(user).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho3.NewClient(o)
	tok := c.Connect()
	tok.WaitTimeout(5 * time.Second)
	if tok.Error() == nil {
		c.Disconnect(0)
	}
	return tok.Error()
}

type banJSON struct {
	As, Who, Reason string
	Kicked          int
}

func TestBanKicksAndRefusesUntilRemoved(t *testing.T) {
	g, a := startAPIGateway(t)
	_, _, lost := mqttClient(t, g, "rogue", "mallory", false)
	var b banJSON
	if code := a.call("POST", "/api/v1/banned", `{"as": "clientid", "who": "rogue", "reason": "flooding"}`, &b); code != 200 || b.Kicked != 1 {
		t.Fatalf("ban = %d %+v", code, b)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the banned client is still connected")
	}
	if err := tryConnect(g, "rogue", ""); err == nil {
		t.Fatal("a banned client id connected")
	}
	if err := tryConnect(g, "other", "mallory"); err != nil {
		t.Fatalf("another client of the same user was refused: %v", err)
	}
	var list struct{ Data []banJSON }
	if a.call("GET", "/api/v1/banned", "", &list); len(list.Data) != 1 || list.Data[0].Reason != "flooding" {
		t.Errorf("list = %+v", list)
	}
	if code := a.call("DELETE", "/api/v1/banned/clientid/rogue", "", nil); code != 204 {
		t.Fatalf("unban = %d", code)
	}
	if err := tryConnect(g, "rogue", ""); err != nil {
		t.Fatalf("an unbanned client was refused: %v", err)
	}

	// A username, and a CIDR covering every loopback peer.
	a.call("POST", "/api/v1/banned", `{"as": "username", "who": "mallory"}`, nil)
	if err := tryConnect(g, "x", "mallory"); err == nil {
		t.Error("a banned username connected")
	}
	a.call("POST", "/api/v1/banned", `{"as": "peerhost", "who": "127.0.0.0/8"}`, nil)
	if err := tryConnect(g, "y", ""); err == nil {
		t.Error("a client from a banned network connected")
	}
	if code := a.call("DELETE", "/api/v1/banned/peerhost/"+url.PathEscape("127.0.0.0/8"), "", nil); code != 204 {
		t.Errorf("unban CIDR = %d", code)
	}
	if err := tryConnect(g, "y", ""); err != nil {
		t.Errorf("refused after the network's ban was removed: %v", err)
	}
	if code := a.call("DELETE", "/api/v1/banned/peerhost/"+url.PathEscape("127.0.0.0/8"), "", nil); code != 404 {
		t.Errorf("unban twice = %d, want 404", code)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"as": "ip", "who": "1.2.3.4"}`, "as"},
		{`{"as": "clientid"}`, "who"},
		{`{"as": "peerhost", "who": "not-an-ip"}`, "who"},
		{`{"as": "clientid", "who": "x", "until": "tomorrow"}`, "until"},
		{`{"as": "clientid", "who": "x", "until": "2001-01-01T00:00:00Z"}`, "until"},
	} {
		var e apiErr
		if code := a.call("POST", "/api/v1/banned", tc.body, &e); code != 400 || e.Field != tc.field {
			t.Errorf("%s = %d %+v, want 400 naming %s", tc.body, code, e, tc.field)
		}
	}
}

func TestBansSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{storage: {dir: %q}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, dir)
	g := start(t, cfg)
	if code := newAPI(t, g).call("POST", "/api/v1/banned", `{"as": "clientid", "who": "rogue", "until": "2099-01-01T00:00:00Z"}`, nil); code != 200 {
		t.Fatalf("ban = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	g2 := start(t, cfg)
	var list struct{ Data []banJSON }
	if newAPI(t, g2).call("GET", "/api/v1/banned", "", &list); len(list.Data) != 1 || list.Data[0].Who != "rogue" {
		t.Fatalf("bans after a restart = %+v", list)
	}
	if err := tryConnect(g2, "rogue", ""); err == nil {
		t.Error("the ban is not enforced after a restart")
	}
}
