package bridge

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/internal/testcert"
)

// mosquitto is Debian's mosquitto broker run by a test as an upstream.
type mosquitto struct {
	t    *testing.T
	path string
	conf string
	addr string
	cmd  *exec.Cmd
}

// startMosquitto runs mosquitto on a free loopback port with extra lines
// of configuration (after the listener line). It skips the test when
// mosquitto is not installed, except in CI, where scripts/test-deps.sh
// must have installed it.
func startMosquitto(t *testing.T, extra string) *mosquitto {
	t.Helper()
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		path = "/usr/sbin/mosquitto"
		if _, serr := os.Stat(path); serr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("mosquitto not found (run scripts/test-deps.sh): %v", err)
			}
			t.Skipf("mosquitto not found; run scripts/test-deps.sh: %v", err)
		}
	}
	dir := openDir(t)
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 0\n%s", port, dir, extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{t: t, path: path, conf: conf, addr: addr}
	m.start()
	t.Cleanup(m.stop)
	return m
}

// openDir is a temporary directory that mosquitto, which drops root for
// its own user, can use: t.TempDir's parent is private to the test's user.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mqgate-bridge-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (m *mosquitto) start() {
	m.t.Helper()
	cmd := exec.Command(m.path, "-c", m.conf)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto does not accept on %s: %s", m.addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends mosquitto with SIGTERM, so that it saves its persistence file.
func (m *mosquitto) stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(os.Interrupt)
	m.cmd.Wait()
	m.cmd = nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// mqttClient is an application on the upstream: a persistent session that
// reconnects on its own and records what it receives.
type mqttClient struct {
	c  paho3.Client
	mu sync.Mutex
	in []string // topic=payload
}

func newMQTTClient(t *testing.T, addr, id, filter string) *mqttClient {
	t.Helper()
	return newMQTTClientQoS(t, addr, id, filter, 1)
}

// newMQTTClientQoS is newMQTTClient subscribing at qos.
func newMQTTClientQoS(t *testing.T, addr, id, filter string, qos byte) *mqttClient {
	t.Helper()
	a := &mqttClient{}
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(100 * time.Millisecond).SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			a.mu.Lock()
			a.in = append(a.in, m.Topic()+"="+string(m.Payload()))
			a.mu.Unlock()
		})
	a.c = paho3.NewClient(o)
	if tok := a.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", addr, tok.Error())
	}
	if filter != "" {
		if tok := a.c.Subscribe(filter, qos, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	t.Cleanup(func() { a.c.Disconnect(0) })
	return a
}

func (a *mqttClient) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.in...)
}

func TestMosquittoUpstreamOutAndIn(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			mq := startMosquitto(t, "")
			local := newNode(t, "edge", nil)
			app := newMQTTClient(t, mq.addr, "app-"+proto, "cloud/#")
			atEdge := newSink(t, local.Broker, "actuator", "cmd/#")
			set := startBridges(t, local.Broker, nil, testConfig("m", mq.addr, proto,
				Rule{Direction: "out", Local: "site/+/temp", Remote: "cloud/${node}/$1/temp", QoS: 1},
				Rule{Direction: "in", Local: "cmd/#", Remote: "down/${node}/#", QoS: 1}))
			waitFor(t, 5*time.Second, "the bridge connected", func() bool { return set.bridge("m").Status().Connected })
			publish(t, local.Broker, "sensor", "site/k9/temp", 0, 10, 1)
			waitFor(t, 5*time.Second, "10 messages at mosquitto", func() bool { return len(app.received()) >= 10 })
			if got := app.received()[0]; got != "cloud/edge/k9/temp=0" {
				t.Fatalf("got %q", got)
			}
			// Connected is reported once the in subscription is made.
			app.c.Publish("down/edge/door", 1, false, "close").Wait()
			waitFor(t, 5*time.Second, "the command at the edge", func() bool { return len(atEdge.messages()) > 0 })
			if m := atEdge.messages()[0]; m.Topic != "cmd/door" || string(m.Payload) != "close" {
				t.Fatalf("got %q=%q", m.Topic, m.Payload)
			}
		})
	}
}

