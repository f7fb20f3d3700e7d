// Package release tests the release binaries that scripts/release.sh
// builds: each starts (arm and arm64 under qemu-user), carries a
// publish/subscribe round trip, and stays inside the size and idle
// memory budgets. scripts/qemu-test.sh runs it with MQGATE_TEST_BINARY
// set; without it the tests skip.
package release

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/internal/testbroker"
)

func TestMain(m *testing.M) { os.Exit(testbroker.Main(m)) }

const (
	// sizeBudget is the largest a stripped binary may be (the arm64
	// budget; the other architectures are smaller or close).
	sizeBudget = 25 << 20
	// rssGuard is the most a fresh gateway on the embedded defaults may
	// hold, measured for the native binary (under qemu the emulator's own
	// memory would count). It is a guard against regressions, above
	// today's figure (about 22.2 MiB after one round trip with the disk
	// store); the operations issue's budget of 20 MB is not met yet.
	rssGuard = 28 << 20
)

func TestReleaseBinary(t *testing.T) {
	bin := os.Getenv("MQGATE_TEST_BINARY")
	if bin == "" {
		t.Skip("run by scripts/qemu-test.sh with MQGATE_TEST_BINARY set to a release binary")
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %.1f MiB", filepath.Base(bin), float64(st.Size())/(1<<20))
	if st.Size() > sizeBudget {
		t.Errorf("%s is %d bytes, over the %d byte budget", bin, st.Size(), sizeBudget)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	// The embedded defaults, but on ports of their own.
	os.WriteFile(cfg, []byte(fmt.Sprintf(`mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
    - {name: ws, type: ws, address: "127.0.0.1:0"}
http: {address: "127.0.0.1:0"}
storage: {dir: %q}
`, filepath.Join(dir, "data"))), 0o600)
	p := testbroker.Start(t, cfg, "tcp", "ws")

	got := make(chan string, 1)
	sub := connect(t, p.Addr("tcp"), "release-sub")
	if tok := sub.Subscribe("release/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub := connect(t, p.Addr("tcp"), "release-pub")
	if tok := pub.Publish("release/x", 1, false, "round trip"); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != "round trip" {
			t.Fatalf("received %q", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no message through the release binary")
	}

	if os.Getenv("MQGATE_TEST_EXEC") == "" {
		rss := vmRSS(t, p.Pid())
		t.Logf("RSS of a fresh gateway after one round trip: %.1f MiB", float64(rss)/(1<<20))
		if rss > rssGuard {
			t.Errorf("RSS %d bytes, over the %d byte guard", rss, rssGuard)
		}
	}
}

func connect(t *testing.T, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(30 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// vmRSS reads a process's resident set size from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
