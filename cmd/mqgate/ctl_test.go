package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/httpapi"
)

// startGateway starts a gateway on the configuration yaml and stops it
// when the test ends.
func startGateway(t *testing.T, yaml string) *gateway.Gateway {
	t.Helper()
	cfg, err := conf.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Stop(ctx)
	})
	return g
}

// ctlGateway starts a gateway whose API needs the key it returns as
// NAME:SECRET, and an MQTT client "dev" subscribed to dev/#.
func ctlGateway(t *testing.T) (base, key string, msgs chan paho3.Message, lost chan struct{}) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "api_keys")
	secret, err := httpapi.CreateKey(keyFile, "ops")
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0", api_key_file: %q}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, keyFile))
	msgs, lost = make(chan paho3.Message, 8), make(chan struct{}, 1)
	o := paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID("dev").SetUsername("alice").
		SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(paho3.Client, error) { lost <- struct{}{} })
	c := paho3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	if tok := c.Subscribe("dev/#", 1, func(_ paho3.Client, m paho3.Message) { msgs <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return "http://" + g.HTTPAddr().String(), "ops:" + secret, msgs, lost
}

func TestCtlTalksToTheAPI(t *testing.T) {
	base, key, msgs, lost := ctlGateway(t)
	ctl := func(args ...string) (int, string, string) {
		t.Helper()
		return invoke(t, "", append([]string{"ctl", args[0], "-url", base, "-key", key}, args[1:]...)...)
	}

	if code, out, errOut := ctl("health", "-ready"); code != 0 || out != "ok\n" {
		t.Errorf("health -ready: exit %d %s%s", code, out, errOut)
	}
	code, out, errOut := ctl("status")
	if code != 0 || !regexp.MustCompile(`(?m)^mqtt +tcp +127\.0\.0\.1:\d+ +1$`).MatchString(out) || !strings.Contains(out, "node") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = ctl("clients")
	if code != 0 || !regexp.MustCompile(`(?m)^CLIENTID +USERNAME.*\ndev +alice +mqtt 4 +yes +127\.0\.0\.1:\d+ +1 +0 +0$`).MatchString(out) {
		t.Errorf("clients: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = ctl("clients", "-json", "-user", "alice")
	var list []struct{ ClientID string }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].ClientID != "dev" {
		t.Errorf("clients -json: exit %d\n%s", code, out)
	}
	if code, out, _ = ctl("clients", "dev"); code != 0 || !regexp.MustCompile(`(?m)^dev/# +1$`).MatchString(out) {
		t.Errorf("clients dev: exit %d\n%s", code, out)
	}

	if code, out, errOut = ctl("publish", "-t", "dev/cmd", "-m", "reboot", "-q", "1", "-r"); code != 0 || !strings.Contains(out, "to 1 subscriber(s)") {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case m := <-msgs:
		if m.Topic() != "dev/cmd" || string(m.Payload()) != "reboot" {
			t.Errorf("got %s=%s", m.Topic(), m.Payload())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the published message did not arrive")
	}

	if code, out, _ = ctl("retained"); code != 0 || !regexp.MustCompile(`(?m)^dev/cmd +1 +6 +http-api$`).MatchString(out) {
		t.Errorf("retained: exit %d\n%s", code, out)
	}
	if code, out, _ = ctl("retained", "get", "dev/cmd"); code != 0 || !strings.Contains(out, "reboot") {
		t.Errorf("retained get: exit %d\n%s", code, out)
	}
	if code, _, _ = ctl("retained", "delete", "dev/cmd"); code != 0 {
		t.Errorf("retained delete: exit %d", code)
	}
	if code, _, errOut = ctl("retained", "get", "dev/cmd"); code != 1 || !strings.Contains(errOut, "404 NOT_FOUND") {
		t.Errorf("retained get after delete: exit %d %s", code, errOut)
	}

	if code, out, errOut = ctl("subscriptions", "-q", "1", "dev", "add", "ops/+"); code != 0 || out != "dev subscribed to ops/+\n" {
		t.Errorf("subscriptions add: exit %d %s%s", code, out, errOut)
	}
	if code, out, _ = ctl("subscriptions", "dev"); code != 0 || !regexp.MustCompile(`(?m)^ops/\+ +1 +0 +0 +0$`).MatchString(out) || !strings.Contains(out, "dev/#") {
		t.Errorf("subscriptions: exit %d\n%s", code, out)
	}
	if code, out, _ = ctl("subscriptions", "dev", "remove", "ops/+"); code != 0 || strings.Contains(func() string { _, o, _ := ctl("subscriptions", "dev"); return o }(), "ops/+") {
		t.Errorf("subscriptions remove: exit %d %s", code, out)
	}

	if code, out, errOut = ctl("kick", "dev"); code != 0 || out != "kicked dev\n" {
		t.Fatalf("kick: exit %d %s%s", code, out, errOut)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the kicked client is still connected")
	}
	if code, _, errOut = ctl("kick", "nobody"); code != 1 || !strings.Contains(errOut, "404 CLIENTID_NOT_FOUND") {
		t.Errorf("kick nobody: exit %d %s", code, errOut)
	}
	if code, out, errOut = ctl("ban", "add", "-reason", "test", "username", "mallory"); code != 0 || !strings.Contains(out, "banned username mallory") {
		t.Errorf("ban add: exit %d %s%s", code, out, errOut)
	}
	if code, out, _ = ctl("ban"); code != 0 || !regexp.MustCompile(`(?m)^username +mallory +\S+ +- +test$`).MatchString(out) {
		t.Errorf("ban list: exit %d\n%s", code, out)
	}
	if code, out, _ = ctl("ban", "remove", "username", "mallory"); code != 0 {
		t.Errorf("ban remove: exit %d %s", code, out)
	}
	if code, out, _ = ctl("bridges"); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Errorf("bridges: exit %d\n%s", code, out)
	}
	if code, _, errOut = invoke(t, "", "ctl", "health", "-url", base); code != 0 {
		t.Errorf("health needs no key: exit %d %s", code, errOut)
	}
	if code, _, errOut = invoke(t, "", "ctl", "health", "-url", "http://127.0.0.1:1"); code != 1 {
		t.Errorf("health of nothing: exit %d %s", code, errOut)
	}
	if code, _, errOut = invoke(t, "", "ctl", "status", "-url", base); code != 1 || !strings.Contains(errOut, "401 BAD_API_KEY_OR_SECRET") {
		t.Errorf("status without a key: exit %d %s", code, errOut)
	}
	if code, _, errOut = ctl("publish", "-t", "dev/x", "-q", "5"); code != 1 || !strings.Contains(errOut, "400 BAD_REQUEST: qos") {
		t.Errorf("publish -q 5: exit %d %s", code, errOut)
	}
}

// TestCtlSwitchesABridge: ctl bridges disable and enable switch a bridge
// through the API, and the table shows it.
func TestCtlSwitchesABridge(t *testing.T) {
	g := startGateway(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]},
bridges: [{name: nowhere, address: "127.0.0.1:1", rules: [{direction: out, local: "x/#"}]}]}`)
	base := "http://" + g.HTTPAddr().String()
	ctl := func(args ...string) (int, string, string) {
		t.Helper()
		return invoke(t, "", append([]string{"ctl", "bridges", "-url", base}, args...)...)
	}
	row := regexp.MustCompile(`(?m)^nowhere +(\S+) `)
	status := func() string {
		t.Helper()
		code, out, errOut := ctl()
		m := row.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("bridges: exit %d\n%s%s", code, out, errOut)
		}
		return m[1]
	}
	if s := status(); s == "disabled" {
		t.Fatalf("a configured bridge starts %s", s)
	}
	if code, out, errOut := ctl("disable", "nowhere"); code != 0 || out != "bridge nowhere disabled\n" {
		t.Fatalf("disable: exit %d %s%s", code, out, errOut)
	}
	if s := status(); s != "disabled" {
		t.Errorf("after disable the bridge shows %s", s)
	}
	if code, out, errOut := ctl("enable", "nowhere"); code != 0 || out != "bridge nowhere enabled\n" {
		t.Fatalf("enable: exit %d %s%s", code, out, errOut)
	}
	if s := status(); s == "disabled" {
		t.Errorf("after enable the bridge shows %s", s)
	}
	if code, _, errOut := ctl("disable", "nope"); code != 1 || !strings.Contains(errOut, "404 NOT_FOUND") {
		t.Errorf("disable an unknown bridge: exit %d %s", code, errOut)
	}
	if code, _, errOut := ctl("pause", "nowhere"); code != 1 || !strings.Contains(errOut, "usage: mqgate ctl bridges") {
		t.Errorf("an unknown verb: exit %d %s", code, errOut)
	}
}
