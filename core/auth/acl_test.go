package auth

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
)

const (
	pub = core.ActionPublish
	sub = core.ActionSubscribe
)

func loadACL(t *testing.T, content string, def core.Verdict) *ACL {
	t.Helper()
	a, err := LoadACL(writeFile(t, "acl.conf", content), def)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func client(user, id, addr string) *core.ClientInfo {
	c := &core.ClientInfo{Protocol: "mqtt", Username: user, ClientID: id}
	if addr != "" {
		c.PeerAddr = netip.MustParseAddrPort(addr)
	}
	return c
}

type aclCase struct {
	name   string
	c      *core.ClientInfo
	action core.Action
	topic  string
	want   core.Verdict
}

func runACL(t *testing.T, a *ACL, tests []aclCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Authorize(context.Background(), tt.c, tt.action, tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Authorize(%+v, %v, %q) = %v, want %v", *tt.c, tt.action, tt.topic, got, tt.want)
			}
		})
	}
}

func TestLoadACLErrors(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"unknown verdict", "permit all all a", ":1: verdict \"permit\""},
		{"unknown selector", "# c\nallow everyone all a", ":2: selector \"everyone\""},
		{"empty user", "allow user: all a", ":1: selector \"user:\""},
		{"empty client", "allow client: all a", ":1: selector \"client:\""},
		{"bad ip", "allow ip:10.0.0.300 all a", ":1: ip selector"},
		{"bad cidr", "allow ip:10.0.0.0/33 all a", ":1: ip selector"},
		{"unknown action", "\n\nallow all read a", ":3: action \"read\""},
		{"missing pattern", "allow all all", ":1: want: allow|deny"},
		{"missing pattern after blanks", "allow all all   ", ":1: want: allow|deny"},
		{"too few fields", "allow", ":1: want: allow|deny"},
		{"invalid filter", "allow all all a/#/b", ":1: topic filter \"a/#/b\""},
		{"partial-level wildcard", "allow all all a+/b", ":1: topic filter \"a+/b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "acl.conf", tt.content)
			_, err := LoadACL(path, core.Deny)
			if err == nil || !strings.Contains(err.Error(), path+tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, path+tt.wantErr)
			}
		})
	}
}

func TestLoadACLRejectsInvalidDefault(t *testing.T) {
	path := writeFile(t, "acl.conf", "")
	if _, err := LoadACL(path, core.Verdict(7)); err == nil {
		t.Fatal("LoadACL accepted verdict 7")
	}
}

func TestLoadACLExample(t *testing.T) {
	a, err := LoadACL(filepath.Join(fixtureDir, "acl.conf"), core.Deny)
	if err != nil {
		t.Fatal(err)
	}
	runACL(t, a, []aclCase{
		{"admin subscribes to everything", client("admin", "x", ""), sub, "#", core.Allow},
		{"admin reads SYS through its own rule", client("admin", "x", ""), sub, "$SYS/broker/+", core.Allow},
		{"device publishes telemetry", client("", "dev1", ""), pub, "devices/dev1/telemetry", core.Allow},
		{"device may not publish commands", client("", "dev1", ""), pub, "devices/dev1/cmd", core.Deny},
		{"user area", client("carol", "c1", ""), all(), "users/carol/notes", core.Allow},
		{"other user's area", client("carol", "c1", ""), sub, "users/dave/#", core.Deny},
		{"plant sensor publishes", client("", "s1", "10.20.3.4:5000"), pub, "sensors/s1/reading", core.Allow},
		{"sensor outside plant network", client("", "s1", "10.21.3.4:5000"), pub, "sensors/s1/reading", core.Deny},
		{"legacy gateway publishes", client("", "lg", "192.0.2.7:1883"), pub, "legacy/a/b", core.Allow},
		{"dashboard does not see SYS", client("", "dashboard", ""), sub, "$SYS/#", core.Deny},
	})
}

func all() core.Action { return pub | sub }

