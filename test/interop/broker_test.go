package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mqgateBin is the binary TestMain builds once for every test in the package.
var mqgateBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mqgate-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildMqgate(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	mqgateBin = bin
	return m.Run()
}

// buildMqgate compiles ./cmd/mqgate of the module this package belongs to.
func buildMqgate(dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	bin := filepath.Join(dir, "mqgate")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mqgate")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mqgate: %w\n%s", err, out)
	}
	return bin, nil
}

// broker is one mqgate process with a TCP and a WebSocket MQTT listener.
type broker struct {
	TCPPort int
	WSPort  int
	log     *syncBuffer

	stop     func() error
	stopOnce sync.Once
	stopErr  error
}

// Stop sends SIGTERM and waits for mqgate to exit; it reports an error
// unless the exit status is 0. Later calls return the first call's result.
func (b *broker) Stop() error { return b.stop() }

// TCPAddr is host:port of the MQTT/TCP listener.
func (b *broker) TCPAddr() string { return fmt.Sprintf("127.0.0.1:%d", b.TCPPort) }

// WSURL is the URL of the MQTT/WebSocket listener.
func (b *broker) WSURL() string { return fmt.Sprintf("ws://127.0.0.1:%d/mqtt", b.WSPort) }

// TCPURL is the mqtt:// URL of the MQTT/TCP listener.
func (b *broker) TCPURL() string { return fmt.Sprintf("mqtt://127.0.0.1:%d", b.TCPPort) }

const brokerConfig = `node: interop
log: {level: debug, format: text}
sys: {interval: 0s}
mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
    - {name: ws, type: ws, address: "127.0.0.1:0", path: /mqtt}
`

var listeningRE = regexp.MustCompile(`msg="mqtt listening".* listener=(\w+) .*addr=127\.0\.0\.1:(\d+)`)

// startBroker runs mqgate on kernel-chosen loopback ports, learns them from
// its log, waits until both accept connections, and registers a cleanup that
// stops it with SIGTERM and fails the test unless it exits with status 0.
func startBroker(t *testing.T) *broker {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	data := fmt.Sprintf("storage: {dir: %q}\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(brokerConfig+data), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mqgateBin, "run", "-c", cfg)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mqgate: %v", err)
	}
	b := &broker{log: &syncBuffer{}}
	ports := make(chan [2]string, 4)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			b.log.WriteLine(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				ports <- [2]string{m[1], m[2]}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned // Wait must not run before the pipe has been read to EOF.
		exited <- cmd.Wait()
	}()

	b.stop = func() error {
		b.stopOnce.Do(func() {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				b.stopErr = fmt.Errorf("SIGTERM mqgate: %w", err)
				return
			}
			select {
			case err := <-exited:
				if err != nil {
					b.stopErr = fmt.Errorf("mqgate did not exit 0 after SIGTERM: %w", err)
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-exited
				b.stopErr = errors.New("mqgate still running 20s after SIGTERM; killed")
			}
		})
		return b.stopErr
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("%v\nbroker log:\n%s", err, b.log)
		} else if t.Failed() && testing.Verbose() {
			t.Logf("broker log:\n%s", b.log)
		}
	})

	deadline := time.After(20 * time.Second)
	for b.TCPPort == 0 || b.WSPort == 0 {
		select {
		case p := <-ports:
			var port int
			fmt.Sscan(p[1], &port)
			switch p[0] {
			case "tcp":
				b.TCPPort = port
			case "ws":
				b.WSPort = port
			}
		case err := <-exited:
			b.stopOnce.Do(func() {}) // nothing left to stop
			t.Fatalf("mqgate exited before listening: %v\nbroker log:\n%s", err, b.log)
		case <-deadline:
			t.Fatalf("mqgate did not log both listeners within 20s\nbroker log:\n%s", b.log)
		}
	}
	for _, port := range []int{b.TCPPort, b.WSPort} {
		waitAccepting(t, fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	}
	return b
}

// waitAccepting polls addr until a TCP connection succeeds or timeout passes.
func waitAccepting(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not accepting after %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// syncBuffer collects lines written by one goroutine and read by others.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) WriteLine(line string) {
	s.mu.Lock()
	s.buf.WriteString(line)
	s.buf.WriteByte('\n')
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
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
		t.Fatalf("%v\nbroker log:\n%s", err, b.log)
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
