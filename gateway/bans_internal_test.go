package gateway

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mqgate/mqgate/httpapi"
)

func TestBanMatching(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	b := &bans{list: []httpapi.Ban{
		{As: "clientid", Who: "rogue"},
		{As: "username", Who: "mallory", Until: &future},
		{As: "username", Who: "eve", Until: &past},
		{As: "peerhost", Who: "10.1.0.0/16"},
		{As: "peerhost", Who: "2001:db8::1"},
	}}
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name, clientID, username string
		peer                     netip.Addr
		want                     bool
	}{
		{"a banned client id", "rogue", "", ip("192.0.2.1"), true},
		{"a banned username before its expiry", "c", "mallory", ip("192.0.2.1"), true},
		{"an expired ban", "c", "eve", ip("192.0.2.1"), false},
		{"an address in a banned network", "c", "", ip("10.1.200.3"), true},
		{"an IPv4-mapped address in a banned network", "c", "", ip("::ffff:10.1.0.9"), true},
		{"an address outside it", "c", "", ip("10.2.0.1"), false},
		{"a banned IPv6 address", "c", "", ip("2001:db8::1"), true},
		{"an empty username matches no username ban", "c", "", netip.Addr{}, false},
	} {
		if got := b.matches(now, tc.clientID, tc.username, tc.peer); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}
