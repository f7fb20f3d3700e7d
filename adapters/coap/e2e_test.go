package coap

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func TestPublishConAndNonReachMQTTAtMappedQoS(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "sensors/#", 2)
	c := e.coapClient()
	if code, d := post(t, c, "/ps/sensors/a", "con", false); code != codes.Changed.String() {
		t.Fatalf("CON publish: %s %q", code, d)
	}
	if m := recv(t, sub, "CON publish"); m.topic != "sensors/a" || m.payload != "con" || m.qos != 1 {
		t.Fatalf("CON publish arrived as %+v, want QoS 1", m)
	}
	if code, d := post(t, c, "/ps/sensors/b", "non", true); code != codes.Changed.String() {
		t.Fatalf("NON publish: %s %q", code, d)
	}
	if m := recv(t, sub, "NON publish"); m.topic != "sensors/b" || m.payload != "non" || m.qos != 0 {
		t.Fatalf("NON publish arrived as %+v, want QoS 0", m)
	}
	if code, _ := post(t, c, "/ps/sensors/c", "q2", true, query("qos=2")...); code != codes.Changed.String() {
		t.Fatalf("qos=2 publish: %s", code)
	}
	if m := recv(t, sub, "qos=2 publish"); m.qos != 2 {
		t.Fatalf("qos query did not win: %+v", m)
	}
}

func TestPublishPercentDecodesSegments(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "#", 1)
	c := e.coapClient()
	if code, d := post(t, c, "/ps/a%20b/%25/x", "p", false); code != codes.Changed.String() {
		t.Fatalf("publish: %s %q", code, d)
	}
	if m := recv(t, sub, "publish"); m.topic != "a b/%/x" {
		t.Fatalf("topic %q, want %q", m.topic, "a b/%/x")
	}
	for _, path := range []string{"/ps/a%2Fb", "/ps/a/%23", "/ps/a/%2B", "/ps/%2e%2e/x", "/ps/a/%00", "/ps/a%zz", "/ps"} {
		if code, _ := post(t, c, path, "p", false); code != codes.BadRequest.String() {
			t.Errorf("publish to %s: %s, want 4.00", path, code)
		}
	}
	none(t, sub, "message from a refused publish")
}

func TestRetainedReadAndDelete(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	if code, _ := post(t, c, "/ps/room/temp", "21.5", false, query("retain=true")...); code != codes.Changed.String() {
		t.Fatalf("retained publish: %s", code)
	}
	resp, err := c.Get(ctx(t), "/ps/room/temp")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Content || body(resp) != "21.5" {
		t.Fatalf("retained read: %v %q", resp.Code(), body(resp))
	}
	if cf, err := resp.ContentFormat(); err != nil || cf != 0 {
		t.Fatalf("retained read content format %v %v, want text/plain", cf, err)
	}
	resp, err = c.Delete(ctx(t), "/ps/room/temp")
	if err != nil || resp.Code() != codes.Deleted {
		t.Fatalf("delete: %v %v", resp.Code(), err)
	}
	resp, err = c.Get(ctx(t), "/ps/room/temp")
	if err != nil || resp.Code() != codes.NotFound {
		t.Fatalf("read after delete: %v %v", resp.Code(), err)
	}
	resp, err = c.Delete(ctx(t), "/ps/room/temp")
	if err != nil || resp.Code() != codes.NotFound {
		t.Fatalf("second delete: %v %v", resp.Code(), err)
	}
}

func TestRetainedFromMQTTReadOverCoAP(t *testing.T) {
	e := startEnv(t)
	m := e.mqttClient("pub")
	e.mqttPublish(m, "dev/1/state", 1, true, "on")
	c := e.coapClient()
	resp, err := c.Get(ctx(t), "/ps/dev/1/state")
	if err != nil || resp.Code() != codes.Content || body(resp) != "on" {
		t.Fatalf("read: %v %v", resp, err)
	}
}

func TestUnknownResourceAndMethod(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	resp, err := c.Get(ctx(t), "/other/x")
	if err != nil || resp.Code() != codes.NotFound {
		t.Fatalf("GET /other: %v %v", resp.Code(), err)
	}
	resp, err = c.Put(ctx(t), "/ps/x", 0, nil)
	if err != nil || resp.Code() != codes.MethodNotAllowed {
		t.Fatalf("PUT /ps/x: %v %v", resp.Code(), err)
	}
}

func TestLegacyMQTTScheme(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "legacy/#", 1)
	c := e.coapClient()
	resp, err := c.Put(ctx(t), "/mqtt/legacy/t", 0, bytesReader("put"), query("c=old1", "u=", "p=")...)
	if err != nil || resp.Code() != codes.Changed {
		t.Fatalf("PUT /mqtt: %v %v", resp.Code(), err)
	}
	if m := recv(t, sub, "legacy publish"); m.topic != "legacy/t" || m.payload != "put" || m.qos != 1 {
		t.Fatalf("got %+v", m)
	}
	ch, cancel := observe(t, c, "/mqtt/legacy/down")
	recv(t, ch, "legacy registration")
	e.mqttPublish(e.mqttClient("pub"), "legacy/down", 0, false, "to legacy")
	if n := recv(t, ch, "legacy notification"); n.payload != "to legacy" {
		t.Fatalf("got %+v", n)
	}
	if err := cancel(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want codes.Code
	}{{"/mqtt/connection", codes.BadRequest}, {"/mqtt/legacy/t", codes.MethodNotAllowed}} {
		resp, err := c.Post(ctx(t), tc.path, 0, bytesReader("x"))
		if err != nil || resp.Code() != tc.want {
			t.Fatalf("POST %s: %v %v, want %v", tc.path, resp.Code(), err, tc.want)
		}
	}
}
