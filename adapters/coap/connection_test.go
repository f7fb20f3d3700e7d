package coap

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

func connOpts(segs []string, kv ...string) message.Options {
	o := pathOpts(segs...)
	for _, s := range kv {
		o = append(o, message.Option{ID: message.URIQuery, Value: []byte(s)})
	}
	return o
}

func TestConnectionMode(t *testing.T) {
	e := startEnv(t, func(bc *core.Config, c *Config) {
		c.ConnectionRequired = true
		bc.Authenticator = passwordAuth{}
		bc.AllowAnonymous = false
	})
	sub := e.mqttSubscribe("sub", "cm/#", 1)
	mqttSessions := e.broker.SessionCount()
	a := e.raw()
	do := func(r *rawClient, mid uint16, code codes.Code, opts message.Options, payload string) rawMsg {
		t.Helper()
		r.send(rawRequest(message.Confirmable, code, mid, []byte{byte(mid)}, opts, []byte(payload)))
		return r.read()
	}
	conn := []string{"mqtt", "connection"}
	if m := do(a, 1, codes.POST, connOpts(conn, "clientid=dev1", "username=dev", "password=bad"), ""); codeString(m.code) != "4.01" {
		t.Fatalf("connect with a wrong password: %s", codeString(m.code))
	}
	if m := do(a, 2, codes.POST, connOpts(conn, "username=dev", "password=pw"), ""); codeString(m.code) != "4.00" {
		t.Fatalf("connect without clientid: %s", codeString(m.code))
	}
	m := do(a, 3, codes.POST, connOpts(conn, "clientid=dev1", "username=dev", "password=pw"), "")
	if codeString(m.code) != "2.01" || len(m.payload) != 32 {
		t.Fatalf("connect: %s %q", codeString(m.code), m.payload)
	}
	token := m.payload
	if m := do(a, 4, codes.POST, connOpts([]string{"ps", "cm", "x"}), "no token"); codeString(m.code) != "4.00" {
		t.Fatalf("publish without clientid and token: %s", codeString(m.code))
	}
	if m := do(a, 5, codes.POST, connOpts([]string{"ps", "cm", "x"}, "clientid=dev1", "token=0000"), "bad token"); codeString(m.code) != "4.01" {
		t.Fatalf("publish with a wrong token: %s", codeString(m.code))
	}
	if m := do(a, 6, codes.POST, connOpts([]string{"ps", "cm", "x"}, "clientid=dev1", "token="+token), "good"); codeString(m.code) != "2.04" {
		t.Fatalf("publish with the token: %s", codeString(m.code))
	}
	if m := recv(t, sub, "publish with the token"); m.payload != "good" {
		t.Fatalf("got %+v", m)
	}
	if m := do(a, 7, codes.PUT, connOpts(conn, "clientid=dev1", "token="+token), ""); codeString(m.code) != "2.04" {
		t.Fatalf("heartbeat: %s", codeString(m.code))
	}
	// A new source port with the client id and token resumes the session.
	b := e.raw()
	if m := do(b, 8, codes.POST, connOpts([]string{"ps", "cm", "y"}, "c=dev1", "t="+token), "new port"); codeString(m.code) != "2.04" {
		t.Fatalf("publish from a new port: %s", codeString(m.code))
	}
	if m := recv(t, sub, "publish from a new port"); m.payload != "new port" {
		t.Fatalf("got %+v", m)
	}
	if n := e.broker.SessionCount() - mqttSessions; n != 1 {
		t.Fatalf("%d CoAP sessions, want the one resumed", n)
	}
	if m := do(b, 9, codes.DELETE, connOpts(conn, "clientid=dev1", "token="+token), ""); codeString(m.code) != "2.02" {
		t.Fatalf("close: %s", codeString(m.code))
	}
	waitFor(t, "session ended", func() bool { return e.broker.SessionCount() == mqttSessions })
	if m := do(b, 10, codes.POST, connOpts([]string{"ps", "cm", "z"}, "clientid=dev1", "token="+token), "after close"); codeString(m.code) != "4.01" {
		t.Fatalf("publish after close: %s", codeString(m.code))
	}
	none(t, sub, "a publish refused in connection mode")
}