func TestACLFirstMatchWins(t *testing.T) {
	a := loadACL(t, `
deny  user:eve all a/secret
allow all      all a/#
deny  all      all a/#
`, core.Deny)
	runACL(t, a, []aclCase{
		{"earlier deny beats later allow", client("eve", "e", ""), pub, "a/secret", core.Deny},
		{"earlier allow beats later deny", client("eve", "e", ""), pub, "a/public", core.Allow},
		{"other user passes the deny", client("bob", "b", ""), pub, "a/secret", core.Allow},
		{"no rule falls back to default", client("bob", "b", ""), pub, "b", core.Deny},
	})
}

func TestACLSelectors(t *testing.T) {
	a := loadACL(t, `
allow user:alice       all t/user
allow client:sensor-1  all t/client
allow ip:192.0.2.10    all t/ip
allow ip:10.0.0.0/8    all t/cidr
allow ip:2001:db8::/32 all t/cidr6
allow ip:::ffff:198.51.100.0/120 all t/mapped
allow all              all t/all
`, core.Deny)
	runACL(t, a, []aclCase{
		{"user matches", client("alice", "x", ""), pub, "t/user", core.Allow},
		{"other user does not", client("bob", "x", ""), pub, "t/user", core.Deny},
		{"user selector is not a client id", client("", "alice", ""), pub, "t/user", core.Deny},
		{"client matches", client("", "sensor-1", ""), pub, "t/client", core.Allow},
		{"client selector is not a username", client("sensor-1", "x", ""), pub, "t/client", core.Deny},
		{"ip matches", client("", "x", "192.0.2.10:1883"), pub, "t/ip", core.Allow},
		{"ip differs", client("", "x", "192.0.2.11:1883"), pub, "t/ip", core.Deny},
		{"ipv4-mapped peer matches ipv4 rule", client("", "x", "[::ffff:192.0.2.10]:1883"), pub, "t/ip", core.Allow},
		{"cidr contains", client("", "x", "10.200.1.1:1"), pub, "t/cidr", core.Allow},
		{"cidr excludes", client("", "x", "11.0.0.1:1"), pub, "t/cidr", core.Deny},
		{"ipv6 cidr contains", client("", "x", "[2001:db8::1]:1"), pub, "t/cidr6", core.Allow},
		{"ipv6 cidr excludes", client("", "x", "[2001:db9::1]:1"), pub, "t/cidr6", core.Deny},
		{"ipv4-mapped cidr matches ipv4 peer", client("", "x", "198.51.100.9:1"), pub, "t/mapped", core.Allow},
		{"unknown peer address matches no ip rule", client("", "x", ""), pub, "t/ip", core.Deny},
		{"all matches anonymous", client("", "", ""), pub, "t/all", core.Allow},
	})
}

func TestACLActions(t *testing.T) {
	a := loadACL(t, `
allow all publish   p
allow all subscribe s
allow all all       b
`, core.Deny)
	runACL(t, a, []aclCase{
		{"publish rule allows publish", client("", "c", ""), pub, "p", core.Allow},
		{"publish rule does not allow subscribe", client("", "c", ""), sub, "p", core.Deny},
		{"subscribe rule allows subscribe", client("", "c", ""), sub, "s", core.Allow},
		{"subscribe rule does not allow publish", client("", "c", ""), pub, "s", core.Deny},
		{"all rule allows both", client("", "c", ""), all(), "b", core.Allow},
		{"combined request needs one rule for both", client("", "c", ""), all(), "p", core.Deny},
	})
}

