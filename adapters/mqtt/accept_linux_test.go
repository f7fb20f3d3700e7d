package mqtt_test

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// TestAcceptedSocketsHaveNoDelay checks the server side of a plain-TCP
// connection: Nagle's algorithm is off, as the listening socket passes it
// on to the sockets it accepts.
func TestAcceptedSocketsHaveNoDelay(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts.tcp(), packet.V311)
	rc.connect("nodelay", true)
	fd := serverSide(t, rc.nc)
	got, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	if err != nil {
		t.Fatal(err)
	}
	if got == 0 {
		t.Fatal("TCP_NODELAY is off on the accepted socket")
	}
}

// peerRecorder is an authenticator that records the peer address of each
// client.
type peerRecorder chan netip.AddrPort

func (p peerRecorder) Authenticate(_ context.Context, c *core.ClientInfo, _ []byte) (core.Verdict, error) {
	p <- c.PeerAddr
	return core.Allow, nil
}

// TestPeerAddressReachesAuthentication checks that the core learns each
// client's address and port, as ACL rules on addresses need.
func TestPeerAddressReachesAuthentication(t *testing.T) {
	peers := make(peerRecorder, 1)
	ts := startServer(t, func(bc *core.Config, _ *mqtt.Config) { bc.Authenticator = peers })
	rc := dialRaw(t, ts.tcp(), packet.V311)
	rc.connect("peer", true)
	want := netip.MustParseAddrPort(rc.nc.LocalAddr().String())
	if got := <-peers; got != want {
		t.Fatalf("peer address %v, want %v", got, want)
	}

	// Over WebSocket: the address of its TCP connection.
	var local net.Addr
	d := websocket.Dialer{
		Subprotocols: []string{"mqtt"},
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				local = nc.LocalAddr()
			}
			return nc, err
		},
	}
	ws, _, err := d.Dial(ts.ws(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	connect, _ := packet.Append(nil, &packet.Packet{Type: packet.CONNECT, Version: packet.V311, ClientID: "peer-ws", CleanStart: true}, packet.V311)
	if err := ws.WriteMessage(websocket.BinaryMessage, connect); err != nil {
		t.Fatal(err)
	}
	want = netip.MustParseAddrPort(local.String())
	if got := <-peers; got != want {
		t.Fatalf("websocket peer address %v, want %v", got, want)
	}
}
