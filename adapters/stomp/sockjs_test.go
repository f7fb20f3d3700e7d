package stomp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/testcert"
)

// withSockJS adds a sockjs listener at /stomp.
func withSockJS(origins ...string) serverOpt {
	return func(_ *core.Config, sc *stomp.Config) {
		sc.MaxBodySize = 4096
		sc.Listeners = append(sc.Listeners, stomp.Listener{Name: "sockjs", Type: "sockjs", Address: "127.0.0.1:0",
			Path: "/stomp", MaxConnections: 100, AllowedOrigins: origins})
	}
}

// sockClient speaks SockJS's xhr-streaming and xhr_send over HTTP from
// a given local address.
type sockClient struct {
	t    *testing.T
	base string
	http *http.Client
	r    *bufio.Reader
	body io.Closer
	msgs []string
}

func newSockClient(t *testing.T, ts *testServer, session, from string) *sockClient {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &sockClient{t: t, base: "http://" + ts.addr("sockjs") + "/stomp/000/" + session, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// open starts the xhr_streaming receiver and reads the open frame.
func (c *sockClient) open() {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/xhr_streaming", nil)
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		c.t.Fatalf("xhr_streaming: %s", resp.Status)
	}
	c.body = resp.Body
	c.t.Cleanup(func() { resp.Body.Close() })
	c.r = bufio.NewReader(resp.Body)
	if l := c.line(); !strings.HasPrefix(l, "hhhh") {
		c.t.Fatalf("prelude %q", l)
	}
	if l := c.line(); l != "o" {
		c.t.Fatalf("open frame %q", l)
	}
}

func (c *sockClient) line() string {
	c.t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() { s, err := c.r.ReadString('\n'); ch <- res{s, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			c.t.Fatalf("read: %v", r.err)
		}
		return strings.TrimSuffix(r.s, "\n")
	case <-time.After(5 * time.Second):
		c.t.Fatal("timed out reading the stream")
	}
	return ""
}

// frame returns the next STOMP frame the server sent, heart-beats and
// SockJS heartbeats skipped.
func (c *sockClient) frame() string {
	c.t.Helper()
	for len(c.msgs) == 0 {
		l := c.line()
		switch {
		case l == "h":
		case strings.HasPrefix(l, "a"):
			var ms []string
			if err := json.Unmarshal([]byte(l[1:]), &ms); err != nil {
				c.t.Fatalf("array frame %q: %v", l, err)
			}
			for _, m := range ms {
				if strings.Trim(m, "\n") != "" {
					c.msgs = append(c.msgs, m)
				}
			}
		case strings.HasPrefix(l, "c"):
			c.t.Fatalf("closed: %s", l)
		}
	}
	m := c.msgs[0]
	c.msgs = c.msgs[1:]
	return m
}

// send posts frames with xhr_send and returns the status.
func (c *sockClient) send(frames ...string) int {
	c.t.Helper()
	b, _ := json.Marshal(frames)
	return c.post(b, "")
}

func (c *sockClient) post(body []byte, origin string) int {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+"/xhr_send", bytes.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestSockJSXHRStreaming(t *testing.T) {
	ts := startServer(t, withSockJS())
	c := newSockClient(t, ts, "s1", "127.0.0.1")
	c.open()
	if st := c.send("CONNECT\naccept-version:1.2\nhost:h\n\n\x00"); st != http.StatusNoContent {
		t.Fatalf("xhr_send: %d", st)
	}
	if f := c.frame(); !strings.HasPrefix(f, "CONNECTED\n") {
		t.Fatalf("got %q", f)
	}
	// A frame split over two SockJS messages.
	c.send("SUBSCRIBE\nid:1\ndestination:sj/#\n", "receipt:r\n\n\x00")
	if f := c.frame(); !strings.Contains(f, "receipt-id:r") {
		t.Fatalf("got %q", f)
	}
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "sj/from-sockjs", 1)
	m.pub(t, "sj/x", 1, "to the page")
	if f := c.frame(); !strings.HasPrefix(f, "MESSAGE\n") || !strings.HasSuffix(f, "\nto the page\x00") {
		t.Fatalf("got %q", f)
	}
	c.send("SEND\ndestination:sj/from-sockjs\n\nfrom the page\x00")
	if got := m.next(t); string(got.Payload()) != "from the page" {
		t.Fatalf("MQTT got %q", got.Payload())
	}
}

func TestSockJSRefusals(t *testing.T) {
	ts := startServer(t, withSockJS("https://app.example"))
	owner := newSockClient(t, ts, "victim", "127.0.0.1")
	owner.open()
	owner.send("CONNECT\naccept-version:1.2\nhost:h\n\n\x00")
	owner.frame()
	other := newSockClient(t, ts, "victim", "127.0.0.2")
	t.Run("another peer cannot post into a session", func(t *testing.T) {
		if st := other.send("SEND\ndestination:x\n\n\x00"); st != http.StatusNotFound {
			t.Fatalf("status %d", st)
		}
	})
	t.Run("another peer cannot poll a session", func(t *testing.T) {
		resp, err := other.http.Post(other.base+"/xhr", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("a foreign origin is refused", func(t *testing.T) {
		if st := owner.post([]byte(`["x"]`), "http://evil.example"); st != http.StatusForbidden {
			t.Fatalf("status %d", st)
		}
	})
	t.Run("an allowed origin is served and not reflected for others", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ts.addr("sockjs")+"/stomp/info", nil)
		req.Header.Set("Origin", "https://app.example")
		resp, err := owner.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ Websocket bool }
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || !info.Websocket {
			t.Fatalf("status %d, allow-origin %q, websocket %v", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), info.Websocket)
		}
	})
	t.Run("an oversized body is refused", func(t *testing.T) {
		if st := owner.post([]byte(`["`+strings.Repeat("x", 2<<20)+`"]`), ""); st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", st)
		}
	})
	t.Run("broken JSON is refused", func(t *testing.T) {
		for _, body := range []string{`["SEND`, `[1]`, `["SEND\n", 2]`, `{"a":"b"}`} {
			if st := owner.post([]byte(body), ""); st != http.StatusBadRequest {
				t.Fatalf("%s: status %d", body, st)
			}
		}
	})
	t.Run("an empty array is nothing", func(t *testing.T) {
		if st := owner.post([]byte(`[]`), ""); st != http.StatusNoContent {
			t.Fatalf("status %d", st)
		}
	})
	// The owner's session still works.
	owner.send("SEND\ndestination:still\nreceipt:ok\n\n\x00")
	if f := owner.frame(); !strings.Contains(f, "receipt-id:ok") {
		t.Fatalf("got %q", f)
	}
	t.Run("a malformed frame gets ERROR and closes the session", func(t *testing.T) {
		owner.send("FOO\n\n\x00")
		if f := owner.frame(); !strings.HasPrefix(f, "ERROR\n") {
			t.Fatalf("got %q", f)
		}
	})
}

