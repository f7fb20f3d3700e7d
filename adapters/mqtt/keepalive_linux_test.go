package mqtt_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// TestTCPKeepAliveOnlyWithoutMQTTKeepAlive checks the server side of each
// connection: a client that asks for no MQTT keep alive gets TCP
// keep-alive probes, so a vanished peer is still noticed; one with an MQTT
// keep alive does not pay for them.
func TestTCPKeepAliveOnlyWithoutMQTTKeepAlive(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		keepAlive uint16
		want      int
	}{{0, 1}, {30, 0}} {
		rc := dialRaw(t, ts.tcp(), packet.V311)
		rc.connect("ka"+strconv.Itoa(int(tc.keepAlive)), true, func(p *packet.Packet) { p.KeepAlive = tc.keepAlive })
		fd := serverSide(t, rc.nc)
		got, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		if err != nil {
			t.Fatalf("getsockopt: %v", err)
		}
		if got != tc.want {
			t.Errorf("keep alive %d: SO_KEEPALIVE on the server side is %d, want %d", tc.keepAlive, got, tc.want)
		}
		if tc.want == 1 {
			idle, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
			if err != nil || idle != 15 {
				t.Errorf("TCP_KEEPIDLE = %d (%v), want 15", idle, err)
			}
		}
	}
}

// serverSide finds, among this process's descriptors, the broker's end
// of the client connection nc.
func serverSide(t *testing.T, nc net.Conn) int {
	t.Helper()
	local := nc.LocalAddr().(*net.TCPAddr)
	remote := nc.RemoteAddr().(*net.TCPAddr)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || !strings.HasPrefix(l, "socket:") {
			continue
		}
		sa, err1 := syscall.Getsockname(fd)
		pa, err2 := syscall.Getpeername(fd)
		if err1 != nil || err2 != nil {
			continue
		}
		if sameAddr(sa, remote) && sameAddr(pa, local) {
			return fd
		}
	}
	t.Fatalf("no server-side socket for %v", local)
	return -1
}

func sameAddr(sa syscall.Sockaddr, a *net.TCPAddr) bool {
	s4, ok := sa.(*syscall.SockaddrInet4)
	return ok && s4.Port == a.Port && net.IP(s4.Addr[:]).Equal(a.IP)
}
