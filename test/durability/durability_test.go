// Package durability proves mqgate's storage promise at the process level:
// every message acknowledged to a publisher is delivered after the gateway
// is killed with SIGKILL and restarted on the same data directory.
package durability

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/internal/testbroker"
)

func TestMain(m *testing.M) { os.Exit(testbroker.Main(m)) }

func clientOptions(addr, id string, clean bool) *paho.ClientOptions {
	return paho.NewClientOptions().AddBroker(addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).SetOrderMatters(true)
}

func must(t *testing.T, what string, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

// stream is one publisher's numbered messages.
type stream struct {
	name  string
	qos   byte
	acked []int // numbers acknowledged (PUBACK or PUBCOMP) before the kill
}

const (
	perPublisher = 400
	killAfter    = 300 // acknowledgements over both publishers
)

// TestKill9LosesNothingAcknowledged is the durability promise end to end:
// a persistent offline subscriber, two publishers sending numbered QoS 1
// and QoS 2 messages, SIGKILL in the middle, restart on the same data
// directory; the subscriber receives every acknowledged message, in order
// per publisher, QoS 2 exactly once, and its subscription and the retained
// message are back.
//
// Only sync always makes this promise: with sync batch, what was
// acknowledged in the last interval is still in the process when it dies.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	testKill9(t, "always")
}

func testKill9(t *testing.T, syncMode string) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mqgate.yaml")
	cfg := fmt.Sprintf(`node: durability
log: {level: info, format: text}
sys: {interval: 0s}
http: {address: "127.0.0.1:0"}
sessions: {max_queued_messages: 10000}
storage: {type: disk, dir: %q, sync: %s}
mqtt:
  listeners:
    - {name: tcp, type: tcp, address: "127.0.0.1:0"}
`, filepath.Join(dir, "data"), syncMode)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := testbroker.Start(t, cfgPath, "tcp")
	addr := "tcp://" + g.Addr("tcp")

	sub := paho.NewClient(clientOptions(addr, "durable-sub", false))
	must(t, "subscriber connect", sub.Connect())
	must(t, "subscribe", sub.Subscribe("dur/#", 2, nil))
	sub.Disconnect(250)

	ret := paho.NewClient(clientOptions(addr, "retainer", true))
	must(t, "retainer connect", ret.Connect())
	must(t, "retained publish", ret.Publish("ret/state", 1, true, "on"))
	ret.Disconnect(250)

	streams := []*stream{{name: "q1", qos: 1}, {name: "q2", qos: 2}}
	var acks atomic.Int64
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for acks.Load() < killAfter {
			// Poll the counter, not a wait for an event.
			time.Sleep(time.Millisecond)
		}
		g.Kill()
	}()
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := paho.NewClient(clientOptions(addr, "pub-"+s.name, true))
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Errorf("publisher %s connect: %v", s.name, tok.Error())
				return
			}
			defer c.Disconnect(0)
			for n := 1; n <= perPublisher; n++ {
				tok := c.Publish("dur/"+s.name, s.qos, false, s.name+"-"+strconv.Itoa(n))
				if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					return // the gateway is gone
				}
				s.acked = append(s.acked, n)
				acks.Add(1)
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("publishers finished without reaching the kill point")
	}
	if err := g.Wait(); err == nil {
		t.Fatal("mqgate exited cleanly; it was to be killed")
	}
	for _, s := range streams {
		if len(s.acked) == 0 || len(s.acked) == perPublisher {
			t.Fatalf("publisher %s had %d acks at the kill; the kill must land mid-stream", s.name, len(s.acked))
		}
		t.Logf("publisher %s: %d acknowledged before SIGKILL", s.name, len(s.acked))
	}

	g = testbroker.Start(t, cfgPath, "tcp")
	addr = "tcp://" + g.Addr("tcp")

	var mu sync.Mutex
	got := map[string][]int{}
	arrived := make(chan struct{}, 1)
	o := clientOptions(addr, "durable-sub", false).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
		name, num, ok := strings.Cut(string(m.Payload()), "-")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			return
		}
		mu.Lock()
		got[name] = append(got[name], n)
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	sub = paho.NewClient(o)
	must(t, "subscriber reconnect", sub.Connect())
	defer sub.Disconnect(250)

	// Wait until every acknowledged message arrived, then for a quiet
	// spell so that duplicates would show.
	complete := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range streams {
			seen := map[int]bool{}
			for _, n := range got[s.name] {
				seen[n] = true
			}
			for _, n := range s.acked {
				if !seen[n] {
					return false
				}
			}
		}
		return true
	}
	deadline := time.After(30 * time.Second)
	for !complete() {
		select {
		case <-arrived:
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			for _, s := range streams {
				t.Errorf("publisher %s: acknowledged %d, received %d: %v", s.name, len(s.acked), len(got[s.name]), missing(s.acked, got[s.name]))
			}
			t.FailNow()
		}
	}
	for quiet := false; !quiet; {
		select {
		case <-arrived:
		case <-time.After(time.Second):
			quiet = true
		}
	}

	mu.Lock()
	for _, s := range streams {
		seq := got[s.name]
		last := 0
		seen := map[int]bool{}
		for _, n := range seq {
			if seen[n] {
				if s.qos == 2 {
					t.Errorf("publisher %s: message %d delivered twice at QoS 2", s.name, n)
				}
				continue
			}
			seen[n] = true
			if n < last {
				t.Errorf("publisher %s: message %d after %d", s.name, n, last)
			}
			last = n
		}
		t.Logf("publisher %s: %d deliveries after restart (%d acknowledged)", s.name, len(seq), len(s.acked))
	}
	mu.Unlock()

	// The subscription itself is back: a new message reaches the session.
	pub := paho.NewClient(clientOptions(addr, "pub-after", true))
	must(t, "publisher connect after restart", pub.Connect())
	defer pub.Disconnect(250)
	must(t, "publish after restart", pub.Publish("dur/after", 1, false, "after-1"))
	waitUntil(t, "delivery through the restored subscription", arrived, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["after"]) == 1
	})

	// The retained message is back.
	retained := make(chan string, 1)
	obs := paho.NewClient(clientOptions(addr, "observer", true))
	must(t, "observer connect", obs.Connect())
	defer obs.Disconnect(250)
	must(t, "observer subscribe", obs.Subscribe("ret/#", 1, func(_ paho.Client, m paho.Message) {
		select {
		case retained <- string(m.Payload()):
		default:
		}
	}))
	select {
	case p := <-retained:
		if p != "on" {
			t.Fatalf("retained payload %q, want on", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retained message not restored")
	}
}

func waitUntil(t *testing.T, what string, tick <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func missing(acked, got []int) []int {
	seen := map[int]bool{}
	for _, n := range got {
		seen[n] = true
	}
	var m []int
	for _, n := range acked {
		if !seen[n] {
			m = append(m, n)
		}
	}
	return m
}
