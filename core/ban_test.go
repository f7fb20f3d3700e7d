package core

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
)

func TestBansRefuseAtOpenAndKick(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() store.Store) {
		b := storedBroker(t, open(), Config{})
		ctx := context.Background()
		try := func(id, user, peer string) error {
			req := &OpenRequest{Info: ClientInfo{ClientID: id, Username: user, PeerAddr: netip.MustParseAddrPort(peer)}, Conn: nullConn{}}
			c, _, err := b.Open(ctx, req)
			if err == nil {
				c.Disconnect(DisconnectNormal, "")
			}
			return err
		}
		online, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "bad-1", PeerAddr: netip.MustParseAddrPort("192.0.2.9:1000")}})
		other, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "good", PeerAddr: netip.MustParseAddrPort("198.51.100.1:1000")}})
		kicked, err := b.AddBan(Ban{Kind: BanPeerHost, Value: "192.0.2.0/24", Reason: "scanner"})
		if err != nil || kicked != 1 {
			t.Fatalf("ban: %d kicked, %v", kicked, err)
		}
		online.conn.wantKick(t, AdministrativeAction)
		other.conn.wantNoKick(t)
		if _, err := b.AddBan(Ban{Kind: BanUsername, Value: "mallory"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.AddBan(Ban{Kind: BanClientID, Value: "dev-9", Until: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id, user, peer string
			banned         bool
		}{
			{"x", "", "192.0.2.200:5", true},
			{"x", "", "[::ffff:192.0.2.7]:5", true},
			{"x", "mallory", "198.51.100.2:5", true},
			{"dev-9", "", "198.51.100.2:5", false}, // expired
			{"y", "alice", "198.51.100.2:5", false},
		} {
			err := try(tc.id, tc.user, tc.peer)
			if got := errors.Is(err, Banned); got != tc.banned {
				t.Errorf("%s/%s from %s: %v, want banned=%v", tc.id, tc.user, tc.peer, err, tc.banned)
			}
		}
		if _, err := b.AddBan(Ban{Kind: "ip", Value: "x"}); err == nil {
			t.Error("a ban of an unknown kind was taken")
		}
		if _, err := b.AddBan(Ban{Kind: BanPeerHost, Value: "not-an-address"}); err == nil {
			t.Error("a peerhost ban without an address was taken")
		}
		if got := len(b.Bans()); got != 2 {
			t.Fatalf("%d bans listed, want 2 (the expired one is not)", got)
		}
		b.Close()
		// Bans outlive a restart; lifting one lets the client in.
		b = storedBroker(t, open(), Config{})
		if err := try("z", "mallory", "198.51.100.3:1"); !errors.Is(err, Banned) {
			t.Fatalf("after restart: %v", err)
		}
		if ok, err := b.RemoveBan(BanUsername, "mallory"); !ok || err != nil {
			t.Fatalf("unban: %v %v", ok, err)
		}
		if err := try("z", "mallory", "198.51.100.3:1"); err != nil {
			t.Fatalf("after unban: %v", err)
		}
	})
}

// TestTransientBansAreNotStored: a Transient ban refuses like any other
// but is not written to the store (its file is read at every start).
func TestTransientBansAreNotStored(t *testing.T) {
	st := memory.New()
	b := newBroker(t, Config{Store: st})
	if _, err := b.AddBan(Ban{Kind: BanClientID, Value: "x", Transient: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddBan(Ban{Kind: BanClientID, Value: "y"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(context.Background(), &OpenRequest{Info: ClientInfo{ClientID: "x"}}); !errors.Is(err, Banned) {
		t.Fatalf("open by a client under a transient ban: %v", err)
	}
	list, err := st.Bans().List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Value != "y" {
		t.Fatalf("stored bans %+v, want only y", list)
	}
}
