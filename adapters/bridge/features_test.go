package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/testcert"
)

// passwordIs accepts one password.
type passwordIs string

func (p passwordIs) Authenticate(_ context.Context, _ *core.ClientInfo, pw []byte) (core.Verdict, error) {
	if string(pw) == string(p) {
		return core.Allow, nil
	}
	return core.Deny, nil
}

// TestPasswordFileIsReadOnEveryConnect rotates the password in its file:
// the next attempt uses the new one (checklist #22).
func TestPasswordFileIsReadOnEveryConnect(t *testing.T) {
	local := newNode(t, "edge", nil)
	up := newNode(t, "cloud", nil, func(c *core.Config) { c.Authenticator = passwordIs("new-secret"); c.AllowAnonymous = false })
	up.up()
	pwFile := filepath.Join(t.TempDir(), "password")
	os.WriteFile(pwFile, []byte("old-secret\n"), 0o600)
	cfg := testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "a", QoS: 1})
	cfg.Username, cfg.PasswordFile = "edge", pwFile
	set := startBridges(t, local.Broker, nil, cfg)
	br := set.bridge("c")
	waitFor(t, 5*time.Second, "a refused attempt", func() bool { return br.Status().LastError != "" })
	os.WriteFile(pwFile, []byte("new-secret\n"), 0o600)
	waitFor(t, 5*time.Second, "the bridge connected with the new password", func() bool { return br.Status().Connected })
}

// TestMessageExpiryCountsTheWaitInTheOutbox: a message that waited in the
// outbox is forwarded with what is left of its expiry, and one that expired
// there is not forwarded at all (checklist #25).
func TestMessageExpiryCountsTheWaitInTheOutbox(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "x/#")
	set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "x/#", QoS: 1}))
	info := core.ClientInfo{Protocol: "test", ClientID: "s"}
	soon := core.NewMessage("x/soon", []byte("gone"))
	soon.QoS, soon.Expiry = 1, time.Now().Add(300*time.Millisecond)
	later := core.NewMessage("x/later", []byte("kept"))
	later.QoS, later.Expiry = 1, time.Now().Add(time.Hour)
	for _, m := range []*core.Message{soon, later} {
		if _, err := local.Broker.Publish(context.Background(), &info, m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "both in the outbox", func() bool { return set.bridge("c").Status().Queued == 2 })
	waitFor(t, 5*time.Second, "the first to expire", func() bool { return soon.Expired(time.Now()) })
	up.up()
	waitFor(t, 5*time.Second, "the outbox drained", func() bool { return set.bridge("c").Status().Queued == 0 && len(got.messages()) >= 1 })
	ms := got.messages()
	if len(ms) != 1 || ms[0].Topic != "x/later" {
		t.Fatalf("got %d messages, first %q", len(ms), ms[0].Topic)
	}
	if left := time.Until(ms[0].Expiry); ms[0].Expiry.IsZero() || left > time.Hour || left < 59*time.Minute {
		t.Fatalf("expiry left upstream %v", left)
	}
}

// TestTLSWithSNIAndALPN bridges through a TLS terminator that, like AWS
// IoT on port 443, completes the handshake only with the expected server
// name and ALPN protocol (checklist #21), then proxies to the upstream.
func TestTLSWithSNIAndALPN(t *testing.T) {
	certs := testcert.Write(t, t.TempDir(), "edge-1")
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "a")
	cert, err := tls.LoadX509KeyPair(certs.Cert, certs.Key)
	if err != nil {
		t.Fatal(err)
	}
	const name, proto = "iot.example.com", "x-amzn-mqtt-ca"
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{proto},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if h.ServerName != name || !slices.Contains(h.SupportedProtos, proto) {
				return nil, errors.New("no SNI or ALPN") // the handshake fails
			}
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				u, err := net.Dial("tcp", up.addr)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	for _, p := range protocols {
		without := testConfig("plain-"+p, "tls://"+ln.Addr().String(), p, Rule{Direction: "out", Local: "b", QoS: 1})
		without.TLS = &TLS{InsecureSkipVerify: true} // the certificate is for 127.0.0.1; SNI is what is tested
		with := testConfig("alpn-"+p, "tls://"+ln.Addr().String(), p, Rule{Direction: "out", Local: "a", QoS: 1})
		with.TLS = &TLS{InsecureSkipVerify: true, ServerName: name, ALPN: []string{proto}}
		set := startBridges(t, local.Broker, nil, without, with)
		waitFor(t, 5*time.Second, "the bridge with SNI and ALPN connected over "+p, func() bool { return set.bridge("alpn-" + p).Status().Connected })
		waitFor(t, 5*time.Second, "the bridge without them refused over "+p, func() bool {
			st := set.bridge("plain-" + p).Status()
			return !st.Connected && st.LastError != ""
		})
	}
	publish(t, local.Broker, "sensor", "a", 0, 1, 1)
	waitFor(t, 5*time.Second, "the message through the terminator", func() bool { return len(got.messages()) == 2 })
}

