package coap

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

func TestDuplicateCONPublishesOnceAndRepeatsTheResponse(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "d", 1)
	r := e.raw()
	req := rawRequest(message.Confirmable, codes.POST, 500, []byte{9}, pathOpts("ps", "d"), []byte("once"))
	r.send(req)
	first := r.read()
	r.send(req)
	second := r.read()
	if !bytes.Equal(first.raw, second.raw) || codeString(first.code) != "2.04" {
		t.Fatalf("responses % x and % x", first.raw, second.raw)
	}
	recv(t, sub, "publish")
	none(t, sub, "a second delivery of a retransmitted CON")
	if e.gw.Stats().Duplicates.Load() != 1 {
		t.Fatalf("Duplicates = %d", e.gw.Stats().Duplicates.Load())
	}
}

// TestSpoofedGarbageLeavesVictimObserving sends malformed datagrams and
// unknown critical options "from" an observer's address: its observation
// survives and keeps notifying.
func TestSpoofedGarbageLeavesVictimObserving(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "v"))
	if m := r.read(); codeString(m.code) != "2.05" || m.observe < 0 {
		t.Fatalf("registration %s", codeString(m.code))
	}
	victim := peer{l: e.gw.listeners[0], addr: netip.MustParseAddrPort(r.conn.LocalAddr().String())}
	var scratch request
	for _, f := range loadFixtures(t) {
		if f.expect == "2.04" {
			continue
		}
		e.gw.datagram(victim, bytes.Clone(f.data), &scratch)
	}
	// Drain whatever the spoofed datagrams were answered with.
	for {
		if _, ok := r.readTimeout(200 * time.Millisecond); !ok {
			break
		}
	}
	e.mqttPublish(e.mqttClient("pub"), "v", 0, false, "still here")
	if n := r.read(); n.payload != "still here" || n.observe < 0 {
		t.Fatalf("after spoofed garbage got %s %q", codeString(n.code), n.payload)
	}
}

func TestRSTCancelsObservation(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run([]string{"NON notification", "CON notification"}[qos], func(t *testing.T) {
			e := startEnv(t)
			r := e.raw()
			r.send(rawGET(1, []byte{7}, true, "ps", "v"))
			r.read()
			pub := e.mqttClient("pub")
			e.mqttPublish(pub, "v", qos, false, "one")
			n := r.read()
			if wantTyp := []byte{typeNON, typeCON}[qos]; n.typ != wantTyp {
				t.Fatalf("notification type %d, want %d", n.typ, wantTyp)
			}
			r.send([]byte{0x70, 0, byte(n.mid >> 8), byte(n.mid)})
			waitFor(t, "observation cancelled", func() bool { return e.broker.SubscriptionCount() == 0 })
			e.mqttPublish(pub, "v", qos, false, "two")
			r.nothing()
		})
	}
}

func TestACKedCONNotificationsFlowOneAtATime(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.ObserveQueueAll = true })
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "q"))
	reg := r.read()
	pub := e.mqttClient("pub")
	for _, p := range []string{"a", "b", "c"} {
		e.mqttPublish(pub, "q", 1, false, p)
	}
	last := reg.observe
	for _, want := range []string{"a", "b", "c"} {
		n := r.read()
		if n.payload != want || n.typ != typeCON || n.observe <= last {
			t.Fatalf("got %q type %d Observe %d after %d, want %q", n.payload, n.typ, n.observe, last, want)
		}
		last = n.observe
		// Nothing else while this one waits for its ACK.
		if m, ok := r.readTimeout(100 * time.Millisecond); ok && m.mid != n.mid {
			t.Fatalf("a second CON %q in flight", m.payload)
		}
		r.send([]byte{0x60, 0, byte(n.mid >> 8), byte(n.mid)})
	}
}

