package stomp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
)

const connect12 = "CONNECT\naccept-version:1.2\nhost:h\n\n\x00"

// connected dials raw TCP and completes a 1.2 CONNECT.
func connected(t *testing.T, ts *testServer, hdrs ...string) *rawConn {
	t.Helper()
	r := dialRaw(t, ts.tcp())
	r.send(t, "CONNECT\naccept-version:1.2\nhost:h\n"+strings.Join(hdrs, "")+"\n\x00")
	if f := r.frame(t); !strings.HasPrefix(f, "CONNECTED\n") {
		t.Fatalf("CONNECT answered %q", f)
	}
	return r
}

// wantError asserts an ERROR frame whose message holds msg, then close.
func (c *rawConn) wantError(t *testing.T, msg string) {
	t.Helper()
	f := c.frame(t)
	if !strings.HasPrefix(f, "ERROR\n") || !strings.Contains(f, msg) {
		t.Fatalf("got %q, want an ERROR with %q", f, msg)
	}
	c.closed(t)
}

// TestFixturesOverTCP sends each malformed fixture of testdata/stomp
// after CONNECT: the connection gets an ERROR and is closed, and another
// connection goes on working.
func TestFixturesOverTCP(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) { sc.MaxBodySize = 1024; sc.MaxHeaderLength = 4096 })
	other := connected(t, ts)
	dir := filepath.Join("..", "..", "testdata", "stomp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "ok-") || name == "a4-body-without-nul" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			r := connected(t, ts)
			r.send(t, string(b))
			f := r.frame(t)
			if !strings.HasPrefix(f, "ERROR\n") {
				t.Fatalf("got %q, want ERROR", f)
			}
			r.closed(t)
		})
	}
	other.send(t, "SEND\ndestination:still/up\nreceipt:r1\n\n\x00")
	if f := other.frame(t); !strings.Contains(f, "receipt-id:r1") {
		t.Fatalf("the other connection got %q", f)
	}
}

func TestConnectionLifecycle(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) { sc.ConnectTimeout = 300 * time.Millisecond })
	cases := []struct {
		name  string
		input string
		want  string // ERROR message substring, or a CONNECTED header
	}{
		{"frame before CONNECT", "SEND\ndestination:a\n\n\x00", "expected CONNECT"},
		{"only unknown versions", "CONNECT\naccept-version:2.0,1.10\nhost:h\n\n\x00", "no supported protocol version"},
		{"highest common version, odd order and spaces", "CONNECT\naccept-version:1.1, 1.2 ,1.0\nhost:h\n\n\x00", "version:1.2"},
		{"no accept-version means 1.0", "CONNECT\nhost:h\n\n\x00", "session:"},
		{"no host is accepted", "STOMP\naccept-version:1.2\n\n\x00", "version:1.2"},
		{"heart-beat junk", "CONNECT\naccept-version:1.2\nheart-beat:x,1\n\n\x00", "malformed heart-beat"},
		{"heart-beat single number", "CONNECT\naccept-version:1.2\nheart-beat:1000\n\n\x00", "malformed heart-beat"},
		{"heart-beat negative", "CONNECT\naccept-version:1.2\nheart-beat:-1,0\n\n\x00", "malformed heart-beat"},
		{"heart-beat huge", "CONNECT\naccept-version:1.2\nheart-beat:99999999999,0\n\n\x00", "malformed heart-beat"},
		{"heart-beat 0,0", "CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\x00", "heart-beat:0,0"},
		{"CONNECT with a body", "CONNECT\naccept-version:1.2\n\nbody\x00", "body too large"},
		{"CONNECT too large before login", "CONNECT\naccept-version:1.2\nx:" + strings.Repeat("a", 5000) + "\n\n\x00", "line too long"},
		{"1 GiB content-length before login", "CONNECT\naccept-version:1.2\ncontent-length:1073741824\n\n", "body too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, ts.tcp())
			r.send(t, c.input)
			f := r.frame(t)
			if !strings.Contains(f, c.want) {
				t.Fatalf("got %q, want %q", f, c.want)
			}
			if strings.HasPrefix(f, "ERROR\n") {
				r.closed(t)
			}
		})
	}
	t.Run("no CONNECT within the timeout", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.wantError(t, "no CONNECT frame")
	})
	t.Run("a CONNECT that stalls halfway", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-ver")
		r.wantError(t, "no CONNECT frame")
	})
	t.Run("second CONNECT", func(t *testing.T) {
		r := connected(t, ts)
		r.send(t, connect12)
		r.wantError(t, "already connected")
	})
	t.Run("100000 headers before login", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\n"+strings.Repeat("h:v\n", 100))
		r.wantError(t, "too many headers")
	})
}

