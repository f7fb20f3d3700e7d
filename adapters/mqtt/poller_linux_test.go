package mqtt_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// dialMany opens n raw connections; with a client id prefix, each one
// connects as prefix-i.
func dialMany(t *testing.T, ts *testServer, n int, prefix string) []*rawClient {
	t.Helper()
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(t, ts.tcp(), packet.V311)
		if prefix != "" {
			clients[i].connect(fmt.Sprintf("%s-%d", prefix, i), true)
		}
	}
	return clients
}

// waitArmed waits up to 5 s for want connections to be left to the
// poller, with no goroutine reading them.
func waitArmed(t *testing.T, ts *testServer, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for mqtt.ArmedConns(ts.srv) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left to the poller, want %d", mqtt.ArmedConns(ts.srv), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleConnectionsHoldNoGoroutine checks that quiet plain-TCP
// connections are watched by the adapter's poller, not by a goroutine
// each, and that the poller still wakes them.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	ts := startServer(t)
	base := runtime.NumGoroutine()
	const n = 600
	clients := dialMany(t, ts, n, "idle")
	// Handshakes end on worker goroutines, at most 128 of which wait
	// for more work.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-base > n/2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more for %d idle connections", runtime.NumGoroutine()-base, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range clients {
		c.send(&packet.Packet{Type: packet.PINGREQ})
	}
	for _, c := range clients {
		c.expect(packet.PINGRESP)
	}
}

// TestConnectionsAwaitingConnectHoldNoGoroutine checks that accepted
// plain-TCP connections wait for their CONNECT in the poller: a flood of
// connections that send nothing holds no goroutine each.
func TestConnectionsAwaitingConnectHoldNoGoroutine(t *testing.T) {
	ts := startServer(t)
	base := runtime.NumGoroutine()
	const n = 400
	clients := dialMany(t, ts, n, "")
	waitArmed(t, ts, n)
	if extra := runtime.NumGoroutine() - base; extra > n/4 {
		t.Fatalf("%d goroutines more for %d connections awaiting CONNECT", extra, n)
	}
	for i, c := range clients {
		c.connect(fmt.Sprintf("late-%d", i), true)
	}
}

// TestOnlyBusyConnectionsLinger checks that a reader waits for more input
// only on a connection that had input within the last linger (1 s). The
// readers' wait is set to an hour here, so a reader that lingered would
// keep its connection away from the poller for the rest of the test.
func TestOnlyBusyConnectionsLinger(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mqtt.SetReadLinger(mc, time.Hour) })
	const n = 50
	clients := dialMany(t, ts, n, "quiet")
	waitArmed(t, ts, n) // the first burst after CONNACK never lingers

	// Quiet for longer than a linger: a keepalive ping is answered and
	// the connection goes straight back to the poller.
	time.Sleep(1100 * time.Millisecond)
	for _, c := range clients {
		c.send(&packet.Packet{Type: packet.PINGREQ})
		c.expect(packet.PINGRESP)
	}
	waitArmed(t, ts, n)

	// Busy: a second ping right after the first is read by a reader
	// that then waits for more.
	busy := clients[0]
	busy.send(&packet.Packet{Type: packet.PINGREQ})
	busy.expect(packet.PINGRESP)
	time.Sleep(100 * time.Millisecond)
	if got := mqtt.ArmedConns(ts.srv); got != n-1 {
		t.Fatalf("%d connections left to the poller after a busy one's input, want %d", got, n-1)
	}
}

// TestLateTimerFiringKeepsConnection checks that a connect or keepalive
// timer whose firing was under way while its connection was busy, and
// that takes the connection once it is armed again, does not end it: the
// deadline it fired for is gone (keep alive 0) or has moved.
func TestLateTimerFiringKeepsConnection(t *testing.T) {
	// A reader that lingered after a late firing would keep its
	// connection from the poller for the rest of the test.
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mqtt.SetReadLinger(mc, time.Hour) })
	noKeepAlive := dialRaw(t, ts.tcp(), packet.V311)
	noKeepAlive.connect("ka-0", true, func(p *packet.Packet) { p.KeepAlive = 0 })
	keepAlive := dialRaw(t, ts.tcp(), packet.V311)
	keepAlive.connect("ka-30", true)
	waitArmed(t, ts, 2)
	mqtt.FireKeepAliveTimers(ts.srv)
	waitArmed(t, ts, 2)
	for _, c := range []*rawClient{noKeepAlive, keepAlive} {
		c.send(&packet.Packet{Type: packet.PINGREQ})
		c.expect(packet.PINGRESP)
	}
}