func TestSilentObserverDroppedAfterHeartbeat(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.Heartbeat = 300 * time.Millisecond })
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "h"))
	r.read()
	waitFor(t, "observer dropped", func() bool { return e.broker.SubscriptionCount() == 0 && e.broker.SessionCount() == 0 })
	if e.gw.Stats().HeartbeatLost.Load() != 1 {
		t.Fatalf("HeartbeatLost = %d", e.gw.Stats().HeartbeatLost.Load())
	}
}

func TestPingKeepsObserverAlive(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.Heartbeat = 400 * time.Millisecond })
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "h"))
	r.read()
	for i := range 8 {
		r.send([]byte{0x40, 0, 0x10, byte(i)})
		if m := r.read(); m.typ != typeRST {
			t.Fatalf("ping answered with type %d", m.typ)
		}
		time.Sleep(100 * time.Millisecond) // the device's own ping interval
	}
	if e.broker.SubscriptionCount() != 1 {
		t.Fatal("a pinging observer was dropped")
	}
}

func TestRequestRateLimit(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxRequestsPerSecond = 3 })
	r := e.raw()
	limited := 0
	for i := range 10 {
		r.send(rawRequest(message.Confirmable, codes.POST, uint16(i+1), []byte{1}, pathOpts("ps", "r"), []byte("x")))
		if m := r.read(); codeString(m.code) == "4.29" {
			limited++
		}
	}
	if limited < 5 {
		t.Fatalf("%d of 10 requests limited at 3 per second", limited)
	}
}

func TestObserverLimit(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxObservers = 2 })
	r := e.raw()
	for i, want := range []string{"2.05", "2.05", "5.03"} {
		r.send(rawGET(uint16(i+1), []byte{byte(i)}, true, "ps", "o"))
		if m := r.read(); codeString(m.code) != want {
			t.Fatalf("registration %d: %s, want %s", i, codeString(m.code), want)
		}
	}
	// The same token again replaces its observation instead of adding one.
	r.send(rawGET(9, []byte{0}, true, "ps", "o2"))
	if m := r.read(); codeString(m.code) != "2.05" {
		t.Fatalf("re-registration: %s", codeString(m.code))
	}
}

func TestClientLimit(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxClients = 1 })
	a, b := e.raw(), e.raw()
	a.send(rawRequest(message.Confirmable, codes.POST, 1, nil, pathOpts("ps", "x"), []byte("p")))
	if m := a.read(); codeString(m.code) != "2.04" {
		t.Fatalf("first client: %s", codeString(m.code))
	}
	b.send(rawRequest(message.Confirmable, codes.POST, 1, nil, pathOpts("ps", "x"), []byte("p")))
	if m := b.read(); codeString(m.code) != "5.03" {
		t.Fatalf("second client: %s, want 5.03", codeString(m.code))
	}
}

// passwordAuth allows CoAP user "dev" with password "pw", and every MQTT
// client.
type passwordAuth struct{}

func (passwordAuth) Authenticate(_ context.Context, c *core.ClientInfo, pw []byte) (core.Verdict, error) {
	if c.Protocol != "coap" || c.Username == "dev" && string(pw) == "pw" {
		return core.Allow, nil
	}
	return core.Deny, nil
}

