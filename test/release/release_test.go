// Package release tests the release binaries that scripts/release.sh
// builds: each starts (arm and arm64 under qemu-user), carries a
// publish/subscribe round trip, answers /healthz, and stays inside the
// size and idle memory budgets. scripts/qemu-test.sh runs it with
// MQGATE_TEST_BINARY set; without it the tests skip.
package release

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	// rssBudget is the most a fresh gateway on the embedded defaults,
	// HTTP server and disk store included, may hold resident after one
	// round trip: the operations issue's 20 MB, read as 20,000,000 bytes.
	// It holds for every architecture. Under qemu-user only the guest's
	// own pages count (guestRSS), not the emulator's.
	rssBudget = 20_000_000
	// qemuReservedVA confines an arm64 guest under qemu-aarch64 to the
	// first 64 GiB of the emulator's address space, so that its mappings
	// can be told from the emulator's; a 32-bit guest lives in the first
	// 4 GiB anyway.
	qemuReservedVA = 64 << 30
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
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	machine := ef.Machine
	ef.Close()
	emulated := os.Getenv("MQGATE_TEST_EXEC") != ""
	var guestSpan uint64
	if emulated {
		switch machine {
		case elf.EM_AARCH64:
			guestSpan = qemuReservedVA
			t.Setenv("QEMU_RESERVED_VA", fmt.Sprintf("%#x", guestSpan))
		case elf.EM_ARM:
			guestSpan = 1 << 32
		default:
			t.Fatalf("%s: no way to tell a %v guest's memory from qemu's", bin, machine)
		}
	}

	// Three fresh gateways, one after another: the median is the figure,
	// as one start can touch a few more pages than the next.
	var rss [3]int64
	for i := range rss {
		rss[i] = freshGateway(t, bin, emulated, guestSpan, i == len(rss)-1)
	}
	slices.Sort(rss[:])
	median := rss[len(rss)/2]
	t.Logf("RSS of a fresh gateway after one round trip, median of %d: %.1f MiB (%d bytes)", len(rss), float64(median)/(1<<20), median)
	if median >= rssBudget {
		t.Errorf("RSS %d bytes, over the %d byte budget", median, rssBudget)
	}
}

// httpAddrRE finds the HTTP API's address in the gateway's log.
var httpAddrRE = regexp.MustCompile(`msg="HTTP API (?:serving|listening)[^"]*".* addr=(127\.0\.0\.1:\d+)`)

// freshGateway starts bin on the embedded defaults (on ports of its own),
// carries a publish/subscribe round trip through it and returns what it
// then holds resident. With health, it then also asks its HTTP API for
// /healthz (after the measurement, which the HTTP server's code would
// otherwise enlarge).
func freshGateway(t *testing.T, bin string, emulated bool, guestSpan uint64, health bool) int64 {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
    - {name: ws, type: ws, address: "127.0.0.1:0"}
http: {address: "127.0.0.1:0"}
storage: {dir: %q}
`, filepath.Join(dir, "data"))), 0o600)
	p := testbroker.Start(t, cfg, "tcp", "ws")
	defer func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
	}()

	got := make(chan string, 1)
	sub := connect(t, p.Addr("tcp"), "release-sub")
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("release/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub := connect(t, p.Addr("tcp"), "release-pub")
	defer pub.Disconnect(100)
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

	var rss int64
	if emulated {
		var file int64
		rss, file = guestRSS(t, p.Pid(), bin, guestSpan)
		t.Logf("RSS of a fresh gateway after one round trip, its own pages under %s: %.1f MiB (%d bytes; %.1f MiB of them the executable's)",
			os.Getenv("MQGATE_TEST_EXEC"), float64(rss)/(1<<20), rss, float64(file)/(1<<20))
	} else {
		rss = vmRSS(t, p.Pid())
		t.Logf("RSS of a fresh gateway after one round trip: %.1f MiB (%d bytes)", float64(rss)/(1<<20), rss)
	}

	if health {
		m := httpAddrRE.FindStringSubmatch(p.Log())
		if m == nil {
			t.Fatalf("no HTTP API address in the log:\n%s", p.Log())
		}
		resp, err := http.Get("http://" + m[1] + "/healthz")
		if err != nil {
			t.Fatalf("healthz: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("healthz = %d %s", resp.StatusCode, body)
		}
	}
	return rss
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

// guestRSS is the resident memory of a gateway run under qemu-user with a
// guest address space of span bytes at the bottom of the emulator's
// (qemu's default for a 32-bit guest on a 64-bit host; QEMU_RESERVED_VA
// for arm64): every mapping that starts below span is the guest's, the
// emulator's own code, heap and translation cache lie above. file is the
// part that is the guest executable's own pages.
func guestRSS(t *testing.T, pid int, bin string, span uint64) (rss, file int64) {
	t.Helper()
	bin, err := filepath.Abs(bin)
	if err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var guest, ofBinary bool
	sawBinary := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, _, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 && !strings.HasSuffix(fields[0], ":") {
			start, err := strconv.ParseUint(lo, 16, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			ofBinary = len(fields) >= 6 && fields[5] == bin
			guest = start < span
			if ofBinary {
				sawBinary = true
				if !guest {
					t.Fatalf("the guest executable is mapped at %#x, above the %#x bytes taken as the guest's: qemu moved it", start, span)
				}
			}
			continue
		}
		if fields[0] == "Rss:" && guest {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			rss += kb << 10
			if ofBinary {
				file += kb << 10
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !sawBinary {
		t.Fatalf("no mapping of %s in the emulator's smaps", bin)
	}
	return rss, file
}
