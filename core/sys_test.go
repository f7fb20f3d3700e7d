package core

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

func TestSysPublishesRetainedBrokerCounters(t *testing.T) {
	b := newBroker(t, Config{SysInterval: 20 * time.Millisecond, Version: "1.2.3"})
	connectID(t, b, "a")
	waitFor(t, "$SYS retained messages", func() bool {
		m, ok := b.retained.Get("$SYS/broker/clients/connected")
		return ok && string(m.Payload) == "1"
	})
	if m, ok := b.retained.Get("$SYS/broker/version"); !ok || string(m.Payload) != "mqgate 1.2.3" {
		t.Fatalf("$SYS/broker/version = %v", m)
	}
	// A subscriber to $SYS/# gets them as retained messages and then live
	// updates every interval.
	c := connectID(t, b, "s")
	c.sub(t, "$SYS/broker/#", topic.Options{})
	ds := c.pull()
	if len(ds) < 10 || !ds[0].Retain {
		t.Fatalf("pulled %d retained $SYS messages", len(ds))
	}
	c.waitPull(t, 1)
}

func TestSysNotPublishedWhenDisabled(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "$SYS/#", topic.Options{})
	connectID(t, b, "a")
	if ds := c.pull(); len(ds) != 0 || b.RetainedCount() != 0 {
		t.Fatalf("$SYS published with SysInterval 0: %+v", ds)
	}
}

func TestSysClientEvents(t *testing.T) {
	tests := []struct {
		name, clientID, level string
	}{
		{"plain client id", "dev1", "dev1"},
		{"slash and plus are escaped", "a/b+c", "a%2Fb%2Bc"},
		{"hash and percent are escaped", "x#%y", "x%23%25y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{SysInterval: time.Hour, NodeName: "node1"})
			obs := connectID(t, b, "observer")
			obs.sub(t, "$SYS/brokers/+/clients/+/+", topic.Options{})
			c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: tt.clientID, Username: "u", Protocol: "mqtt", Version: 5}})
			c.Disconnect(DisconnectNormal, "")
			ds := obs.pull()
			if len(ds) != 2 {
				t.Fatalf("pulled %d events, want 2", len(ds))
			}
			for i, ev := range []string{"connected", "disconnected"} {
				want := "$SYS/brokers/node1/clients/" + tt.level + "/" + ev
				if ds[i].Topic != want {
					t.Fatalf("event topic %q, want %q", ds[i].Topic, want)
				}
				var p struct {
					ClientID string `json:"clientid"`
					Username string `json:"username"`
					Protocol string `json:"protocol"`
					Version  int    `json:"proto_ver"`
					TS       int64  `json:"ts"`
				}
				if err := json.Unmarshal(ds[i].Msg.Payload, &p); err != nil {
					t.Fatalf("payload %s: %v", ds[i].Msg.Payload, err)
				}
				if p.ClientID != tt.clientID || p.Username != "u" || p.Protocol != "mqtt" || p.Version != 5 || p.TS == 0 {
					t.Fatalf("payload %s", ds[i].Msg.Payload)
				}
			}
		})
	}
}

func TestCloseKicksConnectedClients(t *testing.T) {
	b := NewBroker(Config{AllowAnonymous: true, SysInterval: 10 * time.Millisecond})
	b.Start()
	var conns []*tclient
	for _, id := range []string{"a", "b", "c"} {
		conns = append(conns, connectID(t, b, id))
	}
	gone := connectID(t, b, "gone")
	gone.Disconnect(DisconnectNormal, "")
	req := willReq("w", time.Hour, time.Hour)
	w, _ := connect(t, b, req)
	b.Close()
	for _, c := range append(conns, w) {
		c.conn.wantKick(t, ServerShuttingDown)
	}
	gone.conn.wantNoKick(t)
	// [MQTT-3.1.2-8] the pending will is published as the session ends.
	if n := b.Stats().WillsPublished.Load(); n != 1 {
		t.Fatalf("WillsPublished = %d, want 1", n)
	}
	b.Close() // a second Close is harmless
}