// TestPoisonMessageIsDropped publishes a message larger than the
// upstream's maximum packet size ahead of ordinary ones: the upstream
// closes the connection over it each time, the bridge finds it, drops and
// counts it, and the messages behind it arrive.
func TestPoisonMessageIsDropped(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.upWith(mqtt.Config{MaxPacketSize: 1024})
			got := newSink(t, up.Broker, "cloud-app", "seq")
			set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, proto, Rule{Direction: "out", Local: "seq", QoS: 1}))
			br := set.bridge("c")
			big := core.NewMessage("seq", make([]byte, 4000))
			big.QoS = 1
			if _, err := local.Broker.Publish(context.Background(), &core.ClientInfo{Protocol: "test", ClientID: "s"}, big); err != nil {
				t.Fatal(err)
			}
			publish(t, local.Broker, "sensor", "seq", 0, 10, 1)
			waitFor(t, 10*time.Second, "the ordinary messages upstream", func() bool { return len(got.messages()) >= 10 && br.Status().Queued == 0 })
			checkSequence(t, got.messages(), 10)
			if st := br.Status(); st.Dropped != 1 || st.Queued != 0 {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// TestWebSocketUpstream bridges over WebSocket to an mqgate ws listener,
// over 3.1.1 and 5, out and in.
func TestWebSocketUpstream(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			srv := mqtt.New(mqtt.Config{Listeners: []mqtt.Listener{{Name: "ws", Type: "ws", Address: "127.0.0.1:0"}}}, up.Broker)
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Stop(context.Background()) })
			atCloud := newSink(t, up.Broker, "cloud-app", "up/#")
			atEdge := newSink(t, local.Broker, "actuator", "cmd/#")
			set := startBridges(t, local.Broker, nil, testConfig("c", "ws://"+srv.Addrs()["ws"].String(), proto,
				Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1},
				Rule{Direction: "in", Local: "cmd/#", Remote: "down/#", QoS: 1}))
			waitFor(t, 5*time.Second, "the bridge connected", func() bool { return set.bridge("c").Status().Connected })
			publish(t, local.Broker, "sensor", "seq", 0, 500, 1)
			publish(t, up.Broker, "app", "down/x", 0, 1, 1)
			waitFor(t, 5*time.Second, "both directions", func() bool { return len(atCloud.messages()) >= 500 && len(atEdge.messages()) == 1 })
			checkSequence(t, atCloud.messages(), 500)
		})
	}
}

// TestLoopThroughThreeBrokersDies bridges three brokers in a triangle,
// each pair both ways on the same topics over MQTT 5: without a hop limit
// a message would circle forever. It crosses at most MaxHops bridges, and
// the traffic stops.
func TestLoopThroughThreeBrokersDies(t *testing.T) {
	a, b, c := newNode(t, "a", nil), newNode(t, "b", nil), newNode(t, "c", nil)
	b.up()
	c.up()
	rule := Rule{Direction: "both", Local: "t/#", QoS: 1}
	startBridges(t, a.Broker, nil, testConfig("ab", b.addr, "5", rule), testConfig("ac", c.addr, "5", rule))
	startBridges(t, b.Broker, nil, testConfig("bc", c.addr, "5", rule))
	sinks := []*sink{newSink(t, a.Broker, "app", "t/#"), newSink(t, b.Broker, "app", "t/#"), newSink(t, c.Broker, "app", "t/#")}
	waitFor(t, 5*time.Second, "every bridge subscribed", func() bool {
		return b.Broker.SubscriptionCount() >= 3 && c.Broker.SubscriptionCount() >= 3
	})
	publish(t, a.Broker, "sensor", "t/x", 0, 1, 1)
	total := func() int {
		n := 0
		for _, s := range sinks {
			n += len(s.messages())
		}
		return n
	}
	// The loop has died when nothing new arrived for half a second.
	last, since := -1, time.Now()
	waitFor(t, 20*time.Second, "the traffic to stop", func() bool {
		if n := total(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 500*time.Millisecond
	})
	maxHops := 0
	for _, s := range sinks {
		for _, m := range s.messages() {
			for _, u := range m.UserProperties {
				if u.Key == HopsProperty {
					h, _ := strconv.Atoi(u.Value)
					maxHops = max(maxHops, h)
				}
			}
		}
	}
	t.Logf("one message became %d deliveries across the triangle; at most %d hops", total(), maxHops)
	if maxHops > MaxHops {
		t.Fatalf("a message crossed %d bridges, more than %d", maxHops, MaxHops)
	}
}

// TestKickedLocalSessionIsReopened: an administrator's kick of the
// bridge's local session does not stop the bridge.
func TestKickedLocalSessionIsReopened(t *testing.T) {
	local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "a")
	set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "a", QoS: 1}))
	waitFor(t, 5*time.Second, "the bridge connected", func() bool { return set.bridge("c").Status().Connected })
	if !local.Broker.Kick(Namespace, "c") {
		t.Fatal("the bridge's local session is not connected")
	}
	waitFor(t, 5*time.Second, "the session reopened", func() bool {
		d, ok := local.Broker.Session(Namespace, "c")
		return ok && d.Connected
	})
	publish(t, local.Broker, "sensor", "a", 0, 5, 1)
	waitFor(t, 5*time.Second, "the messages upstream", func() bool { return len(got.messages()) == 5 })
}