func TestHeartBeats(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) { sc.HeartBeat = 100 * time.Millisecond })
	t.Run("negotiated as the larger of both", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-version:1.2\nheart-beat:0,300\n\n\x00")
		f := r.frame(t)
		if !strings.Contains(f, "heart-beat:100,0") {
			t.Fatalf("CONNECTED %q", f)
		}
		// The server beats every 300 ms: EOLs arrive with no frame.
		r.SetReadDeadline(time.Now().Add(2 * time.Second))
		start := time.Now()
		b, err := r.r.ReadByte()
		if err != nil || b != '\n' {
			t.Fatalf("heart-beat: %v %q", err, b)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("first beat after %s, want about 300ms", d)
		}
	})
	t.Run("a silent client is closed", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-version:1.2\nheart-beat:100,0\n\n\x00")
		start := time.Now()
		if f := r.frame(t); !strings.Contains(f, "heart-beat:0,100") {
			t.Fatalf("CONNECTED %q", f)
		}
		r.wantError(t, "heart-beat timeout")
		if d := time.Since(start); d < time.Second {
			t.Fatalf("closed after %s: the margin is half the interval plus a second", d)
		}
	})
	t.Run("EOL heart-beats keep a client", func(t *testing.T) {
		r := dialRaw(t, ts.tcp())
		r.send(t, "CONNECT\naccept-version:1.2\nheart-beat:100,0\n\n\x00")
		r.frame(t)
		for range 15 {
			time.Sleep(100 * time.Millisecond)
			r.send(t, "\r\n")
		}
		r.send(t, "SEND\ndestination:hb\nreceipt:alive\n\n\x00")
		if f := r.frame(t); !strings.Contains(f, "receipt-id:alive") {
			t.Fatalf("got %q", f)
		}
	})
}

func TestSemantics(t *testing.T) {
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) {
		sc.MaxSubscriptions = 2
		sc.MaxTransactions = 1
		sc.MaxTransactionFrames = 2
		sc.MaxTransactionBytes = 10
	})
	cases := []struct {
		name   string
		frames string
		want   string
	}{
		{"subscription id reused", "SUBSCRIBE\nid:1\ndestination:a\n\n\x00SUBSCRIBE\nid:1\ndestination:b\n\n\x00", "subscription id \"1\" is in use"},
		{"subscription without id", "SUBSCRIBE\ndestination:a\n\n\x00", "without an id"},
		{"too many subscriptions", "SUBSCRIBE\nid:1\ndestination:a\n\n\x00SUBSCRIBE\nid:2\ndestination:a\n\n\x00SUBSCRIBE\nid:3\ndestination:a\n\n\x00", "too many subscriptions"},
		{"unknown ack mode", "SUBSCRIBE\nid:1\ndestination:a\nack:sometimes\n\n\x00", "unknown ack mode"},
		{"ACK of a message never sent", "ACK\nid:99\n\n\x00", "no message \"99\""},
		{"ACK of a foreign id", "ACK\nid:other-session-7\n\n\x00", "no message"},
		{"ACK without id", "ACK\nmessage-id:1\n\n\x00", "without an id header"},
		{"wildcard in SEND", "SEND\ndestination:a/+\n\n\x00", "wildcard"},
		{"the ERROR names the receipt of its frame", "SEND\ndestination:a/+\nreceipt:77\n\n\x00", "receipt-id:77\n"},
		{"hash in SEND", "SEND\ndestination:a/#\n\n\x00", "wildcard"},
		{"$SYS in SEND", "SEND\ndestination:$SYS/x\n\n\x00", "not authorized"},
		{"empty destination", "SEND\ndestination:\n\n\x00", "missing destination"},
		{"bad filter", "SUBSCRIBE\nid:1\ndestination:a/#/b\n\n\x00", "topic filter invalid"},
		{"qos out of range", "SEND\ndestination:a\nqos:3\n\n\x00", "qos header"},
		{"COMMIT of nothing", "COMMIT\ntransaction:t\n\n\x00", "no open transaction"},
		{"SEND in an unknown transaction", "SEND\ndestination:a\ntransaction:t\n\n\x00", "no open transaction"},
		{"too many transactions", "BEGIN\ntransaction:a\n\n\x00BEGIN\ntransaction:b\n\n\x00", "too many open transactions"},
		{"a transaction too large", "BEGIN\ntransaction:a\n\n\x00" + strings.Repeat("SEND\ndestination:a\ntransaction:a\n\n\x00", 3), "too many frames"},
		{"transactions too many bytes", "BEGIN\ntransaction:a\n\n\x00SEND\ndestination:a\ntransaction:a\n\n0123456789x\x00", "too many bytes"},
		{"server command from a client", "MESSAGE\ndestination:a\n\n\x00", "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := connected(t, ts)
			r.send(t, c.frames)
			r.wantError(t, c.want)
		})
	}
}