func TestAuthenticationAndResumeFromNewPort(t *testing.T) {
	e := startEnv(t, func(bc *core.Config, _ *Config) {
		bc.Authenticator = passwordAuth{}
		bc.AllowAnonymous = false
	})
	creds := func(kv ...string) message.Options {
		o := pathOpts("ps", "s")
		for _, s := range kv {
			o = append(o, message.Option{ID: message.URIQuery, Value: []byte(s)})
		}
		return o
	}
	a := e.raw()
	a.send(rawRequest(message.Confirmable, codes.POST, 1, nil, creds("c=dev1"), []byte("p")))
	if m := a.read(); codeString(m.code) != "4.01" || m.payload == "" {
		t.Fatalf("without credentials: %s %q", codeString(m.code), m.payload)
	}
	a.send(rawRequest(message.Confirmable, codes.POST, 2, nil, creds("c=dev1", "u=dev", "p=bad"), []byte("p")))
	if m := a.read(); codeString(m.code) != "4.01" {
		t.Fatalf("wrong password: %s", codeString(m.code))
	}
	a.send(rawGET(3, []byte{1}, true, "ps", "s"))
	if m := a.read(); codeString(m.code) != "4.01" {
		t.Fatalf("observe without credentials: %s", codeString(m.code))
	}
	// Observe with credentials, then keep publishing without them from the
	// same address.
	obs := append(message.Options{{ID: message.Observe}}, creds("c=dev1", "u=dev", "p=pw")...)
	a.send(rawRequest(message.Confirmable, codes.GET, 4, []byte{1}, obs, nil))
	if m := a.read(); codeString(m.code) != "2.05" {
		t.Fatalf("observe: %s", codeString(m.code))
	}
	a.send(rawRequest(message.NonConfirmable, codes.POST, 5, nil, creds(), []byte("same address")))
	for {
		m := a.read()
		if m.payload == "same address" {
			a.send([]byte{0x60, 0, byte(m.mid >> 8), byte(m.mid)})
			break
		}
	}
	// The device's NAT moved it to a new port: the client id and the
	// credentials route it to its session, observation included.
	b := e.raw()
	b.send(rawRequest(message.Confirmable, codes.POST, 6, nil, creds("c=dev1", "u=dev", "p=pw"), []byte("new port")))
	got := map[string]bool{}
	for len(got) < 2 {
		m := b.read()
		got[codeString(m.code)+" "+m.payload] = true
		if m.typ == typeCON {
			b.send([]byte{0x60, 0, byte(m.mid >> 8), byte(m.mid)})
		}
	}
	if !got["2.04 "] || !got["2.05 new port"] {
		t.Fatalf("from the new port got %v, want the 2.04 and the notification", got)
	}
	if n := e.broker.SessionCount(); n != 1 {
		t.Fatalf("%d sessions, want the one resumed", n)
	}
	// Someone else naming dev1 with a wrong password gets nothing of it.
	x := e.raw()
	x.send(rawRequest(message.Confirmable, codes.POST, 7, nil, creds("c=dev1", "u=dev", "p=guess"), []byte("p")))
	if m := x.read(); codeString(m.code) != "4.01" {
		t.Fatalf("wrong password for a live client id: %s", codeString(m.code))
	}
}

func TestNamespaceMountpointAndAddressID(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.Mountpoint = "coap/" })
	sub := e.mqttSubscribe("sub", "coap/#", 1)
	r := e.raw()
	r.send(rawRequest(message.Confirmable, codes.POST, 1, nil, pathOpts("ps", "t"), []byte("m")))
	r.read()
	if m := recv(t, sub, "mounted publish"); m.topic != "coap/t" {
		t.Fatalf("topic %q", m.topic)
	}
	id := "coap-" + r.conn.LocalAddr().String()
	if _, ok := e.broker.Session("coap", id); !ok {
		t.Fatalf("no session %q in namespace coap", id)
	}
	// An observation sees topics without the mountpoint; MQTT's publish
	// under it reaches it.
	r.send(rawGET(2, []byte{3}, true, "ps", "down"))
	r.read()
	e.mqttPublish(e.mqttClient("pub"), "coap/down", 0, false, "hi")
	if n := r.read(); n.payload != "hi" {
		t.Fatalf("notification %q", n.payload)
	}
}

