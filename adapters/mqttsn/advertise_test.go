package mqttsn

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

func TestBroadcastAddrs(t *testing.T) {
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	tests := []struct {
		name  string
		addrs []net.Addr
		want  []string
	}{
		{"a /24", []net.Addr{cidr("192.168.1.10/24")}, []string{"192.168.1.255"}},
		{"loopback /8", []net.Addr{cidr("127.0.0.1/8")}, []string{"127.255.255.255"}},
		{"an unaligned /20", []net.Addr{cidr("10.1.18.7/20")}, []string{"10.1.31.255"}},
		{"every IPv4 network of an interface", []net.Addr{cidr("10.0.0.1/16"), cidr("172.16.5.1/30")}, []string{"10.0.255.255", "172.16.5.3"}},
		{"an IPv4 address in 16 bytes with a 16-byte mask", []net.Addr{&net.IPNet{IP: net.ParseIP("192.0.2.9"), Mask: net.CIDRMask(120, 128)}}, []string{"192.0.2.255"}},
		{"no broadcast on /31 and /32", []net.Addr{cidr("192.0.2.0/31"), cidr("192.0.2.5/32")}, nil},
		{"IPv6 is skipped", []net.Addr{cidr("fe80::1/64"), cidr("::1/128")}, nil},
		{"non-IPNet addresses are skipped", []net.Addr{&net.IPAddr{IP: net.IPv4(192, 0, 2, 1)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range broadcastAddrs(tt.addrs) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAdvertiseOnInterface(t *testing.T) {
	ifc, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no interface named lo")
	}
	addrs, _ := ifc.Addrs()
	if !slices.Contains(broadcastAddrs(addrs), netip.MustParseAddr("127.255.255.255")) {
		t.Skip("lo has no 127.0.0.0/8 network")
	}
	// A broadcast to 127.255.255.255 reaches sockets bound to the
	// wildcard address.
	lc, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	port := lc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	startEnv(t, func(_ *core.Config, c *Config) {
		c.GatewayID = 4
		c.AdvertiseInterface = "lo"
		c.AdvertiseAddress = netip.AddrPortFrom(netip.IPv4Unspecified(), port).String()
		c.AdvertiseInterval = 100 * time.Millisecond
	})
	buf := make([]byte, 64)
	lc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := lc.Read(buf)
	if err != nil {
		t.Fatalf("no ADVERTISE on the broadcast address of lo: %v", err)
	}
	var p packet.Packet
	if err := packet.Decode(buf[:n], &p); err != nil || p.Type != packet.ADVERTISE || p.GatewayID != 4 {
		t.Fatalf("got %+v %v", p, err)
	}
}

func TestAdvertiseOnUnknownInterfaceFailsStart(t *testing.T) {
	b := core.NewBroker(core.Config{AllowAnonymous: true})
	defer b.Close()
	g := New(Config{
		Listeners:          []Listener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}},
		AdvertiseInterface: "no-such-interface0",
		AdvertiseInterval:  time.Second,
	}, b)
	if err := g.Start(t.Context()); err == nil {
		g.Stop(t.Context())
		t.Fatal("started advertising on an interface that does not exist")
	}
}
