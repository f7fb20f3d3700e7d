package mqttsn

import (
	"net"
	"net/netip"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
)

// peer is where a client's datagrams come from and its replies go: a UDP
// address, or a DTLS association, possibly behind a forwarder that
// encapsulates messages with a wireless node id [MQTT-SN 5.5].
type peer struct {
	l    *listener
	addr netip.AddrPort
	conn net.Conn // DTLS association; nil for plain UDP
	cn   string   // DTLS certificate CN or PSK identity
	fw   bool
	ctrl byte
	node string // wireless node id behind a forwarder
}

// key identifies the peer in Gateway.byAddr.
func (p *peer) key() string {
	k := p.l.cfg.Name + "|" + p.addr.String()
	if p.fw {
		k += "|" + p.node
	}
	return k
}

// write sends one encoded message, encapsulated for a forwarder if the
// peer is behind one. scratch is reused for the encapsulation.
func (p *peer) write(msg []byte) (int, error) {
	if p.fw {
		var err error
		msg, err = packet.AppendForward(make([]byte, 0, len(msg)+3+len(p.node)), &packet.Forward{Ctrl: p.ctrl, NodeID: []byte(p.node)}, msg)
		if err != nil {
			return 0, err
		}
	}
	if p.conn != nil {
		return p.conn.Write(msg)
	}
	return p.l.udp.WriteToUDPAddrPort(msg, p.addr)
}
