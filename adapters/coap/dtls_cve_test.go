package coap

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/mqgate/mqgate/adapters/internal/dtlstest"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/internal/testcert"
)

var updateDTLSFixtures = flag.Bool("update-dtls-fixtures", false, "rewrite testdata/dtls from a pion client's ClientHello")

// dtlsFixtureDir holds the crafted datagrams of the pion/dtls advisories;
// testdata/dtls/README.md says what each sends.
const dtlsFixtureDir = "testdata/dtls"

// writeDTLSFixtures builds the fixture files around an opening ClientHello
// of a pion client: each line is one datagram in hex, sent in order from
// one source.
func writeDTLSFixtures(t *testing.T) {
	hello := dtlstest.ClientHello(t, guardPSK()...)
	body := hello[13+12:] // the ClientHello body
	record := func(typ byte, epoch uint16, payload []byte) []byte {
		b := []byte{typ, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, 0, 9, 0, 0}
		binary.BigEndian.PutUint16(b[11:], uint16(len(payload)))
		return append(b, payload...)
	}
	hs := func(typ byte, length, seq, off, fragLen int, frag []byte) []byte {
		h := []byte{typ, byte(length >> 16), byte(length >> 8), byte(length), byte(seq >> 8), byte(seq),
			byte(off >> 16), byte(off >> 8), byte(off), byte(fragLen >> 16), byte(fragLen >> 8), byte(fragLen)}
		return append(h, frag...)
	}
	withCookie := func(cookie []byte, seq int) []byte {
		// version 2, random 32, session id 1+0, then the cookie.
		b := append([]byte{}, body[:35]...)
		b = append(b, byte(len(cookie)))
		b = append(b, cookie...)
		b = append(b, body[36:]...)
		return record(22, 0, hs(1, len(b), seq, 0, len(b), b))
	}
	truncatedExt := append([]byte{}, body...)
	// The last extension claims more bytes than the message has.
	binary.BigEndian.PutUint16(truncatedExt[len(truncatedExt)-len(lastExtension(body))+2:], 0xffff)
	files := map[string][][]byte{
		"cve-2022-29189-fragment-flood.hex": {
			hello,
			// A ClientKeyExchange declared 16 MiB long, 1,000 bytes of it;
			// the test sends it again at rising offsets.
			record(22, 0, hs(16, 0xffffff, 1, 0, 1000, make([]byte, 1000))),
		},
		"cve-2022-29190-zero-length-fragment.hex": {
			hello,
			record(22, 0, hs(16, 10, 1, 0, 0, nil)),
			record(22, 0, hs(16, 10, 1, 10, 0, nil)),
			record(22, 0, hs(16, 0, 1, 0, 0, nil)),
		},
		"ghsa-4xgv-j62q-h3rj-ghsa-hxp2-xqf3-v83h-malformed-handshake.hex": {
			hello,
			record(22, 0, hs(1, len(truncatedExt), 1, 0, len(truncatedExt), truncatedExt)),                 // extensions longer than the message
			record(22, 0, hs(1, 40, 1, 0, 40, append(append([]byte{}, body[:34]...), 255, 0, 0, 0, 0, 0))), // session id of 255 bytes in 6
			record(22, 0, hs(11, 3, 1, 0, 3, []byte{0, 0, 9})),                                             // Certificate list longer than the message
			record(22, 0, hs(11, 0, 1, 0, 0, nil)),                                                         // empty Certificate message
			record(22, 0, hs(12, 4, 1, 0, 4, []byte{3, 0, 23, 200})),                                       // ServerKeyExchange to a server, point cut short
			record(22, 0, hs(16, 2, 1, 0, 2, []byte{0, 200})),                                              // ClientKeyExchange, PSK identity cut short
			record(22, 0, hs(20, 12, 1, 0, 12, make([]byte, 12))),                                          // Finished at epoch 0
			record(22, 0, hs(1, 5, 1, 0, 20, []byte{1, 2, 3, 4, 5})),                                       // fragment longer than its message
			record(22, 0, []byte{1, 0, 0}),                                                                 // handshake header cut short
			record(99, 0, []byte{1, 2, 3}),                                                                 // unknown content type
			record(23, 0, []byte("plaintext")),                                                             // application data at epoch 0
			record(21, 0, []byte{2, 20}),                                                                   // fatal alert at epoch 0
			record(22, 7, []byte{1, 2, 3}),                                                                 // a future epoch
			hello[:9],                                                                                      // a record header cut short
			append(append([]byte{}, hello[:11]...), 0xff, 0xff, 1),                                         // record longer than the datagram
		},
		"hello-verify-cookie.hex": {
			withCookie(bytes.Repeat([]byte{0xAA}, 20), 1),  // a forged cookie, never issued
			withCookie(bytes.Repeat([]byte{0xBB}, 255), 1), // the longest cookie
			withCookie(nil, 1), // message_seq 1 without a cookie
			record(22, 0, hs(3, 3, 0, 0, 3, []byte{0xfe, 0xfd, 0})), // a HelloVerifyRequest sent to the server
		},
	}
	if err := os.MkdirAll(dtlsFixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, dgs := range files {
		var b strings.Builder
		b.WriteString("# one datagram per line, in hex, sent in order from one source; see README.md\n")
		for _, d := range dgs {
			b.WriteString(hex.EncodeToString(d) + "\n")
		}
		if err := os.WriteFile(filepath.Join(dtlsFixtureDir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lastExtension returns the last extension of a ClientHello body with
// extensions, so its length field can be found from the end.
func lastExtension(body []byte) []byte {
	i := 2 + 32
	i += 1 + int(body[i])
	i += 1 + int(body[i])
	i += 2 + int(binary.BigEndian.Uint16(body[i:]))
	i += 1 + int(body[i])
	i += 2 // extensions length
	var last []byte
	for i+4 <= len(body) {
		n := int(binary.BigEndian.Uint16(body[i+2:]))
		last = body[i : i+4+n]
		i += 4 + n
	}
	return last
}

func readDTLSFixture(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(dtlsFixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dgs [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dgs = append(dgs, b)
	}
	return dgs
}

// recordingConn is a client socket that keeps a copy of every datagram it
// sends, so a test can replay or corrupt them.
type recordingConn struct {
	*net.UDPConn
	mu   sync.Mutex
	sent [][]byte
}

func (c *recordingConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, bytes.Clone(b))
	c.mu.Unlock()
	return c.UDPConn.WriteTo(b, a)
}

func (c *recordingConn) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

func (c *recordingConn) since(i int) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.sent[i:]...)
}

// encodeNON is a NON POST /ps/{topic} with payload.
func encodeNON(t *testing.T, mid uint16, topic, payload string) []byte {
	t.Helper()
	opts := message.Options{{ID: message.URIPath, Value: []byte("ps")}}
	for _, l := range strings.Split(topic, "/") {
		opts = append(opts, message.Option{ID: message.URIPath, Value: []byte(l)})
	}
	m := message.Message{Type: message.NonConfirmable, Code: codes.POST, MessageID: int32(mid), Options: opts, Payload: []byte(payload)}
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := coder.DefaultCoder.Encode(m, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPionAdvisoryFixtures sends the crafted datagrams of pion/dtls's
// published advisories, and of the checklist's DTLS classes, at the CoAP
// DTLS listener while a client is connected: the gateway survives, the
// client is undisturbed, and peers, goroutines and memory stay bounded.
func TestPionAdvisoryFixtures(t *testing.T) {
	if *updateDTLSFixtures {
		writeDTLSFixtures(t)
	}
	const maxPending = 16
	e := startDTLSEnv(t, func(_ *core.Config, c *Config) {
		c.Listeners[len(c.Listeners)-1].DTLS.MaxHandshakes = maxPending
	})
	l := e.dtlsListener(t)
	addr := e.addrs["dtls"]
	sock := newUDPSocket(t)
	rc := &recordingConn{UDPConn: sock}
	c := dtlsClientOver(t, rc, addr, dtls.WithConnectionIDGenerator(dtls.OnlySendCIDGenerator()))
	sub := e.mqttSubscribe("sub", "cve/#", 0)
	check := func(what, payload string) {
		t.Helper()
		if code, d := post(t, c, "/ps/cve/ok", payload, false); code != codes.Changed.String() {
			t.Fatalf("%s: publish %s %q", what, code, d)
		}
		// The next message on the subscription is this one: nothing
		// injected or replayed came before it.
		if m := recv(t, sub, what); m.payload != payload {
			t.Fatalf("%s: got %q before %q", what, m.payload, payload)
		}
	}
	check("before the fixtures", "ok-0")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseG := runtime.NumGoroutine()

	t.Run("static fixtures from fresh sources", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(dtlsFixtureDir, "*.hex"))
		if err != nil || len(files) < 4 {
			t.Fatalf("fixtures %v: %v", files, err)
		}
		for _, f := range files {
			dgs := readDTLSFixture(t, filepath.Base(f))
			if strings.Contains(f, "fragment-flood") {
				// The fragment again and again at rising offsets: pion's
				// fragment buffer must stay bounded (CVE-2022-29189).
				tmpl := dgs[1]
				for i := 1; i < 2000; i++ {
					d := bytes.Clone(tmpl)
					off := i * 1000
					d[13+6], d[13+7], d[13+8] = byte(off>>16), byte(off>>8), byte(off)
					dgs = append(dgs, d)
				}
			}
			if err := dtlstest.Flood(addr, 3, dgs...); err != nil {
				t.Fatal(err)
			}
			check(filepath.Base(f), "ok-"+filepath.Base(f))
		}
	})

	t.Run("CVE-2022-29222 a client certificate without its key", func(t *testing.T) {
		tf := testcert.Write(t, t.TempDir(), "device-7")
		other := testcert.Write(t, t.TempDir(), "device-8")
		e2 := startEnv(t, func(_ *core.Config, c *Config) {
			c.Listeners = append(c.Listeners, Listener{Name: "dtls", Type: "dtls", Address: "127.0.0.1:0",
				DTLS: &DTLS{CertFile: tf.Cert, KeyFile: tf.Key, CAFile: tf.CA, ClientAuth: "require"}})
		})
		good, err := tls.LoadX509KeyPair(tf.ClientCert, tf.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		wrong, err := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		// The CA's certificate for device-7 with another device's key: no
		// CertificateVerify can prove it.
		stolen := tls.Certificate{Certificate: good.Certificate, PrivateKey: wrong.PrivateKey}
		if handshake(t, e2.addrs["dtls"].String(), dtls.WithCertificates(stolen), dtls.WithInsecureSkipVerify(true)) == nil {
			t.Fatal("a handshake with a certificate whose key the client lacks succeeded")
		}
		e2.gw.mu.Lock()
		n := len(e2.gw.byID)
		e2.gw.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d clients after the refused handshake", n)
		}
	})

	t.Run("GHSA-7gfg-6934-mqq2 plaintext application data at epoch 0 from the client's address", func(t *testing.T) {
		inj := encodeNON(t, 0x7001, "cve/injected", "injected")
		b := []byte{23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0}
		binary.BigEndian.PutUint16(b[11:], uint16(len(inj)))
		if _, err := sock.WriteTo(append(b, inj...), addr); err != nil {
			t.Fatal(err)
		}
		check("after epoch 0 application data", "ok-epoch0")
	})

	t.Run("a replayed record is published once", func(t *testing.T) {
		i := rc.mark()
		if code, d := post(t, c, "/ps/cve/replay", "once", true); code != codes.Changed.String() {
			t.Fatalf("NON publish: %s %q", code, d)
		}
		if m := recv(t, sub, "the original"); m.payload != "once" {
			t.Fatalf("got %+v", m)
		}
		// A NON request has no CoAP duplicate detection: only DTLS replay
		// protection keeps the resent record from publishing again.
		n := 0
		for _, d := range rc.since(i) {
			if d[0] == 25 {
				if _, err := sock.WriteTo(d, addr); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if n == 0 {
			t.Fatal("nothing recorded to replay")
		}
		check("after the replay", "ok-replay")
	})

	t.Run("a corrupted connection id record from another address", func(t *testing.T) {
		i := rc.mark()
		check("a record to corrupt", "ok-cid")
		var rec []byte
		for _, d := range rc.since(i) {
			if d[0] == 25 { // tls12_cid
				rec = d
				break
			}
		}
		if rec == nil {
			t.Fatal("the client sent no connection id record")
		}
		bad := bytes.Clone(rec)
		bad[len(bad)-1] ^= 0xff
		if err := dtlstest.Flood(addr, 3, bad, rec); err != nil { // corrupted, and replayed from elsewhere
			t.Fatal(err)
		}
		// The session did not move to the spoofer's address: the reply to
		// this publish reaches the client's own socket.
		check("after the spoofed records", "ok-cid-after")
	})

	st := l.dtls.Stats()
	if pending, _ := l.dtls.Peers(); pending > maxPending {
		t.Fatalf("%d pending handshakes, want at most %d", pending, maxPending)
	}
	if g := runtime.NumGoroutine(); g > baseG+8*2*maxPending+50 {
		t.Fatalf("goroutines %d -> %d", baseG, g)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Fatalf("the heap grew by %d MiB", grew>>20)
	}
	t.Logf("hellos %d, evicted %d, refused %d, dropped %d, overflow %d; heap %d -> %d KiB",
		st.Hellos.Load(), st.Evicted.Load(), st.Refused.Load(), st.Dropped.Load(), st.Overflow.Load(),
		before.HeapInuse>>10, after.HeapInuse>>10)
}
