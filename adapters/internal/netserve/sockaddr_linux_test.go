//go:build linux && !386

package netserve

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"
)

// TestSockaddrAddrPort checks the conversion of the addresses accept4
// fills in, against the net package's forms.
func TestSockaddrAddrPort(t *testing.T) {
	netPort := func(p uint16) uint16 { // the port as stored: network byte order
		var v uint16
		b := (*[2]byte)(unsafe.Pointer(&v))
		b[0], b[1] = byte(p>>8), byte(p)
		return v
	}
	var v4 syscall.RawSockaddrAny
	in4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&v4))
	in4.Family, in4.Port, in4.Addr = syscall.AF_INET, netPort(51000), [4]byte{192, 0, 2, 9}

	var v6 syscall.RawSockaddrAny
	in6 := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&v6))
	in6.Family, in6.Port = syscall.AF_INET6, netPort(1883)
	in6.Addr = netip.MustParseAddr("2001:db8::7").As16()

	var mapped syscall.RawSockaddrAny
	inm := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&mapped))
	inm.Family, inm.Port = syscall.AF_INET6, netPort(443)
	inm.Addr = netip.MustParseAddr("::ffff:198.51.100.1").As16()

	var zoned syscall.RawSockaddrAny
	inz := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&zoned))
	inz.Family, inz.Port, inz.Scope_id = syscall.AF_INET6, netPort(8883), 1
	inz.Addr = netip.MustParseAddr("fe80::1").As16()
	zone := "1" // the interface's index, when its name cannot be looked up
	if ifi, err := net.InterfaceByIndex(1); err == nil {
		zone = ifi.Name
	}

	for _, tc := range []struct {
		sa   *syscall.RawSockaddrAny
		want string
	}{
		{&v4, "192.0.2.9:51000"},
		{&v6, "[2001:db8::7]:1883"},
		{&mapped, "198.51.100.1:443"},
		{&zoned, "[fe80::1%" + zone + "]:8883"},
	} {
		if got := sockaddrAddrPort(tc.sa).String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}
