package interop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// msgFormat makes mosquitto_sub print one parseable line per message; the
// payload is hex so that any byte survives.
const msgFormat = `MSG|%t|%q|%r|%P|%E|%C|%x`

// message is one delivery as mosquitto_sub printed it.
type message struct {
	Topic       string
	QoS         int
	Retain      bool
	UserProps   string // "k:v k2:v2", v5 only
	Expiry      string // message expiry interval, v5 only, "" when absent
	ContentType string
	Payload     []byte
}

func parseMessage(t *testing.T, line string) message {
	t.Helper()
	f := strings.SplitN(line, "|", 8)
	if len(f) != 8 {
		t.Fatalf("unparseable mosquitto_sub line %q", line)
	}
	var m message
	var err error
	m.Topic = f[1]
	if m.QoS, err = strconv.Atoi(f[2]); err != nil {
		t.Fatalf("qos in %q: %v", line, err)
	}
	m.Retain = f[3] == "1"
	m.UserProps, m.Expiry, m.ContentType = f[4], f[5], f[6]
	if m.Payload, err = hex.DecodeString(f[7]); err != nil {
		t.Fatalf("payload in %q: %v", line, err)
	}
	return m
}

// mosquitto drives Debian's mosquitto_pub and mosquitto_sub against one
// broker with one protocol version ("311" or "5").
type mosquitto struct {
	b       *broker
	version string
	pub     string
	sub     string
	stdbuf  string
}

func newMosquitto(t *testing.T, b *broker, version string) *mosquitto {
	t.Helper()
	return &mosquitto{b: b, version: version, pub: requireTool(t, "mosquitto_pub"), sub: requireTool(t, "mosquitto_sub"), stdbuf: requireTool(t, "stdbuf")}
}

func (m *mosquitto) conn() []string {
	return []string{"-h", "127.0.0.1", "-p", strconv.Itoa(m.b.TCPPort), "-V", m.version}
}

// publish runs mosquitto_pub to completion; with QoS 1 or 2 it returns only
// after the broker has acknowledged the message.
func (m *mosquitto) publish(t *testing.T, args ...string) {
	t.Helper()
	runTool(t, m.pub, append(m.conn(), args...)...)
}

// subscribe starts mosquitto_sub and returns once the broker has sent SUBACK.
func (m *mosquitto) subscribe(t *testing.T, args ...string) *mosqSub {
	t.Helper()
	// mosquitto_sub flushes message lines but not its -d log, which tells
	// when SUBACK arrived, so stdout is made line buffered.
	all := append([]string{"-oL", m.sub}, m.conn()...)
	all = append(all, "-d", "-F", msgFormat, "-W", "25")
	p := startProc(t, m.stdbuf, append(all, args...)...)
	s := &mosqSub{proc: p}
	// Matching messages may come before SUBACK [MQTT-3.8.4]: a resumed
	// session's queue, or retained messages, after which a client run with
	// -C may even have exited before SUBACK was printed.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.done
				if len(s.early) == 0 {
					t.Fatalf("mosquitto_sub ended (%v) before SUBACK; output:\n%s", p.err, p.trace)
				}
				return s
			}
			if strings.HasPrefix(l, "MSG|") {
				s.early = append(s.early, l)
			}
			if strings.HasSuffix(l, "received SUBACK") {
				return s
			}
		case <-deadline:
			t.Fatalf("mosquitto_sub: no SUBACK within 10s; output:\n%s", p.trace)
		}
	}
}

type mosqSub struct {
	*proc
	early []string // message lines printed before SUBACK
}

// next returns the next message the subscriber prints.
func (s *mosqSub) next(t *testing.T) message {
	t.Helper()
	if len(s.early) > 0 {
		line := s.early[0]
		s.early = s.early[1:]
		return parseMessage(t, line)
	}
	line := s.waitLine(t, 10*time.Second, "message", func(l string) bool { return strings.HasPrefix(l, "MSG|") })
	return parseMessage(t, line)
}

// expect asserts the next message's topic, QoS, retain flag and payload.
func (s *mosqSub) expect(t *testing.T, topic string, qos int, retain bool, payload string) message {
	t.Helper()
	m := s.next(t)
	if m.Topic != topic || m.QoS != qos || m.Retain != retain || string(m.Payload) != payload {
		t.Fatalf("got topic=%q qos=%d retain=%v payload=%q; want topic=%q qos=%d retain=%v payload=%q",
			m.Topic, m.QoS, m.Retain, m.Payload, topic, qos, retain, payload)
	}
	return m
}

var versions = []string{"311", "5"}