// TestMosquittoRestartDrainsBacklog stops mosquitto, publishes thousands of
// messages locally, starts mosquitto again: all arrive, in order; at QoS 2
// exactly once (nothing was in flight when the link went down).
func TestMosquittoRestartDrainsBacklog(t *testing.T) {
	for _, proto := range protocols {
		for _, qos := range []byte{1, 2} {
			t.Run(fmt.Sprintf("mqtt%s/qos%d", proto, qos), func(t *testing.T) {
				mq := startMosquitto(t, "")
				local := newNode(t, "edge", nil)
				app := newMQTTClient(t, mq.addr, fmt.Sprintf("app-%s-%d", proto, qos), "up/#")
				set := startBridges(t, local.Broker, nil, testConfig("m", mq.addr, proto,
					Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: qos}))
				br := set.bridge("m")
				waitFor(t, 5*time.Second, "the bridge connected", func() bool { return br.Status().Connected })
				mq.stop()
				const n = 5000
				publish(t, local.Broker, "sensor", "seq", 0, n, qos)
				waitFor(t, 5*time.Second, "the backlog in the outbox", func() bool { return br.Status().Queued == n })
				mq.start()
				waitFor(t, 60*time.Second, "the backlog at mosquitto", func() bool { return len(app.received()) >= n && br.Status().Queued == 0 })
				dups := checkOrder(t, seqOf(app.received(), "up/seq="), n)
				if qos == 2 && dups != 0 {
					t.Fatalf("%d duplicates at QoS 2", dups)
				}
				t.Logf("%d messages through a mosquitto restart, in order, %d duplicates", n, dups)
			})
		}
	}
}

// TestMosquittoMutualTLS bridges to mosquitto over TLS with a client
// certificate it requires; without the certificate the bridge stays down
// and says why.
func TestMosquittoMutualTLS(t *testing.T) {
	certs := testcert.Write(t, openDir(t), "edge-1")
	for _, f := range []string{certs.CA, certs.Cert, certs.Key} {
		os.Chmod(f, 0o644) // mosquitto reads them as its own user
	}
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			plain := startMosquitto(t, "")
			tlsAddr := freeAddr(t)
			_, port, _ := net.SplitHostPort(tlsAddr)
			startMosquittoTLS := fmt.Sprintf("listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
				port, certs.CA, certs.Cert, certs.Key)
			plain.stop()
			os.WriteFile(plain.conf, append(mustRead(t, plain.conf), startMosquittoTLS...), 0o644)
			plain.start()
			app := newMQTTClient(t, plain.addr, "app-"+proto, "cloud/#")

			local := newNode(t, "edge", nil)
			good := testConfig("good", "tls://"+tlsAddr, proto, Rule{Direction: "out", Local: "a", Remote: "cloud/a", QoS: 1})
			good.TLS = &TLS{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
			bad := testConfig("nocert", "tls://"+tlsAddr, proto, Rule{Direction: "out", Local: "b", Remote: "cloud/b", QoS: 1})
			bad.TLS = &TLS{CAFile: certs.CA}
			set := startBridges(t, local.Broker, nil, good, bad)
			waitFor(t, 5*time.Second, "the mTLS bridge connected", func() bool { return set.bridge("good").Status().Connected })
			publish(t, local.Broker, "sensor", "a", 0, 1, 1)
			waitFor(t, 5*time.Second, "the message at mosquitto", func() bool { return len(app.received()) >= 1 })
			waitFor(t, 5*time.Second, "an error for the bridge without a certificate", func() bool {
				st := set.bridge("nocert").Status()
				return !st.Connected && st.LastError != "" && st.Reconnects == 0
			})
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
