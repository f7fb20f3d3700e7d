package coap

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

func TestBlockwisePublishAndRetainedRead(t *testing.T) {
	e := startEnv(t)
	sub := e.mqttSubscribe("sub", "big/#", 1)
	c := e.coapClient()
	body := strings.Repeat("0123456789", 500) // 5000 bytes: five Block1 blocks
	resp, err := c.Post(ctx(t), "/ps/big/up", message.AppOctets, bytes.NewReader([]byte(body)), query("retain=true")...)
	if err != nil || resp.Code() != codes.Changed {
		t.Fatalf("block-wise publish: %v %v", resp.Code(), err)
	}
	if m := recv(t, sub, "block-wise publish"); m.payload != body || m.qos != 1 {
		t.Fatalf("MQTT got %d bytes QoS %d, want %d bytes QoS 1", len(m.payload), m.qos, len(body))
	}
	none(t, sub, "a second publish of a block-wise body")
	resp, err = c.Get(ctx(t), "/ps/big/up")
	if err != nil || resp.Code() != codes.Content || body != bodyOf(resp) {
		t.Fatalf("block-wise retained read: %v %v, %d bytes", resp.Code(), err, len(bodyOf(resp)))
	}
}

func bodyOf(m interface{ ReadBody() ([]byte, error) }) string {
	b, _ := m.ReadBody()
	return string(b)
}

func TestBlock1OutOfOrderAndMismatchedTransfers(t *testing.T) {
	e := startEnv(t)
	block := bytes.Repeat([]byte("b"), 64) // SZX 2
	send := func(r *rawClient, mid uint16, token []byte, segs []string, block1 uint32, payload []byte) string {
		o := pathOpts(segs...)
		o = append(o, message.Option{ID: message.Block1, Value: uintBytes(block1)})
		r.send(rawRequest(message.Confirmable, codes.POST, mid, token, o, payload))
		return codeString(r.read().code)
	}
	r := e.raw()
	if got := send(r, 1, []byte{1}, []string{"ps", "a"}, 0<<4|8|2, block); got != "2.31" {
		t.Fatalf("first block: %s", got)
	}
	// The same token on another path is another request, not the rest.
	if got := send(r, 2, []byte{1}, []string{"ps", "b"}, 1<<4|2, block); got != "4.08" {
		t.Fatalf("a block of another path: %s, want 4.08", got)
	}
	// The transfer is over: its next block is incomplete too.
	if got := send(r, 3, []byte{1}, []string{"ps", "a"}, 1<<4|2, block); got != "4.08" {
		t.Fatalf("a block after the transfer ended: %s, want 4.08", got)
	}
	// A gap: NUM 0 then NUM 2.
	send(r, 4, []byte{2}, []string{"ps", "a"}, 0<<4|8|2, block)
	if got := send(r, 5, []byte{2}, []string{"ps", "a"}, 2<<4|2, block); got != "4.08" {
		t.Fatalf("a skipped block: %s, want 4.08", got)
	}
	// SZX changing mid-transfer.
	send(r, 6, []byte{3}, []string{"ps", "a"}, 0<<4|8|2, block)
	if got := send(r, 7, []byte{3}, []string{"ps", "a"}, 2<<4|1, block[:32]); got != "4.08" {
		t.Fatalf("SZX changed: %s, want 4.08", got)
	}
	if n := e.broker.Stats().MessagesReceived.Load(); n != 0 {
		t.Fatalf("%d messages published from broken transfers", n)
	}
}

func TestBlock1BodyLimit(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxBodySize = 200 })
	r := e.raw()
	block := bytes.Repeat([]byte("b"), 64)
	for num := range 4 {
		o := append(pathOpts("ps", "a"), message.Option{ID: message.Block1, Value: uintBytes(uint32(num)<<4 | 8 | 2)})
		r.send(rawRequest(message.Confirmable, codes.POST, uint16(num+1), []byte{1}, o, block))
		got := codeString(r.read().code)
		if want := map[bool]string{true: "2.31", false: "4.13"}[num < 3]; got != want {
			t.Fatalf("block %d: %s, want %s", num, got, want)
		}
	}
}

func TestLargeNotificationGoesOutInBlocks(t *testing.T) {
	e := startEnv(t)
	c := e.coapClient()
	ch, _ := observe(t, c, "/ps/huge/+")
	recv(t, ch, "registration")
	body := strings.Repeat("0123456789", 300) // 3000 bytes, three blocks
	e.mqttPublish(e.mqttClient("pub"), "huge/1", 1, false, body)
	if n := recv(t, ch, "large notification"); n.payload != body {
		t.Fatalf("notification of %d bytes, want %d", len(n.payload), len(body))
	}
	e.mqttPublish(e.mqttClient("pub2"), "huge/2", 0, false, "small")
	if n := recv(t, ch, "small notification"); n.payload != "small" {
		t.Fatalf("next notification %q", n.payload)
	}
}

// TestLargeNotificationBlocksByGET follows RFC 7959 3.4 by hand: the
// notification carries block 0, the client ACKs it and GETs the rest.
func TestLargeNotificationBlocksByGET(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	r.send(rawGET(1, []byte{7}, true, "ps", "huge"))
	r.read()
	body := strings.Repeat("abcdefghij", 150) // 1500 bytes: blocks of 1024 and 476
	e.mqttPublish(e.mqttClient("pub"), "huge", 1, false, body)
	n := r.read()
	if n.typ != typeCON || n.payload != body[:1024] {
		t.Fatalf("first block: type %d, %d bytes", n.typ, len(n.payload))
	}
	r.send([]byte{0x60, 0, byte(n.mid >> 8), byte(n.mid)})
	o := append(pathOpts("ps", "huge"), message.Option{ID: message.Block2, Value: uintBytes(1<<4 | 6)})
	r.send(rawRequest(message.Confirmable, codes.GET, 2, []byte{8}, o, nil))
	m := r.read()
	if codeString(m.code) != "2.05" || m.payload != body[1024:] {
		t.Fatalf("block 1: %s, %d bytes", codeString(m.code), len(m.payload))
	}
}
