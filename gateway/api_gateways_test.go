package gateway_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	gostomp "github.com/go-stomp/stomp/v3"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	"github.com/plgd-dev/go-coap/v3/udp"
)

type gatewayJSON struct {
	Name      string
	Status    string
	Current   int64 `json:"current_connections"`
	Listeners []struct {
		Protocol, Name, Address string
		Connections             int64
	}
}

// TestAPIGatewaysListsCoAPAndSTOMPWithTheirClients connects one go-coap
// client (POST /mqtt/connection) and one go-stomp client, and finds each
// counted under its gateway, with its listener, and listed as a client
// in its gateway's namespace.
func TestAPIGatewaysListsCoAPAndSTOMPWithTheirClients(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]},
coap: {enabled: true, listeners: [{name: udp, type: udp, address: "127.0.0.1:0"}]},
stomp: {enabled: true, listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)
	a := newAPI(t, g)

	stop := make(chan struct{})
	cc, err := udp.Dial(g.Addrs("coap")["udp"].String(), options.WithPeriodicRunner(periodic.New(stop, 100*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cc.Close(); close(stop) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cc.Post(ctx, "/mqtt/connection", message.TextPlain, bytes.NewReader(nil),
		message.Option{ID: message.URIQuery, Value: []byte("clientid=coap-dev")})
	if err != nil || resp.Code() != codes.Created {
		t.Fatalf("CoAP connect = %v, %v", resp, err)
	}

	sc, err := gostomp.Dial("tcp", g.Addrs("stomp")["tcp"].String(), gostomp.ConnOpt.Header("client-id", "stomp-dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Disconnect()

	want := map[string]struct{ listener, addr, ns, id, proto string }{
		"coap":  {"udp", g.Addrs("coap")["udp"].String(), "coap", "coap-dev", "coap"},
		"stomp": {"tcp", g.Addrs("stomp")["tcp"].String(), "stomp", "stomp-dev", "stomp"},
	}
	var list []gatewayJSON
	// The connection counts follow the connect events: poll until both show.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		list = nil
		a.call("GET", "/api/v1/gateways", "", &list)
		if len(list) == 2 && list[0].Current == 1 && list[1].Current == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(list) != 2 {
		t.Fatalf("gateways = %+v, want coap and stomp", list)
	}
	for _, gw := range list {
		w, ok := want[gw.Name]
		if !ok {
			t.Errorf("unexpected gateway %+v", gw)
			continue
		}
		if gw.Status != "running" || gw.Current != 1 || len(gw.Listeners) != 1 ||
			gw.Listeners[0].Name != w.listener || gw.Listeners[0].Address != w.addr || gw.Listeners[0].Connections != 1 {
			t.Errorf("%s gateway = %+v, want running with %s on %s and 1 connection", gw.Name, gw, w.listener, w.addr)
		}
	}
	for name, w := range want {
		var one gatewayJSON
		if code := a.call("GET", "/api/v1/gateways/"+name, "", &one); code != 200 || one.Name != name || one.Current != 1 {
			t.Errorf("gateways/%s = %d %+v", name, code, one)
		}
		var p clientPage
		if code := a.call("GET", "/api/v1/clients?namespace="+w.ns, "", &p); code != 200 || len(p.Data) != 1 ||
			p.Data[0].ClientID != w.id || p.Data[0].ProtoName != w.proto || !p.Data[0].Connected {
			t.Errorf("clients?namespace=%s = %d %+v, want %s", w.ns, code, p.Data, w.id)
		}
	}
}
