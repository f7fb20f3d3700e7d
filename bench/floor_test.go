package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestFloorRelaysEveryPayloadToItsSubscriber(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the server's and the clients' goroutines end
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- ServeEcho(ctx, "127.0.0.1:0", func(a net.Addr) { addrs <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-served:
		t.Fatal(err)
	}
	s := runBench(t, []string{"scenario", "floor", "-c", "3", "-R", "600", "-h", addr.String(), "-d", "300ms"})
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("echo server: %v", err)
	}
	if s.Errors != 0 || s.Connected != 6 || s.Pubs != 3 || s.Subs != 3 {
		t.Fatalf("errors %d, connected %d, publishers %d, subscribers %d", s.Errors, s.Connected, s.Pubs, s.Subs)
	}
	if s.Sent == 0 || s.Expected == nil || *s.Expected != s.Sent || *s.Lost != 0 || s.Received != s.Sent {
		t.Fatalf("sent %d, received %d, expected %v, lost %v", s.Sent, s.Received, s.Expected, s.Lost)
	}
	if s.Samples != uint64(s.Received) || s.P99 <= 0 {
		t.Fatalf("latency: %d samples for %d payloads, p99 %vus", s.Samples, s.Received, s.P99)
	}
}

func TestFloorNeedsRoomForTheTimeStamp(t *testing.T) {
	if _, err := plan("scenario", "floor", &Options{Size: 4, Version: 4, Window: 1, Inflight: 1, SNKeepAlive: 60e9, SNRetry: 1}, map[string]bool{}); err == nil {
		t.Fatal("floor with 4-byte payloads: no error")
	}
}

func TestRelayDropsAPublisherWhoseSubscriberNeverCame(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	old := relayTimeout
	relayTimeout = 50 * time.Millisecond
	defer func() { relayTimeout = old }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- ServeEcho(ctx, "127.0.0.1:0", func(a net.Addr) { addrs <- a }) }()
	nc, err := net.Dial("tcp", (<-addrs).String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte{'p', 0, 0, 0, 7}); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("publisher without a subscriber: read %v, want the relay to close it", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("echo server: %v", err)
	}
}
