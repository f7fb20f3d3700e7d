package stomp_test

import (
	"runtime"
	"strings"
	"testing"
)

// TestIdleConnectionsHoldNoGoroutine: connected STOMP connections over
// TCP wait in the poller with no reader and no writer goroutine.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	ts := startServer(t)
	const n = 200
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	conns := make([]*rawConn, n)
	for i := range conns {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\x00SUBSCRIBE\nid:1\ndestination:idle/#\nreceipt:r\n\n\x00")
		if f := r.frame(t); !strings.HasPrefix(f, "CONNECTED\n") {
			t.Fatalf("got %q", f)
		}
		r.frame(t) // the RECEIPT
		conns[i] = r
	}
	// The test's own side holds no goroutine per connection either, so
	// what is left is the server's.
	var g int
	waitFor(t, "idle connections to release their goroutines", func() bool {
		g = runtime.NumGoroutine()
		return g-g0 < n/10
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("%d idle connections: %d more goroutines, about %d bytes of heap each (both ends of the connection)",
		n, g-g0, (int64(after.HeapInuse)-int64(before.HeapInuse))/n)
	// They still work.
	r := conns[n/2]
	r.send(t, "SEND\ndestination:idle/x\n\nwake\x00")
	if f := r.frame(t); !strings.Contains(f, "wake") {
		t.Fatalf("got %q", f)
	}
}
