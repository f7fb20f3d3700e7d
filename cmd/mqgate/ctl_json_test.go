package main

import (
	"encoding/json"
	"testing"
)

// TestCtlJSONPrintsTheAPIAnswer: with -json, each listing command prints
// JSON a script can decode, carrying the fields its table shows.
func TestCtlJSONPrintsTheAPIAnswer(t *testing.T) {
	base, key, _, _ := ctlGateway(t)
	bridged := startGateway(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]},
bridges: [{name: nowhere, address: "127.0.0.1:1", rules: [{direction: out, local: "x/#"}]}]}`)
	bridgedBase := "http://" + bridged.HTTPAddr().String()
	ctl := func(base string, args ...string) (int, string, string) {
		t.Helper()
		return invoke(t, "", append([]string{"ctl", args[0], "-url", base, "-key", key}, args[1:]...)...)
	}
	if code, out, errOut := ctl(base, "publish", "-t", "dev/state", "-m", "on", "-q", "1", "-r"); code != 0 {
		t.Fatalf("publish: exit %d %s%s", code, out, errOut)
	}
	if code, out, errOut := ctl(base, "ban", "add", "-reason", "test", "username", "mallory"); code != 0 {
		t.Fatalf("ban add: exit %d %s%s", code, out, errOut)
	}

	var status struct {
		Version, Node, Store string
		Listeners            []struct {
			Protocol, Name, Address string
			Connections             int64
		}
	}
	var retained []struct {
		Topic        string `json:"topic"`
		QoS          int    `json:"qos"`
		PayloadSize  int    `json:"payload_size"`
		FromClientID string `json:"from_clientid"`
	}
	var bridges []struct {
		Name   string   `json:"name"`
		Status string   `json:"status"`
		Queued *int     `json:"queued"`
		Oldest *float64 `json:"oldest_age_seconds"`
	}
	var bans struct {
		Data []struct{ As, Who, Reason string }
	}
	var subs []struct {
		Topic string `json:"topic"`
		QoS   *int   `json:"qos"`
	}
	for _, tc := range []struct {
		name string
		base string
		args []string
		into any
		ok   func() bool
	}{
		{"status names the node and its listeners", base, []string{"status", "-json"}, &status, func() bool {
			return status.Node != "" && status.Version != "" && status.Store == "memory" && len(status.Listeners) == 1 &&
				status.Listeners[0].Protocol == "mqtt" && status.Listeners[0].Address != "" && status.Listeners[0].Connections == 1
		}},
		{"retained lists the message and who sent it", base, []string{"retained", "-json"}, &retained, func() bool {
			return len(retained) == 1 && retained[0].Topic == "dev/state" && retained[0].QoS == 1 &&
				retained[0].PayloadSize == 2 && retained[0].FromClientID == "http-api"
		}},
		{"bridges shows the state and backlog", bridgedBase, []string{"bridges", "-json"}, &bridges, func() bool {
			return len(bridges) == 1 && bridges[0].Name == "nowhere" && bridges[0].Status != "" && bridges[0].Queued != nil && bridges[0].Oldest != nil
		}},
		{"ban lists the ban with its reason", base, []string{"ban", "-json"}, &bans, func() bool {
			return len(bans.Data) == 1 && bans.Data[0].As == "username" && bans.Data[0].Who == "mallory" && bans.Data[0].Reason == "test"
		}},
		{"subscriptions lists the client's filters", base, []string{"subscriptions", "-json", "dev"}, &subs, func() bool {
			return len(subs) == 1 && subs[0].Topic == "dev/#" && subs[0].QoS != nil && *subs[0].QoS == 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := ctl(tc.base, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d %s%s", code, out, errOut)
			}
			if err := json.Unmarshal([]byte(out), tc.into); err != nil {
				t.Fatalf("%v in\n%s", err, out)
			}
			if !tc.ok() {
				t.Errorf("-json printed\n%s", out)
			}
		})
	}
}
