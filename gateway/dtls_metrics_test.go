package gateway_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// TestMetricsCountDTLSHandshakes: a PSK client's handshake with the CoAP
// DTLS listener shows in /metrics as a handshake opened and proven.
func TestMetricsCountDTLSHandshakes(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"},
coap: {enabled: true, listeners: [{name: dtls, type: dtls, address: "127.0.0.1:0", dtls: {psk: {device-1: "00ff10"}}}]}}`)
	a := newAPI(t, g)
	addr := g.Addrs("coap")["dtls"].(*net.UDPAddr)
	dc, err := dtls.DialWithOptions("udp", addr,
		dtls.WithPSK(func([]byte) ([]byte, error) { return []byte{0x00, 0xff, 0x10}, nil }),
		dtls.WithPSKIdentityHint([]byte("device-1")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	_, text := httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
	for series, least := range map[string]float64{
		`mqgate_dtls_handshakes_total{gateway="coap",listener="dtls",result="opened"}`:              1,
		`mqgate_dtls_handshakes_total{gateway="coap",listener="dtls",result="proven"}`:              1,
		`mqgate_dtls_handshakes_total{gateway="coap",listener="dtls",result="evicted"}`:             0,
		`mqgate_dtls_datagrams_dropped_total{gateway="coap",listener="dtls",reason="unknown_peer"}`: 0,
		`mqgate_dtls_reboots_total{gateway="coap",listener="dtls"}`:                                 0,
	} {
		if got := metricValue(text, series); got < least {
			t.Errorf("%s = %v, want at least %v (-1: no series)", series, got, least)
		}
	}
}