// TestSockJSLatePollIsANewSession: a poll for a session that has ended
// opens a new one, which must CONNECT within the connect timeout like
// any other connection.
func TestSockJSLatePollIsANewSession(t *testing.T) {
	ts := startServer(t, withSockJS(), func(_ *core.Config, sc *stomp.Config) { sc.ConnectTimeout = 300 * time.Millisecond })
	c := newSockClient(t, ts, "late", "127.0.0.1")
	c.open()
	c.send("SEND\ndestination:x\n\n\x00") // no CONNECT first
	if f := c.frame(); !strings.Contains(f, "expected CONNECT") {
		t.Fatalf("got %q", f)
	}
	again := newSockClient(t, ts, "late2", "127.0.0.1")
	again.open()
	if f := again.frame(); !strings.Contains(f, "no CONNECT frame") {
		t.Fatalf("got %q", f)
	}
}

// TestSockJSPollingAndEventSource: the xhr-polling and eventsource
// transports carry the same STOMP session behaviour.
func TestSockJSPollingAndEventSource(t *testing.T) {
	ts := startServer(t, withSockJS())
	t.Run("xhr-polling", func(t *testing.T) {
		c := newSockClient(t, ts, "poll1", "127.0.0.1")
		poll := func() string {
			t.Helper()
			resp, err := c.http.Post(c.base+"/xhr", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if got := poll(); got != "o\n" {
			t.Fatalf("open %q", got)
		}
		c.send(connect12)
		if got := poll(); !strings.HasPrefix(got, `a["CONNECTED\n`) {
			t.Fatalf("poll %q", got)
		}
	})
	t.Run("eventsource", func(t *testing.T) {
		c := newSockClient(t, ts, "es1", "127.0.0.1")
		resp, err := (&http.Client{Transport: c.http.Transport}).Get(c.base + "/eventsource")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		c.r = bufio.NewReader(resp.Body)
		next := func() string {
			for {
				l := strings.TrimSuffix(c.line(), "\r")
				if d, ok := strings.CutPrefix(l, "data: "); ok {
					return d
				}
			}
		}
		if d := next(); d != "o" {
			t.Fatalf("open %q", d)
		}
		c.send(connect12)
		if d := next(); !strings.HasPrefix(d, `a["CONNECTED\n`) {
			t.Fatalf("data %q", d)
		}
	})
}

// TestSockJSWebSocket: the SockJS websocket transport, served with a
// read limit, carries a STOMP session; its session id is bound to the
// peer like the others.
func TestSockJSWebSocket(t *testing.T) {
	ts := startServer(t, withSockJS())
	url := "ws://" + ts.addr("sockjs") + "/stomp/000/wsid/websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() string {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	send := func(frames ...string) {
		t.Helper()
		b, _ := json.Marshal(frames)
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	if o := read(); o != "o" {
		t.Fatalf("open %q", o)
	}
	send(connect12)
	if f := read(); !strings.HasPrefix(f, `a["CONNECTED\n`) {
		t.Fatalf("got %q", f)
	}
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}
	if _, resp, err := d.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another peer joined the session: %v", err)
	}
	send("SUBSCRIBE\nid:1\ndestination:sjws\nreceipt:r\n\n\x00")
	if f := read(); !strings.Contains(f, "receipt-id:r") {
		t.Fatalf("got %q", f)
	}
	connectMQTT(t, ts, "dev").pub(t, "sjws", 0, "over sockjs websocket")
	if f := read(); !strings.Contains(f, "over sockjs websocket") {
		t.Fatalf("got %q", f)
	}
	// A message over the limit ends the session. The server may close the
	// connection before the client has written all of it: a write that
	// fails with the connection reset is that same ending.
	big, _ := json.Marshal([]string{strings.Repeat("x", 2<<20)})
	if err := ws.WriteMessage(websocket.TextMessage, big); err != nil {
		return
	}
	for {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
}

// TestSockJSOverHTTPS: a sockjs listener with TLS serves HTTPS.
func TestSockJSOverHTTPS(t *testing.T) {
	tf := testcert.Write(t, t.TempDir(), "client")
	ts := startServer(t, func(_ *core.Config, sc *stomp.Config) {
		sc.Listeners = append(sc.Listeners, stomp.Listener{Name: "sockjs", Type: "sockjs", Address: "127.0.0.1:0",
			Path: "/stomp", TLS: &stomp.TLS{CertFile: tf.Cert, KeyFile: tf.Key}})
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(tf.CA)
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ts.addr("sockjs") + "/stomp/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestSockJSClientThatStopsReceiving: a session whose client stops
// reading ends after the write timeout instead of buffering without
// bound, and another session goes on working meanwhile.
func TestSockJSClientThatStopsReceiving(t *testing.T) {
	ts := startServer(t, withSockJS(), func(_ *core.Config, sc *stomp.Config) { sc.WriteTimeout = 300 * time.Millisecond })
	stalled := newSockClient(t, ts, "stalled", "127.0.0.1")
	stalled.open()
	stalled.send(connect12)
	stalled.frame()
	stalled.send("SUBSCRIBE\nid:1\ndestination:flood\nreceipt:r\n\n\x00")
	stalled.frame()
	// From here on the stalled client reads nothing.
	other := newSockClient(t, ts, "other", "127.0.0.1")
	other.open()
	other.send(connect12)
	other.frame()
	m := connectMQTT(t, ts, "dev")
	big := strings.Repeat("x", 16<<10)
	for range 100 {
		m.pub(t, "flood", 0, big)
	}
	other.send("SEND\ndestination:still\nreceipt:alive\n\n\x00")
	if f := other.frame(); !strings.Contains(f, "receipt-id:alive") {
		t.Fatalf("the other session got %q", f)
	}
	waitFor(t, "the stalled session to end", func() bool {
		for _, s := range ts.broker.Sessions(core.SessionQuery{Protocol: "stomp"}).Sessions {
			if s.Connected && s.Subscriptions > 0 {
				return false
			}
		}
		return true
	})
}
