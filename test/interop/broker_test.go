package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mqgate/mqgate/internal/testbroker"
)

func TestMain(m *testing.M) { os.Exit(testbroker.Main(m)) }

// broker is one mqgate process with a TCP and a WebSocket MQTT listener.
type broker struct {
	*testbroker.Process
	TCPPort int
	WSPort  int
}

// TCPAddr is host:port of the MQTT/TCP listener.
func (b *broker) TCPAddr() string { return fmt.Sprintf("127.0.0.1:%d", b.TCPPort) }

// WSURL is the URL of the MQTT/WebSocket listener.
func (b *broker) WSURL() string { return fmt.Sprintf("ws://127.0.0.1:%d/mqtt", b.WSPort) }

// TCPURL is the mqtt:// URL of the MQTT/TCP listener.
func (b *broker) TCPURL() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", b.TCPPort) }

const brokerConfig = `node: interop
log: {level: debug, format: text}
sys: {interval: 0s}
http: {address: "127.0.0.1:0"}
mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
    - {name: ws, type: ws, address: "127.0.0.1:0", path: /mqtt}
`

// startBroker runs mqgate on kernel-chosen loopback ports and waits until
// both listeners accept connections; testbroker's cleanup stops it with
// SIGTERM and fails the test unless it exits with status 0.
func startBroker(t *testing.T) *broker {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	data := fmt.Sprintf("storage: {dir: %q}\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(brokerConfig+data), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testbroker.Start(t, cfg, "tcp", "ws")
	return &broker{Process: p, TCPPort: p.Port("tcp"), WSPort: p.Port("ws")}
}

// TestBrokerExitsZeroOnSIGTERM proves that mqgate shuts down cleanly, with
// exit status 0, while clients are connected over both transports, and that
// it tells or disconnects them. Every other test asserts the exit status too,
// in startBroker's cleanup.
func TestBrokerExitsZeroOnSIGTERM(t *testing.T) {
	b := startBroker(t)
	v5 := newMosquitto(t, b, "5").subscribe(t, "-q", "1", "-t", "interop/shutdown")

	// A bare MQTT 3.1.1 session: CONNECT with an empty client ID, clean session.
	v311, err := net.Dial("tcp", b.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer v311.Close()
	v311.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := v311.Write([]byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 0}); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	if _, err := io.ReadFull(v311, connack); err != nil || !bytes.Equal(connack, []byte{0x20, 2, 0, 0}) {
		t.Fatalf("CONNACK = % x, %v; want 20 02 00 00", connack, err)
	}
	// An idle connection to the WebSocket listener that never upgrades.
	idle, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.WSPort))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(20 * time.Second))

	if err := b.Stop(); err != nil {
		t.Fatalf("%v\nbroker log:\n%s", err, b.Log())
	}
	// [MQTT-3.14.2] 0x8B: Server shutting down.
	v5.waitLine(t, 10*time.Second, "DISCONNECT (139)", func(l string) bool { return strings.Contains(l, "DISCONNECT (139)") })
	for name, c := range map[string]net.Conn{"MQTT 3.1.1 over TCP": v311, "idle WebSocket listener connection": idle} {
		if n, err := c.Read(make([]byte, 64)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: read after shutdown = %d, %v; want EOF", name, n, err)
		}
	}
	if c, err := net.Dial("tcp", b.TCPAddr()); err == nil {
		c.Close()
		t.Fatal("TCP listener still accepting after shutdown")
	}
}