func TestMosquittoPubSubQoS(t *testing.T) {
	b := startBroker(t)
	cases := []struct {
		name           string
		pubQoS, subQoS int
		payload        string
	}{
		{"qos0", 0, 0, "hello qos0"},
		{"qos1", 1, 1, "héllo wörld | qos1"},
		{"qos2", 2, 2, "exactly once \x00\x01\xff binary"},
		{"qos2 published to qos1 subscription is downgraded", 2, 1, "down to 1"},
		{"qos1 published to qos0 subscription is downgraded", 1, 0, "down to 0"},
		{"qos0 published to qos2 subscription stays qos0", 0, 2, "stays 0"},
		{"empty payload", 1, 1, ""},
	}
	for _, v := range versions {
		for i, c := range cases {
			t.Run(fmt.Sprintf("v%s/%s", v, c.name), func(t *testing.T) {
				m := newMosquitto(t, b, v)
				topic := fmt.Sprintf("interop/qos/v%s/%d", v, i)
				s := m.subscribe(t, "-q", strconv.Itoa(c.subQoS), "-t", topic, "-C", "2")
				pub := []string{"-q", strconv.Itoa(c.pubQoS), "-t", topic}
				if c.payload == "" {
					pub = append(pub, "-n")
				} else {
					// -f carries bytes, such as NUL, that an argument cannot.
					file := filepath.Join(t.TempDir(), "payload")
					if err := os.WriteFile(file, []byte(c.payload), 0o600); err != nil {
						t.Fatal(err)
					}
					pub = append(pub, "-f", file)
				}
				m.publish(t, pub...)
				// A second, different message proves the first arrived exactly once.
				m.publish(t, "-q", "1", "-t", topic, "-m", "end")
				s.expect(t, topic, min(c.pubQoS, c.subQoS), false, c.payload)
				s.expect(t, topic, min(1, c.subQoS), false, "end")
				if err := s.wait(t, 10*time.Second); err != nil {
					t.Fatalf("mosquitto_sub -C 2 exit: %v", err)
				}
			})
		}
	}
}

func TestMosquittoRetained(t *testing.T) {
	b := startBroker(t)
	for _, v := range versions {
		t.Run("v"+v, func(t *testing.T) {
			m := newMosquitto(t, b, v)
			topic := "interop/retained/v" + v + "/state"

			m.publish(t, "-r", "-q", "1", "-t", topic, "-m", "first")
			m.publish(t, "-r", "-q", "1", "-t", topic, "-m", "second")

			// A later subscriber gets only the newest retained message, with
			// the retain flag set, then live traffic without it.
			s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "2")
			s.expect(t, topic, 1, true, "second")
			m.publish(t, "-q", "1", "-t", topic, "-m", "live")
			s.expect(t, topic, 1, false, "live")
			if err := s.wait(t, 10*time.Second); err != nil {
				t.Fatalf("mosquitto_sub exit: %v", err)
			}

			// A wildcard subscription matches the retained message too.
			w := m.subscribe(t, "-q", "0", "-t", "interop/retained/v"+v+"/#", "-C", "1")
			w.expect(t, topic, 0, true, "second")

			// An empty retained publish clears it: the first thing a new
			// subscriber sees is the live message sent after its SUBACK.
			m.publish(t, "-r", "-q", "1", "-t", topic, "-n")
			s2 := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
			m.publish(t, "-q", "1", "-t", topic, "-m", "after clear")
			s2.expect(t, topic, 1, false, "after clear")
		})
	}
}

func TestMosquittoWill(t *testing.T) {
	b := startBroker(t)
	for _, v := range versions {
		t.Run("v"+v, func(t *testing.T) {
			m := newMosquitto(t, b, v)
			willTopic := "interop/will/v" + v
			watcher := m.subscribe(t, "-q", "1", "-t", willTopic, "-C", "2")

			// A client that disconnects cleanly must not leave its will.
			clean := m.subscribe(t, "-q", "1", "-t", willTopic+"/clean", "-C", "1",
				"--will-topic", willTopic, "--will-payload", "clean client died", "--will-qos", "1")
			m.publish(t, "-q", "1", "-t", willTopic+"/clean", "-m", "bye")
			if err := clean.wait(t, 10*time.Second); err != nil {
				t.Fatalf("clean mosquitto_sub exit: %v", err)
			}

			// A client killed without DISCONNECT has its will published.
			dying := m.subscribe(t, "-q", "1", "-t", willTopic+"/idle",
				"--will-topic", willTopic, "--will-payload", "client vanished", "--will-qos", "1")
			dying.kill(t)
			watcher.expect(t, willTopic, 1, false, "client vanished")

			m.publish(t, "-q", "1", "-t", willTopic, "-m", "end")
			watcher.expect(t, willTopic, 1, false, "end")
		})
	}
}