// TestRemovedBridgeSessionIsForgotten: the local session of a bridge taken
// out of the configuration is deleted, so it queues nothing more.
func TestRemovedBridgeSessionIsForgotten(t *testing.T) {
	local := newNode(t, "edge", nil)
	rule := Rule{Direction: "out", Local: "a", QoS: 1}
	set := New([]Config{testConfig("keep", freeAddr(t), "3.1.1", rule), testConfig("gone", freeAddr(t), "3.1.1", rule)}, "edge", nil, local.Broker, nil)
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	set.Stop(context.Background())
	if _, ok := local.Broker.Session(Namespace, "gone"); !ok {
		t.Fatal("a stopped bridge's session should stay")
	}
	startBridges(t, local.Broker, nil, testConfig("keep", freeAddr(t), "3.1.1", rule))
	if _, ok := local.Broker.Session(Namespace, "gone"); ok {
		t.Fatal("the removed bridge's session is still there")
	}
	if _, ok := local.Broker.Session(Namespace, "keep"); !ok {
		t.Fatal("the configured bridge's session is gone")
	}
}

// TestDropsInTheLocalSessionAreCounted: when the bridge's local session
// overflows before the bridge moved its messages to the outbox (here the
// session queue holds 5, the larger of the broker's and the outbox's
// limits, and the bridge is not running), the drops show in the bridge's
// status once it runs.
func TestDropsInTheLocalSessionAreCounted(t *testing.T) {
	local := newNode(t, "edge", nil, func(c *core.Config) { c.MaxQueued = 5 })
	cfg := testConfig("c", freeAddr(t), "3.1.1", Rule{Direction: "out", Local: "a", QoS: 1})
	cfg.OutboxMax = 5
	set := startBridges(t, local.Broker, nil, cfg)
	br := set.bridge("c")
	// Hold the local loop: no Notify reaches it while it is busy here.
	br.local.Disconnect(core.DisconnectNormal, "test: the bridge lags")
	publish(t, local.Broker, "sensor", "a", 0, 8, 1)
	waitFor(t, 5*time.Second, "3 drops counted", func() bool { return br.Status().Dropped == 3 })
}

// TestUpstreamWithoutRetainGetsTheMessageUnretained: an MQTT 5 upstream
// that announces Retain Available 0 would refuse a retained PUBLISH; the
// bridge sends it without the flag instead of dropping it.
func TestUpstreamWithoutRetainGetsTheMessageUnretained(t *testing.T) {
	local := newNode(t, "edge", nil)
	up := newNode(t, "cloud", nil, func(c *core.Config) { c.RetainDisabled = true })
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "state/#")
	set := startBridges(t, local.Broker, nil, testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "state/#", QoS: 1}))
	br := set.bridge("c")
	waitFor(t, 5*time.Second, "the bridge connected", func() bool { return br.Status().Connected })
	m := core.NewMessage("state/door", []byte("open"))
	m.QoS, m.Retain = 1, true
	if _, err := local.Broker.Publish(context.Background(), &core.ClientInfo{Protocol: "test", ClientID: "s"}, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the message upstream", func() bool { return len(got.messages()) == 1 && br.Status().Queued == 0 })
	if st := br.Status(); st.Dropped != 0 {
		t.Fatalf("status %+v", st)
	}
}
