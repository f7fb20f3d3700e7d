package coap

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

func TestObserveEchoBeforeRegistration(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.ObserveEcho = true })
	register := func(r *rawClient, mid uint16, echo []byte) rawMsg {
		o := append(message.Options{{ID: message.Observe}}, pathOpts("ps", "e")...)
		if echo != nil {
			o = append(o, message.Option{ID: message.Echo, Value: echo})
		}
		r.send(rawRequest(message.Confirmable, codes.GET, mid, []byte{5}, o, nil))
		return r.read()
	}
	a, b := e.raw(), e.raw()
	m := register(a, 1, nil)
	if codeString(m.code) != "4.01" || len(m.echo) == 0 {
		t.Fatalf("unverified registration: %s, Echo % x", codeString(m.code), m.echo)
	}
	if e.broker.SubscriptionCount() != 0 {
		t.Fatal("an unverified registration subscribed")
	}
	// An Echo value is bound to the address it was sent to.
	if got := register(b, 1, m.echo); codeString(got.code) != "4.01" {
		t.Fatalf("another address's Echo: %s", codeString(got.code))
	}
	if got := register(a, 2, []byte("0123456789abcdef")); codeString(got.code) != "4.01" {
		t.Fatalf("a forged Echo: %s", codeString(got.code))
	}
	if got := register(a, 3, m.echo); codeString(got.code) != "2.05" || got.observe < 0 {
		t.Fatalf("registration with the Echo: %s", codeString(got.code))
	}
	// Verified now: another token needs no Echo.
	o := append(message.Options{{ID: message.Observe}}, pathOpts("ps", "f")...)
	a.send(rawRequest(message.Confirmable, codes.GET, 4, []byte{6}, o, nil))
	if got := a.read(); codeString(got.code) != "2.05" {
		t.Fatalf("second registration: %s", codeString(got.code))
	}
}