func TestDuplicateCacheKeepsOnlySmallResponses(t *testing.T) {
	e := startEnv(t)
	e.mqttPublish(e.mqttClient("pub"), "big", 1, true, string(bytes.Repeat([]byte("r"), 900)))
	r := e.raw()
	r.send(rawRequest(message.Confirmable, codes.POST, 1, nil, pathOpts("ps", "small"), []byte("x")))
	r.read()
	r.send(rawGET(2, []byte{1}, false, "ps", "big"))
	if m := r.read(); len(m.payload) != 900 {
		t.Fatalf("read %d bytes", len(m.payload))
	}
	e.gw.mu.Lock()
	c := e.gw.byAddr[e.gw.listeners[0].cfg.Name+"|"+r.conn.LocalAddr().String()]
	e.gw.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, d := range c.dedup {
		total += len(d.resp)
	}
	if total == 0 || total > maxRemembered {
		t.Fatalf("duplicate cache holds %d bytes, want the small 2.04 only", total)
	}
}

func TestAcceptThatCannotBeMet(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	o := append(pathOpts("ps", "cf"), message.Option{ID: message.ContentFormat})
	r.send(rawRequest(message.Confirmable, codes.POST, 1, nil, append(o, message.Option{ID: message.URIQuery, Value: []byte("retain=1")}), []byte("text")))
	if m := r.read(); codeString(m.code) != "2.04" {
		t.Fatalf("publish: %s", codeString(m.code))
	}
	for _, tc := range []struct {
		accept uint32
		want   string
	}{{50, "4.06"}, {0, "2.05"}} {
		o := append(pathOpts("ps", "cf"), message.Option{ID: message.Accept, Value: uintBytes(tc.accept)})
		r.send(rawRequest(message.Confirmable, codes.GET, uint16(2+tc.accept), nil, o, nil))
		if m := r.read(); codeString(m.code) != tc.want {
			t.Fatalf("Accept %d: %s, want %s", tc.accept, codeString(m.code), tc.want)
		}
	}
}

func TestObserveSequenceWrapsAt24Bits(t *testing.T) {
	if got := nextSeq(0xffffff); got != 0 {
		t.Fatalf("after 0xffffff: %#x, want 0", got)
	}
	e := startEnv(t)
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "w"))
	reg := r.read()
	c := func() *client {
		e.gw.mu.Lock()
		defer e.gw.mu.Unlock()
		for _, c := range e.gw.byID {
			return c
		}
		return nil
	}()
	c.mu.Lock()
	c.obs[obsKey([]byte{7})].seq = 0xfffffe
	c.mu.Unlock()
	pub := e.mqttClient("pub")
	for _, want := range []int64{0xffffff, 0} {
		e.mqttPublish(pub, "w", 0, false, "v")
		if n := r.read(); n.observe != want {
			t.Fatalf("Observe %#x, want %#x (registration %#x)", n.observe, want, reg.observe)
		}
	}
}

// TestRebootedDeviceReusingMIDsIsNotAnsweredFromTheCache: the same MID
// with a new token is a new request; with the same token, a duplicate.
func TestRebootedDeviceReusingMIDsIsNotAnsweredFromTheCache(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "boot/#", 1)
	r := e.raw()
	before := rawRequest(message.Confirmable, codes.POST, 1, []byte{0xa1}, pathOpts("ps", "boot", "before"), []byte("1"))
	r.send(before)
	r.read()
	r.send(rawRequest(message.Confirmable, codes.POST, 1, []byte{0xb2}, pathOpts("ps", "boot", "after"), []byte("2")))
	if m := r.read(); codeString(m.code) != "2.04" || !bytes.Equal(m.token, []byte{0xb2}) {
		t.Fatalf("after the reboot: %s token % x", codeString(m.code), m.token)
	}
	r.send(before)
	if m := r.read(); !bytes.Equal(m.token, []byte{0xa1}) {
		t.Fatalf("a true duplicate answered with token % x", m.token)
	}
	for _, want := range []string{"boot/before", "boot/after"} {
		if m := recv(t, sub, want); m.topic != want {
			t.Fatalf("got %s, want %s", m.topic, want)
		}
	}
	none(t, sub, "the duplicate published again")
}
