package coap

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/mqgate/mqgate/adapters/internal/dtlstest"
	"github.com/mqgate/mqgate/core"
)

var guardKey = []byte("0123456789abcdef")

func guardPSK(extra ...dtls.ClientOption) []dtls.ClientOption {
	return append([]dtls.ClientOption{
		dtls.WithPSK(func([]byte) ([]byte, error) { return guardKey, nil }),
		dtls.WithPSKIdentityHint([]byte("device-9")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
	}, extra...)
}

func startDTLSEnv(t *testing.T, opts ...envOpt) *testEnv {
	t.Helper()
	return startEnv(t, append([]envOpt{func(_ *core.Config, c *Config) {
		c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
			DTLS: &DTLS{PSK: map[string][]byte{"device-9": guardKey}}})
	}}, opts...)...)
}

// dtlsClientOver handshakes over pc with pion and runs go-coap's client on
// the association.
func dtlsClientOver(t *testing.T, pc net.PacketConn, addr net.Addr, opts ...dtls.ClientOption) *udpclient.Conn {
	t.Helper()
	dc, err := dtls.ClientWithOptions(pc, addr, guardPSK(opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Generous: a handshake started during a flood may wait for the
	// flood's evicted handshakes to close, on a loaded machine for long.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		dc.Close()
		t.Fatalf("handshake: %v", err)
	}
	stop := make(chan struct{})
	c := coapdtls.Client(dc, options.WithCloseSocket(), options.WithPeriodicRunner(periodic.New(stop, 100*time.Millisecond)))
	t.Cleanup(func() {
		c.Close()
		close(stop)
	})
	return c
}

func (e *testEnv) dtlsListener(t *testing.T) *listener {
	t.Helper()
	e.gw.mu.Lock()
	defer e.gw.mu.Unlock()
	for _, l := range e.gw.listeners {
		if l.dtls != nil {
			return l
		}
	}
	t.Fatal("no dtls listener")
	return nil
}

// TestDTLSConnectionIDKeepsSessionAndObservationsAcrossRebinding: a client
// behind a NAT that gives it a new source port mid-session keeps its DTLS
// session, its CoAP client and its observation (RFC 9146).
func TestDTLSConnectionIDKeepsSessionAndObservationsAcrossRebinding(t *testing.T) {
	e := startDTLSEnv(t)
	pc := dtlstest.NewRebindingConn(t)
	c := dtlsClientOver(t, pc, e.addrs["dtls"], dtls.WithConnectionIDGenerator(dtls.OnlySendCIDGenerator()))
	sub := e.mqttSubscribe("sub", "nat/#", 1)
	if code, d := post(t, c, "/ps/nat/up", "before", false); code != codes.Changed.String() {
		t.Fatalf("publish: %s %q", code, d)
	}
	recv(t, sub, "the first publish")
	ch, _ := observe(t, c, "/ps/nat/down")
	recv(t, ch, "registration")

	before, after := pc.Rebind(t)
	if before == after {
		t.Fatalf("the source port did not change: %s", before)
	}
	if code, d := post(t, c, "/ps/nat/up", "after", false); code != codes.Changed.String() {
		t.Fatalf("publish from the new port: %s %q", code, d)
	}
	if m := recv(t, sub, "the publish from the new port"); m.payload != "after" {
		t.Fatalf("got %+v", m)
	}
	// The notification can only reach the client at its new port: the old
	// socket is closed.
	e.mqttPublish(e.mqttClient("pub"), "nat/down", 1, false, "to the new port")
	if n := recv(t, ch, "a notification after the rebinding"); n.payload != "to the new port" {
		t.Fatalf("got %+v", n)
	}
	e.gw.mu.Lock()
	clients, assocs := len(e.gw.byID), len(e.gw.dtlsConns)
	e.gw.mu.Unlock()
	if clients != 1 || assocs != 1 {
		t.Fatalf("%d clients and %d associations after the rebinding, want the one", clients, assocs)
	}
	if _, all := e.dtlsListener(t).dtls.Peers(); all != 1 {
		t.Fatalf("the listener routes to %d peers, want 1", all)
	}
}

// TestDTLSClientHelloFloodStaysBounded floods the CoAP DTLS listener with
// ClientHellos from thousands of source addresses while a client
// handshakes and publishes: pion's connections, the gateway's
// associations and goroutines stay within the pending-handshake bound, and
// the client is served.
func TestDTLSClientHelloFloodStaysBounded(t *testing.T) {
	const maxPending, hellos = 32, 4000
	e := startDTLSEnv(t, func(_ *core.Config, c *Config) {
		c.Listeners[len(c.Listeners)-1].DTLS.MaxHandshakes = maxPending
	})
	l := e.dtlsListener(t)
	hello := dtlstest.ClientHello(t, guardPSK()...)
	base := runtime.NumGoroutine()

	stop := make(chan struct{})
	var peakG, peakAssocs int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // samples the high-water marks while the flood runs
		defer wg.Done()
		for {
			g := runtime.NumGoroutine()
			e.gw.mu.Lock()
			a := len(e.gw.dtlsConns)
			e.gw.mu.Unlock()
			peakG, peakAssocs = max(peakG, g), max(peakAssocs, a)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- dtlstest.Flood(e.addrs["dtls"], hellos, hello) }()

	waitFor(t, "the flood under way", func() bool { return l.dtls.Stats().Hellos.Load() > 2*maxPending })
	c := dtlsClientOver(t, newUDPSocket(t), e.addrs["dtls"])
	if code, d := post(t, c, "/ps/flood/a", "through the flood", false); code != codes.Changed.String() {
		t.Fatalf("publish during the flood: %s %q", code, d)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if code, d := post(t, c, "/ps/flood/a", "after the flood", false); code != codes.Changed.String() {
		t.Fatalf("publish after the flood: %s %q", code, d)
	}

	st := l.dtls.Stats()
	t.Logf("hellos %d, evicted %d, refused %d, dropped %d, peak peers %d, peak associations %d, goroutines %d -> peak %d",
		st.Hellos.Load(), st.Evicted.Load(), st.Refused.Load(), st.Dropped.Load(), st.PeakPeers.Load(), peakAssocs, base, peakG)
	if peak := st.PeakPeers.Load(); peak > maxPending+1 {
		t.Fatalf("peak peers %d, want at most %d pending and the client", peak, maxPending)
	}
	// An evicted association counts until pion has closed it: at most
	// twice the bound are unproven, plus the client.
	if limit := 2*maxPending + 1; peakAssocs > limit {
		t.Fatalf("peak associations %d, want at most %d", peakAssocs, limit)
	}
	// pion runs a few goroutines per connection; the client adds its own.
	if limit := base + 8*(2*maxPending+1) + 50; peakG > limit {
		t.Fatalf("peak goroutines %d, want at most %d", peakG, limit)
	}
	if h := st.Hellos.Load(); st.Evicted.Load() < h-maxPending-1 {
		t.Fatalf("%d hellos opened handshakes but only %d were evicted", h, st.Evicted.Load())
	}
	if st.Hellos.Load()+st.Refused.Load() < hellos/4 {
		t.Fatalf("only %d of %d hellos reached the listener", st.Hellos.Load()+st.Refused.Load(), hellos)
	}
}

func newUDPSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDTLSRebootedClientServedAtOnce: a device that loses its DTLS state
// and handshakes again from the same address and port publishes and
// observes at once, not after its old association's heartbeat window;
// the old association and the client on it are dropped (RFC 6347 4.2.8),
// even with as many associations as max_clients allows.
func TestDTLSRebootedClientServedAtOnce(t *testing.T) {
	e := startDTLSEnv(t, func(_ *core.Config, c *Config) {
		c.Heartbeat = 10 * time.Minute
		c.MaxClients = 1
	})
	l := e.dtlsListener(t)
	pc := newUDPSocket(t)
	old := dtlsClientOver(t, pc, e.addrs["dtls"])
	sub := e.mqttSubscribe("sub", "boot/#", 1)
	if code, d := post(t, old, "/ps/boot/up", "before", false); code != codes.Changed.String() {
		t.Fatalf("publish before the reboot: %s %q", code, d)
	}
	recv(t, sub, "the publish before the reboot")
	ch, _ := observe(t, old, "/ps/boot/down")
	recv(t, ch, "registration")

	// The device reboots: its socket goes without a close_notify, and a
	// new one is bound to the same port.
	local := pc.LocalAddr().(*net.UDPAddr)
	pc.Close()
	pc2, err := net.ListenUDP("udp", local)
	if err != nil {
		t.Fatalf("rebinding %s: %v", local, err)
	}
	c := dtlsClientOver(t, pc2, e.addrs["dtls"])
	waitFor(t, "the old association and its client dropped", func() bool {
		e.gw.mu.Lock()
		defer e.gw.mu.Unlock()
		return len(e.gw.byID) == 0 && len(e.gw.dtlsConns) == 1
	})
	if code, d := post(t, c, "/ps/boot/up", "after", false); code != codes.Changed.String() {
		t.Fatalf("publish after the reboot: %s %q", code, d)
	}
	if m := recv(t, sub, "the publish after the reboot"); m.payload != "after" {
		t.Fatalf("got %+v", m)
	}
	ch2, _ := observe(t, c, "/ps/boot/down")
	recv(t, ch2, "registration after the reboot")
	e.mqttPublish(e.mqttClient("pub"), "boot/down", 1, false, "to the rebooted device")
	if n := recv(t, ch2, "a notification after the reboot"); n.payload != "to the rebooted device" {
		t.Fatalf("got %+v", n)
	}
	if n := l.dtls.Stats().Reboots.Load(); n != 1 {
		t.Fatalf("%d reboots counted, want 1", n)
	}
	e.gw.mu.Lock()
	clients, assocs := len(e.gw.byID), len(e.gw.dtlsConns)
	e.gw.mu.Unlock()
	if clients != 1 || assocs != 1 {
		t.Fatalf("%d clients and %d associations after the reboot, want the one", clients, assocs)
	}
}