// TestConnectTimeoutShorterThanArming checks that a connect timeout so
// short that its timer fires before the accepted connection is even
// armed still closes the connection.
func TestConnectTimeoutShorterThanArming(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, mc *mqtt.Config) { mc.ConnectTimeout = time.Nanosecond })
	for i, c := range dialMany(t, ts, 300, "") {
		p, err := c.read()
		switch {
		case err == nil:
			t.Fatalf("connection %d: got %v, want it closed", i, p.Type)
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("connection %d still open after 5 s", i)
		}
	}
}

// TestLateTimerFiringsDuringConnects fires every connection's timer over
// and over while clients connect and ping: a firing that takes a
// connection before its first arming serves it, and the connection must
// still be watched by the poller afterwards (its later re-arming adds it).
func TestLateTimerFiringsDuringConnects(t *testing.T) {
	ts := startServer(t)
	stop := make(chan struct{})
	fired := make(chan struct{})
	go func() {
		defer close(fired)
		for {
			select {
			case <-stop:
				return
			default:
				mqtt.FireKeepAliveTimers(ts.srv)
				runtime.Gosched() // with one P, let the clients and the server run
			}
		}
	}()
	defer func() { close(stop); <-fired }()
	for i := range 300 {
		c := dialRaw(t, ts.tcp(), packet.V311)
		c.connect(fmt.Sprintf("fired-%d", i), true)
		c.send(&packet.Packet{Type: packet.PINGREQ})
		c.expect(packet.PINGRESP)
		c.nc.Close()
	}
}

// epollSets returns, for each epoll set this process has, the
// descriptors registered in it, as /proc/self/fdinfo lists them.
func epollSets(t *testing.T) [][]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	var sets [][]int
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		var set []int
		for _, line := range strings.Split(string(info), "\n") {
			var fd int
			if _, err := fmt.Sscanf(line, "tfd: %d", &fd); err == nil {
				set = append(set, fd)
			}
		}
		sets = append(sets, set)
	}
	return sets
}

// pollSets counts the epoll sets fd is registered in.
func pollSets(t *testing.T, fd int) int {
	n := 0
	for _, set := range epollSets(t) {
		if slices.Contains(set, fd) {
			n++
		}
	}
	return n
}

// TestIdleConnectionsStayOutOfRuntimePoller checks that a plain-TCP
// connection that never had to wait is registered only in the adapter's
// epoll set, not in the runtime's too, and that one that waited for input
// (a busy reader lingering) is served by the runtime's poller as well.
func TestIdleConnectionsStayOutOfRuntimePoller(t *testing.T) {
	ts := startServer(t)
	const n = 3
	clients := dialMany(t, ts, n, "bare")
	waitArmed(t, ts, n)
	for i, c := range clients {
		if got := pollSets(t, serverSide(t, c.nc)); got != 1 {
			t.Fatalf("idle connection %d is in %d epoll sets, want 1", i, got)
		}
	}

	// Input within a linger of the CONNECT: the reader waits for more.
	busy := clients[0]
	busy.send(&packet.Packet{Type: packet.PINGREQ})
	busy.expect(packet.PINGRESP)
	waitArmed(t, ts, n-1)
	if got := pollSets(t, serverSide(t, busy.nc)); got != 2 {
		t.Fatalf("lingering connection is in %d epoll sets, want 2", got)
	}
	busy.send(&packet.Packet{Type: packet.PINGREQ})
	busy.expect(packet.PINGRESP)
}
