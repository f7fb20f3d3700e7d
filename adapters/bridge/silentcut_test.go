package bridge

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freezer is a TCP relay whose connections can go silent: freeze makes
// every connection open then swallow what it reads, in both directions,
// without closing either side, as a NAT or a cable pulled upstream does
// (no FIN, no RST). Connections opened later relay normally.
type freezer struct {
	ln    net.Listener
	to    string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	live  []*atomic.Bool // per connection pair: relaying
}

func newFreezer(t *testing.T, to string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, to: to}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

func (f *freezer) accept() {
	defer f.wg.Done()
	for {
		a, err := f.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", f.to)
		if err != nil {
			a.Close()
			continue
		}
		live := &atomic.Bool{}
		live.Store(true)
		f.mu.Lock()
		f.conns = append(f.conns, a, b)
		f.live = append(f.live, live)
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(a, b, live)
		go f.pipe(b, a, live)
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.live {
		l.Store(false)
	}
}

func (f *freezer) pipe(dst, src net.Conn, live *atomic.Bool) {
	defer f.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 && live.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF && live.Load() {
				dst.Close()
			}
			return
		}
	}
}

// TestSilentCutIsFoundByKeepalive: the link goes silent with messages
// in flight and more queued, with no FIN or RST to tell the bridge. Its
// keepalive finds the dead connection, it connects again, and the backlog
// is sent again, in order (checklist #24).
func TestSilentCutIsFoundByKeepalive(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			relay := newFreezer(t, up.addr)
			cfg := testConfig("c", relay.addr(), proto, Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
			cfg.KeepAlive = time.Second
			set := startBridges(t, local.Broker, nil, cfg)
			br := set.bridge("c")
			const n = 2000
			publish(t, local.Broker, "sensor", "seq", 0, n/2, 1)
			waitFor(t, 30*time.Second, "the first half upstream", func() bool { return len(got.messages()) >= n/2 })
			relay.freeze()
			publish(t, local.Broker, "sensor", "seq", n/2, n, 1)
			waitFor(t, 60*time.Second, "every message upstream after a reconnect", func() bool {
				return br.Status().Queued == 0 && len(got.messages()) >= n
			})
			dups := checkSequence(t, got.messages(), n)
			s := br.Status()
			t.Logf("%d reconnects, %d duplicates, last error %q", s.Reconnects, dups, s.LastError)
			if s.Reconnects == 0 {
				t.Fatal("no reconnect: the silent connection was not given up")
			}
		})
	}
}
