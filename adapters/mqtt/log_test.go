package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// logSink collects JSON log lines for the log tests.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: level}))
}

// lines returns the records whose msg is msg.
func (s *logSink) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func (s *logSink) wait(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	var got []map[string]any
	waitFor(t, fmt.Sprintf("%d %q log lines", n, msg), func() bool {
		got = s.lines(t, msg)
		return len(got) >= n
	})
	return got
}

func withLog(s *logSink, level slog.Level) serverOpt {
	return func(bc *core.Config, mc *mqtt.Config) {
		bc.Logger = s.logger(level)
		mc.Logger = bc.Logger
	}
}

// TestInfoLogSaysWhoConnected: at info, connects, disconnects, refused
// logins and authorization denials are logged with who and why.
func TestInfoLogSaysWhoConnected(t *testing.T) {
	var sink logSink
	ts := startServer(t, withLog(&sink, slog.LevelInfo), func(bc *core.Config, _ *mqtt.Config) {
		bc.Authorizer = denyTopics{"secret": true}
		bc.Authenticator = authnFunc(func(c *core.ClientInfo) core.Verdict {
			if c.Username == "mallory" {
				return core.Deny
			}
			return core.Ignore
		})
	})
	c, err := tryConnect5(ts.tcp(), "dev-1", func(p *paho.Connect) { p.KeepAlive = 30; p.CleanStart = true })
	if err != nil {
		t.Fatal(err)
	}
	l := sink.wait(t, "client connected", 1)[0]
	for k, want := range map[string]any{"client": "dev-1", "protocol": "mqtt", "version": 5.0,
		"listener": "tcp", "keep_alive": 30e9, "clean_start": true, "session_present": false} {
		if l[k] != want {
			t.Errorf("client connected %s = %v, want %v (%v)", k, l[k], want, l)
		}
	}
	if p, _ := l["peer"].(string); !strings.HasPrefix(p, "127.0.0.1:") {
		t.Errorf("peer %q", p)
	}
	if rc := c.pub(t, &paho.Publish{Topic: "secret", QoS: 1, Payload: []byte("x")}); rc != 0x87 {
		t.Fatalf("PUBACK 0x%02X, want 0x87", rc)
	}
	d := sink.wait(t, "authorization denied", 1)[0]
	if d["client"] != "dev-1" || d["action"] != "publish" || d["topic"] != "secret" {
		t.Errorf("authorization denied line %v", d)
	}
	c.Disconnect(&paho.Disconnect{})
	if g := sink.wait(t, "client disconnected", 1)[0]; g["client"] != "dev-1" || g["reason"] != "client sent DISCONNECT" {
		t.Errorf("client disconnected line %v", g)
	}

	if _, err := tryConnect5(ts.tcp(), "dev-2", func(p *paho.Connect) {
		p.Username, p.UsernameFlag, p.Password, p.PasswordFlag = "mallory", true, []byte("x"), true
	}); err == nil {
		t.Fatal("mallory connected")
	}
	r := sink.wait(t, "authentication refused", 1)[0]
	if r["client"] != "dev-2" || r["username"] != "mallory" || r["reason"] != "bad username or password" {
		t.Errorf("authentication refused line %v", r)
	}

	// A protocol error names its reason and the DISCONNECT code.
	raw := dialRaw(t, ts.tcp(), packet.V5)
	raw.connect("dev-3", true)
	raw.writeRaw([]byte{0x62, 0x00}) // PUBREL without a packet id: malformed
	raw.expectClosed()
	g := sink.wait(t, "client disconnected", 2)[1]
	if reason, _ := g["reason"].(string); g["client"] != "dev-3" || !strings.Contains(reason, "(DISCONNECT 0x") {
		t.Errorf("protocol error disconnect line %v", g)
	}
}

// TestInfoLogIsLimitedPerClient: a client that keeps doing what it may
// not gets a bounded number of lines; another client still gets its own.
func TestInfoLogIsLimitedPerClient(t *testing.T) {
	var sink logSink
	ts := startServer(t, withLog(&sink, slog.LevelInfo), func(bc *core.Config, _ *mqtt.Config) {
		bc.Authorizer = denyTopics{"secret": true}
	})
	noisy := connect5(t, ts.tcp(), "noisy")
	for range 100 {
		noisy.pub(t, &paho.Publish{Topic: "secret", QoS: 1, Payload: []byte("x")})
	}
	quiet := connect5(t, ts.tcp(), "quiet")
	quiet.pub(t, &paho.Publish{Topic: "secret", QoS: 1, Payload: []byte("x")})
	sink.wait(t, "client connected", 2)
	var n, q int
	for _, l := range sink.wait(t, "authorization denied", 1) {
		switch l["client"] {
		case "noisy":
			n++
		case "quiet":
			q++
		}
	}
	// 20 per minute, and "client connected" took one of noisy's.
	if n != 19 || q != 1 {
		t.Fatalf("denial lines: noisy %d (want 19), quiet %d (want 1)", n, q)
	}
}

// TestDebugLogFollowsPackets: at debug a device's developer sees each
// packet in and out and what became of a publish.
func TestDebugLogFollowsPackets(t *testing.T) {
	var sink logSink
	ts := startServer(t, withLog(&sink, slog.LevelDebug))
	sub := connect5(t, ts.tcp(), "dbg-sub")
	sub.sub(t, subOne("dbg/#", 1))
	pub := connect5(t, ts.tcp(), "dbg-pub")
	pub.pub(t, &paho.Publish{Topic: "dbg/t", QoS: 1, Payload: []byte("hello")})
	recv(t, sub.msgs, "message")
	var in, out bool
	for _, l := range sink.wait(t, "mqtt packet received", 3) {
		if l["client"] == "dbg-pub" && l["type"] == "PUBLISH" && l["topic"] == "dbg/t" && l["qos"] == 1.0 && l["bytes"] == 5.0 {
			in = true
		}
	}
	waitFor(t, "PUBLISH sent to the subscriber", func() bool {
		for _, l := range sink.lines(t, "mqtt packet sent") {
			if l["client"] == "dbg-sub" && l["type"] == "PUBLISH" && l["topic"] == "dbg/t" {
				out = true
			}
		}
		return out
	})
	if !in {
		t.Error("no debug line for the received PUBLISH")
	}
	r := sink.wait(t, "message routed", 1)[0]
	if r["client"] != "dbg-pub" || r["topic"] != "dbg/t" || r["subscribers"] != 1.0 {
		t.Errorf("message routed line %v", r)
	}
}

type authnFunc func(*core.ClientInfo) core.Verdict

func (f authnFunc) Authenticate(_ context.Context, c *core.ClientInfo, _ []byte) (core.Verdict, error) {
	return f(c), nil
}