func TestACLPlaceholders(t *testing.T) {
	a := loadACL(t, `
allow all all users/%u/#
allow all all devices/%c/+
allow all all pair/%u/%c
allow all all inline/%u-data
`, core.Deny)
	runACL(t, a, []aclCase{
		{"username substituted", client("alice", "c1", ""), pub, "users/alice/x", core.Allow},
		{"other user's topic denied", client("alice", "c1", ""), pub, "users/bob/x", core.Deny},
		{"client id substituted", client("", "c1", ""), pub, "devices/c1/state", core.Allow},
		{"other client's topic denied", client("", "c1", ""), pub, "devices/c2/state", core.Deny},
		{"both substituted", client("alice", "c1", ""), sub, "pair/alice/c1", core.Allow},
		{"placeholder inside a level", client("alice", "c1", ""), pub, "inline/alice-data", core.Allow},
		{"subscribe under own subtree", client("alice", "c1", ""), sub, "users/alice/+/x", core.Allow},
		{"empty username does not match %u", client("", "c1", ""), pub, "users//x", core.Deny},
		{"literal %u is not a wildcard", client("alice", "c1", ""), pub, "users/%u/x", core.Deny},
	})
}

// TestACLWildcardIdentityDoesNotMatch guards against CVE-2017-7650: a client
// whose username or client id holds a wildcard or a level separator must not
// turn a %u or %c rule into a broader one.
func TestACLWildcardIdentityDoesNotMatch(t *testing.T) {
	a := loadACL(t, `
allow all all users/%u/#
allow all all devices/%c/#
`, core.Deny)
	runACL(t, a, []aclCase{
		{"username hash", client("#", "c1", ""), sub, "users/#", core.Deny},
		{"username hash reading another user", client("#", "c1", ""), sub, "users/alice/#", core.Deny},
		{"username plus", client("+", "c1", ""), sub, "users/+/#", core.Deny},
		{"username plus publishing", client("+", "c1", ""), pub, "users/+/x", core.Deny},
		{"username with slash", client("alice/x", "c1", ""), pub, "users/alice/x/y", core.Deny},
		{"client id hash", client("", "#", ""), sub, "devices/#", core.Deny},
		{"client id plus", client("", "+", ""), sub, "devices/+/x", core.Deny},
		{"client id with slash", client("", "a/b", ""), pub, "devices/a/b/c", core.Deny},
		{"client id containing plus", client("", "dev+1", ""), pub, "devices/dev+1/x", core.Deny},
	})
}

func TestACLSubscribeCoverage(t *testing.T) {
	a := loadACL(t, `
allow all subscribe sensors/#
allow all subscribe rooms/+
allow all subscribe exact/topic
`, core.Deny)
	runACL(t, a, []aclCase{
		{"hash rule covers plus request", client("", "c", ""), sub, "sensors/+/temp", core.Allow},
		{"hash rule covers hash request", client("", "c", ""), sub, "sensors/#", core.Allow},
		{"hash rule covers parent", client("", "c", ""), sub, "sensors", core.Allow},
		{"hash rule covers literal", client("", "c", ""), sub, "sensors/a/b", core.Allow},
		{"plus rule covers literal", client("", "c", ""), sub, "rooms/kitchen", core.Allow},
		{"plus rule covers plus", client("", "c", ""), sub, "rooms/+", core.Allow},
		{"plus rule does not cover hash", client("", "c", ""), sub, "rooms/#", core.Deny},
		{"plus rule does not cover deeper", client("", "c", ""), sub, "rooms/a/b", core.Deny},
		{"literal rule covers itself", client("", "c", ""), sub, "exact/topic", core.Allow},
		{"literal rule does not cover plus", client("", "c", ""), sub, "exact/+", core.Deny},
		{"root hash request denied", client("", "c", ""), sub, "#", core.Deny},
		{"invalid filter denied", client("", "c", ""), sub, "sensors/#/x", core.Deny},
		{"empty filter denied", client("", "c", ""), sub, "", core.Deny},
	})
}

func TestACLSharedSubscriptions(t *testing.T) {
	a := loadACL(t, `
allow all subscribe sensors/#
`, core.Deny)
	runACL(t, a, []aclCase{
		{"share prefix stripped", client("", "c", ""), sub, "$share/g1/sensors/+/temp", core.Allow},
		{"queue prefix stripped", client("", "c", ""), sub, "$queue/sensors/a", core.Allow},
		{"shared filter outside rule", client("", "c", ""), sub, "$share/g1/other/#", core.Deny},
		{"share without filter", client("", "c", ""), sub, "$share/g1", core.Deny},
		{"share with empty group", client("", "c", ""), sub, "$share//sensors/a", core.Deny},
		{"share with wildcard group", client("", "c", ""), sub, "$share/+/sensors/a", core.Deny},
		{"queue without filter", client("", "c", ""), sub, "$queue/", core.Deny},
		{"share prefix not stripped for publish", client("", "c", ""), pub, "$share/g1/sensors/a", core.Deny},
	})
}