func TestMosquittoWildcards(t *testing.T) {
	b := startBroker(t)
	for _, v := range versions {
		t.Run("v"+v, func(t *testing.T) {
			m := newMosquitto(t, b, v)
			root := "interop/wc/v" + v
			plus := m.subscribe(t, "-q", "1", "-t", root+"/+/temp", "-C", "2")
			multi := m.subscribe(t, "-q", "1", "-t", root+"/#", "-C", "5")
			both := m.subscribe(t, "-q", "1", "-t", root+"/+/+", "-t", root+"/a/#", "-C", "3")

			topics := []string{
				root + "/a/temp",     // plus, multi, both (once, despite two matching filters)
				root + "/a/b/temp",   // multi, both via a/#
				root + "/temp",       // multi
				root,                 // multi: '#' includes the parent level
				"interop/wc/other/x", // none
				root + "/b/temp",     // plus, multi, both
			}
			for i, topic := range topics {
				m.publish(t, "-q", "1", "-t", topic, "-m", strconv.Itoa(i))
			}
			check := func(name string, s *mosqSub, want []int) {
				t.Helper()
				for _, i := range want {
					s.expect(t, topics[i], 1, false, strconv.Itoa(i))
				}
				if err := s.wait(t, 10*time.Second); err != nil {
					t.Fatalf("%s: mosquitto_sub exit: %v", name, err)
				}
			}
			check("+", plus, []int{0, 5})
			check("#", multi, []int{0, 1, 2, 3, 5})
			check("overlapping", both, []int{0, 1, 5})
		})
	}
}

func TestMosquittoV5Properties(t *testing.T) {
	b := startBroker(t)
	m := newMosquitto(t, b, "5")
	topic := "interop/v5/props"
	s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "2")
	m.publish(t, "-q", "1", "-t", topic, "-m", `{"t":21.5}`,
		"-D", "publish", "user-property", "site", "lab-1",
		"-D", "publish", "user-property", "site", "lab-2",
		"-D", "publish", "user-property", "unit", "celsius",
		"-D", "publish", "content-type", "application/json")
	m.publish(t, "-q", "1", "-t", topic, "-m", "plain")

	got := s.expect(t, topic, 1, false, `{"t":21.5}`)
	// User properties keep their order and duplicates [MQTT-3.3.2-18].
	if want := "site:lab-1 site:lab-2 unit:celsius"; got.UserProps != want {
		t.Errorf("user properties = %q, want %q", got.UserProps, want)
	}
	if got.ContentType != "application/json" {
		t.Errorf("content type = %q, want application/json", got.ContentType)
	}
	plain := s.expect(t, topic, 1, false, "plain")
	if plain.UserProps != "" || plain.ContentType != "" || plain.Expiry != "" {
		t.Errorf("message without properties got user=%q content-type=%q expiry=%q", plain.UserProps, plain.ContentType, plain.Expiry)
	}
}