func TestReceipts(t *testing.T) {
	ts := startServer(t)
	r := connected(t, ts)
	r.send(t, "SUBSCRIBE\nid:s\ndestination:r/1\nreceipt:1\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:1") {
		t.Fatalf("got %q", f)
	}
	// The SEND is routed before its RECEIPT is queued; the writer
	// writes queued frames before it pulls deliveries, so the two may
	// come in either order.
	r.send(t, "SEND\ndestination:r/1\nreceipt:2\n\nx\x00")
	got := r.frame(t) + r.frame(t)
	if !strings.Contains(got, "MESSAGE\n") || !strings.Contains(got, "receipt-id:2") {
		t.Fatalf("got %q, want the MESSAGE and the RECEIPT", got)
	}
	r.send(t, "UNSUBSCRIBE\nid:unknown\nreceipt:3\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:3") {
		t.Fatalf("got %q", f)
	}
	r.send(t, "DISCONNECT\nreceipt:bye\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:bye") {
		t.Fatalf("got %q", f)
	}
	r.closed(t)
}

func TestVersion10(t *testing.T) {
	ts := startServer(t)
	r := dialRaw(t, ts.tcp())
	r.send(t, "CONNECT\nlogin:u\n\n\x00")
	if f := r.frame(t); strings.Contains(f, "version:") || !strings.Contains(f, "session:") {
		t.Fatalf("1.0 CONNECTED %q", f)
	}
	// No id: the destination is the id. A backslash is literal in 1.0.
	r.send(t, "SUBSCRIBE\ndestination:v10\n\n\x00SEND\ndestination:v10\nk:C:\\new\n\n\x00")
	f := r.frame(t)
	if !strings.Contains(f, "subscription:v10\n") || !strings.Contains(f, "k:C:\\new\n") {
		t.Fatalf("1.0 MESSAGE %q", f)
	}
}

// TestRepeatedHeadersFirstWins: of repeated destination, id, receipt and
// ack headers the first one counts [STOMP 1.2 Repeated Header Entries].
func TestRepeatedHeadersFirstWins(t *testing.T) {
	ts := startServer(t)
	r := connected(t, ts)
	r.send(t, "SUBSCRIBE\nid:first\nid:second\ndestination:dup/a\ndestination:dup/b\nack:client-individual\nack:auto\nreceipt:r1\nreceipt:r2\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:r1\n") {
		t.Fatalf("got %q", f)
	}
	r.send(t, "SEND\ndestination:dup/a\ndestination:dup/b\n\none\x00SEND\ndestination:dup/b\n\ntwo\x00")
	f := r.frame(t)
	if !strings.Contains(f, "subscription:first\n") || !strings.Contains(f, "destination:dup/a\n") || !strings.HasSuffix(f, "\none\x00") {
		t.Fatalf("got %q", f)
	}
	// ack:client-individual won: the MESSAGE asks for an ACK, and a second
	// ACK of the same id is ignored.
	ack := header(f, "ack")
	if ack == "" {
		t.Fatalf("no ack header in %q", f)
	}
	r.send(t, "ACK\nid:"+ack+"\n\n\x00ACK\nid:"+ack+"\nreceipt:twice\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:twice") {
		t.Fatalf("got %q", f)
	}
}

// TestCommitStopsAtARefusedSend: COMMIT applies its frames in order; a
// refused SEND ends the connection with ERROR, the frames before it
// applied and those after it not (COMMIT is not atomic).
func TestCommitStopsAtARefusedSend(t *testing.T) {
	ts := startServer(t)
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "commit/#", 1)
	r := connected(t, ts)
	r.send(t, "BEGIN\ntransaction:t\n\n\x00"+
		"SEND\ndestination:commit/before\ntransaction:t\n\n\x00"+
		"SEND\ndestination:$SYS/x\ntransaction:t\n\n\x00"+
		"SEND\ndestination:commit/after\ntransaction:t\n\n\x00"+
		"COMMIT\ntransaction:t\n\n\x00")
	r.wantError(t, "not authorized")
	if got := m.next(t); got.Topic() != "commit/before" {
		t.Fatalf("got %s", got.Topic())
	}
	s := dialRaw(t, ts.tcp())
	s.send(t, connect12+"SEND\ndestination:commit/marker\nreceipt:m\n\n\x00")
	s.frame(t)
	s.frame(t)
	if got := m.next(t); got.Topic() != "commit/marker" {
		t.Fatalf("got %s after the refused COMMIT", got.Topic())
	}
}