func TestACLPublishTopicMatching(t *testing.T) {
	a := loadACL(t, `
allow all publish a/+/c
allow all publish b/#
`, core.Deny)
	runACL(t, a, []aclCase{
		{"plus matches", client("", "c", ""), pub, "a/x/c", core.Allow},
		{"plus does not match two levels", client("", "c", ""), pub, "a/x/y/c", core.Deny},
		{"hash matches parent", client("", "c", ""), pub, "b", core.Allow},
		{"hash matches deep", client("", "c", ""), pub, "b/1/2/3", core.Allow},
		{"wildcard in publish topic denied", client("", "c", ""), pub, "a/+/c", core.Deny},
		{"empty publish topic denied", client("", "c", ""), pub, "", core.Deny},
	})
}

func TestACLSysNotMatchedByWildcardRule(t *testing.T) {
	a := loadACL(t, `
allow all all #
allow all all +/broker/#
`, core.Deny)
	runACL(t, a, []aclCase{
		{"hash rule allows ordinary publish", client("", "c", ""), pub, "a/b", core.Allow},
		{"hash rule does not allow SYS publish", client("", "c", ""), pub, "$SYS/broker/x", core.Deny},
		{"hash rule does not allow SYS subscribe", client("", "c", ""), sub, "$SYS/#", core.Deny},
		{"plus rule does not allow SYS literal subscribe", client("", "c", ""), sub, "$SYS/broker/load", core.Deny},
		{"hash rule allows root hash subscribe", client("", "c", ""), sub, "#", core.Allow},
	})
}

func TestACLDefaultVerdicts(t *testing.T) {
	for _, def := range []core.Verdict{core.Allow, core.Deny, core.Ignore} {
		t.Run(def.String(), func(t *testing.T) {
			a := loadACL(t, "# nothing but a comment\ndeny all all blocked\n", def)
			runACL(t, a, []aclCase{
				{"unmatched gets default", client("u", "c", ""), pub, "other", def},
				{"matched rule beats default", client("u", "c", ""), pub, "blocked", core.Deny},
			})
		})
	}
}

func TestACLInvalidActionIsAnError(t *testing.T) {
	a := loadACL(t, "allow all all #\n", core.Allow)
	for _, act := range []core.Action{0, 4} {
		v, err := a.Authorize(context.Background(), client("", "c", ""), act, "a")
		if err == nil || v != core.Deny {
			t.Errorf("Authorize(action %d) = %v, %v; want deny and an error", act, v, err)
		}
	}
}

func TestACLReload(t *testing.T) {
	path := writeFile(t, "acl.conf", "allow all all a\n")
	a, err := LoadACL(path, core.Deny)
	if err != nil {
		t.Fatal(err)
	}
	c := client("", "c", "")
	runACL(t, a, []aclCase{{"before reload", c, pub, "a", core.Allow}})

	if err := os.WriteFile(path, []byte("deny all all a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	runACL(t, a, []aclCase{{"after reload", c, pub, "a", core.Deny}})

	if err := os.WriteFile(path, []byte("allow all all a/#/b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("Reload of broken file: err = %v", err)
	}
	runACL(t, a, []aclCase{{"broken reload keeps rules", c, pub, "a", core.Deny}})
}

func TestACLPatternMayContainBlanks(t *testing.T) {
	a := loadACL(t, "allow\tall\t\tpublish   room 1/light  \n", core.Deny)
	runACL(t, a, []aclCase{{"blank inside topic", client("", "c", ""), pub, "room 1/light", core.Allow}})
}
