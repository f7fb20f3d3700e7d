package bench

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// planRun plans a bench run from command-line words, its messages going to
// log.
func planRun(t *testing.T, log io.Writer, words ...string) *run {
	t.Helper()
	o := &Options{}
	fs := newFlags(o, io.Discard)
	if err := fs.Parse(words[2:]); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	r, err := plan(words[0], words[1], o, set)
	if err != nil {
		t.Fatal(err)
	}
	r.out = &reporter{w: io.Discard, ew: log, quiet: true}
	return r
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRawConnectionsCountRefusedConnacks(t *testing.T) {
	cfg := testConfig()
	cfg.Auth.AllowAnonymous = false
	g := startGateway(t, cfg)
	var log syncBuffer
	r := planRun(t, &log, "scenario", "conns", "-c", "5", "-h", g.MQTTAddr("tcp").String(), "-d", "50ms")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.execute(ctx); err == nil {
		t.Fatal("every CONNECT refused, yet the run succeeded")
	}
	if got := r.st.connFailed.Load(); got != 5 {
		t.Fatalf("%d failed connections, want 5", got)
	}
	if !strings.Contains(log.String(), "CONNACK refused") {
		t.Fatalf("no refusal reported; log: %q", log.String())
	}
}

func TestRawConnectionsTheBrokerEndedAreErrors(t *testing.T) {
	g := startGateway(t, testConfig())
	var log syncBuffer
	r := planRun(t, &log, "scenario", "conns", "-c", "20", "-h", g.MQTTAddr("tcp").String(), "-d", "10s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.execute(ctx)
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); r.st.connected.Load() < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("connected %d of 20", r.st.connected.Load())
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not waiting for an event
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	if err := g.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	cancel() // ends the hold; closing finds every connection ended
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.st.errors.Load(); got != 20 {
		t.Fatalf("%d errors, want 20 (one per connection the broker ended); log: %q", got, log.String())
	}
}
