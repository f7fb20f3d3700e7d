package conf_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

func TestBridges(t *testing.T) {
	const rule = "    rules: [{direction: out, local: 'a/#', qos: 1}]\n"
	tests := []struct {
		name    string
		doc     string
		wantErr string // "" for valid
		check   func(t *testing.T, c *conf.Config)
	}{
		{"defaults are filled in",
			"node: edge\nbridges:\n  - name: up\n    address: 127.0.0.1:1883\n" + rule, "",
			func(t *testing.T, c *conf.Config) {
				b := c.Bridges[0]
				if b.Protocol != "3.1.1" || b.ClientID != "edge-up" || b.KeepAlive.D() != time.Minute ||
					b.MaxInflight != conf.DefaultBridgeMaxInflight || b.Outbox.Policy != "drop_oldest" ||
					b.Outbox.MaxMessages != conf.DefaultBridgeOutboxMax || b.CleanStart || b.SessionExpiry.D() != 24*time.Hour {
					t.Fatalf("bridge %+v", b)
				}
			}},
		{"addresses follow address",
			"bridges:\n  - name: up\n    address: tcp://a:1883\n    addresses: ['mqtts://b:8883']\n" + rule, "",
			func(t *testing.T, c *conf.Config) {
				if got := strings.Join(c.Bridges[0].Addrs(), ","); got != "tcp://a:1883,mqtts://b:8883" {
					t.Fatalf("Addrs %s", got)
				}
			}},
		{"a rule in both directions with positional wildcards",
			"bridges:\n  - name: up\n    address: a:1\n    rules: [{direction: both, local: 'site/+/t', remote: 'c/${node}/+/t'}]\n", "", nil},
		{"name is required", "bridges:\n  - address: a:1\n" + rule, "bridges[0].name: is required", nil},
		{"names are unique",
			"bridges:\n  - name: x\n    address: a:1\n" + rule + "  - name: x\n    address: a:1\n" + rule,
			"bridges[1].name: \"x\" is used by another bridge", nil},
		{"name is one topic level", "bridges:\n  - name: a/b\n    address: a:1\n" + rule, "bridges[0].name: \"a/b\" must not contain", nil},
		{"address is required", "bridges:\n  - name: x\n" + rule, "bridges[0].address: is required", nil},
		{"unknown scheme", "bridges:\n  - name: x\n    address: http://a:1\n" + rule, "scheme \"http\" is not one of", nil},
		{"unknown protocol", "bridges:\n  - name: x\n    address: a:1\n    protocol: '4'\n" + rule, "bridges[0].protocol: \"4\" is not one of: 3.1.1, 5", nil},
		{"rules are required", "bridges:\n  - name: x\n    address: a:1\n", "bridges[0].rules: at least one rule is required", nil},
		{"unknown direction",
			"bridges:\n  - name: x\n    address: a:1\n    rules: [{direction: up, local: a}]\n",
			"bridges[0].rules[0].direction: \"up\" is not one of: out, in, both", nil},
		{"reference to a missing wildcard",
			"bridges:\n  - name: x\n    address: a:1\n    rules: [{direction: out, local: 'a/+', remote: 'b/$2'}]\n",
			"bridges[0].rules[0]: target \"b/$2\": $2 refers to no wildcard", nil},
		{"both with numbered references cannot be reversed",
			"bridges:\n  - name: x\n    address: a:1\n    rules: [{direction: both, local: 'a/+', remote: 'b/$1'}]\n",
			"bridges[0].rules[0].remote: a rule in both directions repeats the wildcards", nil},
		{"qos out of range",
			"bridges:\n  - name: x\n    address: a:1\n    rules: [{direction: in, local: a, qos: 3}]\n",
			"bridges[0].rules[0].qos: must be 0, 1 or 2", nil},
		{"unknown outbox policy",
			"bridges:\n  - name: x\n    address: a:1\n    outbox: {policy: block}\n" + rule,
			"bridges[0].outbox.policy: \"block\" is not one of: drop_oldest, drop_newest", nil},
		{"client certificate without key",
			"bridges:\n  - name: x\n    address: a:1\n    tls: {cert_file: c.pem}\n" + rule,
			"bridges[0].tls.key_file: cert_file and key_file go together", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := conf.Parse([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

// TestReadmeBridgeConfigsLoad parses the YAML examples of the README's
// Bridges section, so that they stay valid.
func TestReadmeBridgeConfigsLoad(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Bridges\n")
	if !ok {
		t.Fatal("README has no Bridges section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := 0
	for {
		_, rest, ok := strings.Cut(section, "```yaml\n")
		if !ok {
			break
		}
		block, after, _ := strings.Cut(rest, "```")
		section = after
		blocks++
		c, err := conf.Parse([]byte(block))
		if err != nil {
			t.Fatalf("README bridge example %d: %v\n%s", blocks, err, block)
		}
		if len(c.Bridges) != 1 {
			t.Fatalf("README bridge example %d has %d bridges", blocks, len(c.Bridges))
		}
	}
	if blocks != 2 {
		t.Fatalf("README Bridges section has %d yaml examples, want 2 (a local broker, a cloud broker over mTLS)", blocks)
	}
}