func TestMosquittoV5MessageExpiry(t *testing.T) {
	b := startBroker(t)
	m := newMosquitto(t, b, "5")

	t.Run("live delivery carries the remaining interval", func(t *testing.T) {
		topic := "interop/v5/expiry/live"
		s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
		m.publish(t, "-q", "1", "-t", topic, "-m", "fresh", "-D", "publish", "message-expiry-interval", "60")
		got := s.expect(t, topic, 1, false, "fresh")
		if got.Expiry != "60" && got.Expiry != "59" {
			t.Errorf("message expiry interval = %q, want 60 or 59", got.Expiry)
		}
	})

	t.Run("retained message expires", func(t *testing.T) {
		topic := "interop/v5/expiry/retained"
		published := time.Now()
		m.publish(t, "-r", "-q", "1", "-t", topic, "-m", "short-lived", "-D", "publish", "message-expiry-interval", "2")
		s := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
		got := s.expect(t, topic, 1, true, "short-lived")
		if got.Expiry != "2" && got.Expiry != "1" {
			t.Errorf("retained message expiry interval = %q, want 2 or 1", got.Expiry)
		}
		// Poll with fresh subscribers until the retained message is gone;
		// each probe's first message is either the retained one or the live
		// one sent after its SUBACK.
		deadline := published.Add(8 * time.Second)
		for probe := 0; ; probe++ {
			p := m.subscribe(t, "-q", "1", "-t", topic, "-C", "1")
			live := fmt.Sprintf("probe %d", probe)
			m.publish(t, "-q", "1", "-t", topic, "-m", live)
			first := p.next(t)
			if string(first.Payload) == live {
				if age := time.Since(published); age < time.Second {
					t.Fatalf("retained message with 2s expiry gone after %v", age)
				}
				break
			}
			if string(first.Payload) != "short-lived" || !first.Retain {
				t.Fatalf("probe %d got %+v", probe, first)
			}
			if time.Now().After(deadline) {
				t.Fatalf("retained message with 2s expiry still delivered after %v", time.Since(published))
			}
			p.wait(t, 10*time.Second)          // exits after its retained message; free it before the next probe
			time.Sleep(200 * time.Millisecond) // poll interval
		}
	})

	t.Run("queued message expires while the session is offline", func(t *testing.T) {
		topic := "interop/v5/expiry/queued"
		id := "interop-expiry-queued"
		// -E exits right after SUBACK, leaving a session that lives 300s.
		runTool(t, m.sub, append(m.conn(), "-c", "-i", id, "-x", "300", "-q", "1", "-t", topic, "-E")...)
		published := time.Now()
		m.publish(t, "-q", "1", "-t", topic, "-m", "stale", "-D", "publish", "message-expiry-interval", "1")
		m.publish(t, "-q", "1", "-t", topic, "-m", "durable", "-D", "publish", "message-expiry-interval", "300")
		// The first message must age past its interval; this waits for time
		// to pass, not for an event.
		time.Sleep(time.Until(published.Add(2100 * time.Millisecond)))
		out := runTool(t, m.sub, append(m.conn(), "-c", "-i", id, "-x", "0", "-q", "1", "-t", topic, "-F", msgFormat, "-C", "1", "-W", "10")...)
		got := parseMessage(t, strings.TrimSpace(out))
		if string(got.Payload) != "durable" {
			t.Fatalf("first queued message = %q, want %q (the 1s one must have expired)", got.Payload, "durable")
		}
		e, err := strconv.Atoi(got.Expiry)
		if err != nil || e > 298 || e < 290 {
			t.Errorf("queued message expiry interval = %q, want 290..298 after ~2s offline", got.Expiry)
		}
	})
}

func TestMosquittoPersistentSession(t *testing.T) {
	b := startBroker(t)
	for _, v := range versions {
		t.Run("v"+v, func(t *testing.T) {
			m := newMosquitto(t, b, v)
			topic := "interop/session/v" + v
			id := "interop-session-v" + v
			session := []string{"-c", "-i", id, "-q", "1", "-t", topic}
			if v == "5" {
				session = append(session, "-x", "300")
			}
			// Subscribe, then leave with the session kept.
			runTool(t, m.sub, append(m.conn(), append(session, "-E")...)...)
			for _, payload := range []string{"while away 1", "while away 2"} {
				m.publish(t, "-q", "1", "-t", topic, "-m", payload)
			}
			m.publish(t, "-q", "0", "-t", topic, "-m", "qos0 while away")
			// Resuming the session delivers the queued QoS 1 messages in
			// order; QoS 0 is not queued by default.
			s := m.subscribe(t, append(session, "-C", "3")...)
			s.expect(t, topic, 1, false, "while away 1")
			s.expect(t, topic, 1, false, "while away 2")
			m.publish(t, "-q", "1", "-t", topic, "-m", "back")
			s.expect(t, topic, 1, false, "back")
			if err := s.wait(t, 10*time.Second); err != nil {
				t.Fatalf("mosquitto_sub exit: %v", err)
			}
		})
	}
}

func TestMosquittoLargePayload(t *testing.T) {
	b := startBroker(t)
	payload := make([]byte, 512<<10)
	for i := range payload {
		payload[i] = byte(i*7 + i>>9)
	}
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		t.Run("v"+v, func(t *testing.T) {
			m := newMosquitto(t, b, v)
			topic := "interop/large/v" + v
			s := m.subscribe(t, "-q", "2", "-t", topic, "-C", "1")
			m.publish(t, "-q", "2", "-t", topic, "-f", file)
			got := s.next(t)
			if got.Topic != topic || got.QoS != 2 || !bytes.Equal(got.Payload, payload) {
				t.Fatalf("got topic=%q qos=%d %d bytes (equal=%v); want %q qos=2 %d bytes",
					got.Topic, got.QoS, len(got.Payload), bytes.Equal(got.Payload, payload), topic, len(payload))
			}
		})
	}
}
