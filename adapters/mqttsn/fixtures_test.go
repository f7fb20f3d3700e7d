package mqttsn

import (
	"net"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet/packettest"
)

func loadFixtures(t testing.TB) []packettest.Fixture {
	t.Helper()
	f, err := packettest.Load("../../testdata/mqttsn")
	if err != nil || len(f) == 0 {
		t.Fatalf("load fixtures: %v (%d)", err, len(f))
	}
	return f
}

func netListenUDP() (*net.UDPConn, error) {
	return net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}
