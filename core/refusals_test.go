package core

import (
	"context"
	"errors"
	"testing"
)

// failingSource is an authentication source that cannot answer for the
// username "down" and knows the passwords of the others.
type failingSource struct{ passwords }

func (s failingSource) Authenticate(ctx context.Context, c *ClientInfo, pw []byte) (Verdict, error) {
	if c.Username == "down" {
		return Ignore, errors.New("source unreachable")
	}
	return s.passwords.Authenticate(ctx, c, pw)
}

// TestOpenCountsRefusalsByProtocolAndReason: each connection Open refuses
// is counted once, under its protocol and the reason it was refused, and
// an accepted one is not counted.
func TestOpenCountsRefusalsByProtocolAndReason(t *testing.T) {
	b := NewBroker(Config{Authenticator: failingSource{passwords{"alice": "secret"}}})
	b.Start()
	t.Cleanup(b.Close)
	if _, err := b.AddBan(Ban{Kind: BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		proto, id      string
		user, password string
		want           Refusal // LastRefusal+1: accepted
	}{
		{"wrong password", "mqtt", "c1", "alice", "wrong", RefusedBadCredentials},
		{"unknown username", "stomp", "c2", "bob", "x", RefusedBadCredentials},
		{"anonymous while anonymous access is off", "coap", "c3", "", "", RefusedNotAuthorized},
		{"source failing", "mqtt-sn", "c4", "down", "x", RefusedAuthSourceError},
		{"banned before authenticating", "mqtt", "banned", "alice", "secret", RefusedBanned},
		{"empty client id", "mqtt", "", "alice", "secret", RefusedClientIDInvalid},
		{"good password", "mqtt", "c5", "alice", "secret", LastRefusal + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := refusalsOf(b)
			req := &OpenRequest{Info: ClientInfo{Protocol: tc.proto, ClientID: tc.id, Username: tc.user}, Conn: nullConn{}}
			if tc.password != "" {
				req.Password = []byte(tc.password)
			}
			c, _, err := b.Open(context.Background(), req)
			if err == nil {
				c.Disconnect(DisconnectNormal, "")
			}
			if (err == nil) != (tc.want > LastRefusal) {
				t.Fatalf("open: %v", err)
			}
			after := refusalsOf(b)
			for k, n := range after {
				want := before[k]
				if k == (refusalKey{tc.proto, tc.want}) {
					want++
				}
				if n != want {
					t.Errorf("%s %s: %d, want %d", k.proto, k.reason, n, want)
				}
			}
			if tc.want <= LastRefusal && after[refusalKey{tc.proto, tc.want}] == 0 {
				t.Errorf("%s %s not counted", tc.proto, tc.want)
			}
		})
	}
	b.Close()
	if _, _, err := b.Open(context.Background(), &OpenRequest{Info: ClientInfo{Protocol: "mqtt", ClientID: "late", Username: "alice"},
		Password: []byte("secret"), Conn: nullConn{}}); !errors.Is(err, ServerShuttingDown) {
		t.Fatalf("open after close: %v", err)
	}
	if n := refusalsOf(b)[refusalKey{"mqtt", RefusedShuttingDown}]; n != 1 {
		t.Errorf("refused while shutting down: %d, want 1", n)
	}
	if n := b.Snapshot().Refused; len(n) != len(refusalsOf(b)) {
		t.Errorf("the snapshot has %d refusal counts, RefusalCounts %d", len(n), len(refusalsOf(b)))
	}
}

// TestRefusalNamesAreLabels: every Refusal has a name fit for a metric
// label, and the authentication ones say so.
func TestRefusalNamesAreLabels(t *testing.T) {
	auth := map[Refusal]bool{RefusedBadCredentials: true, RefusedNotAuthorized: true, RefusedAuthSourceError: true}
	for r := Refusal(0); r <= LastRefusal; r++ {
		if s := r.String(); s == "" || s == "unknown" {
			t.Errorf("refusal %d has no name", r)
		}
		if r.Authentication() != auth[r] {
			t.Errorf("%s: Authentication() = %v", r, r.Authentication())
		}
	}
}

type refusalKey struct {
	proto  string
	reason Refusal
}

func refusalsOf(b *Broker) map[refusalKey]int64 {
	m := map[refusalKey]int64{}
	for _, c := range b.RefusalCounts() {
		m[refusalKey{c.Protocol, c.Reason}] = c.N
	}
	return m
}

// TestCountRefusedAddsTheAdaptersRefusals: a refusal an adapter counts
// shows under its protocol and reason beside the core's own, an unknown
// protocol counts as "other", counting allocates nothing, and none of
// the adapters' reasons is authentication's.
func TestCountRefusedAddsTheAdaptersRefusals(t *testing.T) {
	b := NewBroker(Config{})
	b.Start()
	t.Cleanup(b.Close)
	for _, tc := range []struct {
		name  string
		proto string
		r     Refusal
		times int
		want  refusalKey
	}{
		{"a full MQTT listener", "mqtt", RefusedServerBusy, 2, refusalKey{"mqtt", RefusedServerBusy}},
		{"a STOMP version not spoken", "stomp", RefusedUnsupportedProtocol, 1, refusalKey{"stomp", RefusedUnsupportedProtocol}},
		{"a malformed MQTT-SN CONNECT", "mqtt-sn", RefusedMalformedConnect, 1, refusalKey{"mqtt-sn", RefusedMalformedConnect}},
		{"no CONNECT in time", "mqtt", RefusedConnectTimeout, 3, refusalKey{"mqtt", RefusedConnectTimeout}},
		{"a client id too long", "coap", RefusedClientIDInvalid, 1, refusalKey{"coap", RefusedClientIDInvalid}},
		{"a protocol the core does not count", "amqp", RefusedServerBusy, 1, refusalKey{"other", RefusedServerBusy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := refusalsOf(b)
			for range tc.times {
				b.CountRefused(tc.proto, tc.r)
			}
			after := refusalsOf(b)
			for k := range after {
				want := before[k]
				if k == tc.want {
					want += int64(tc.times)
				}
				if after[k] != want {
					t.Errorf("%s %s: %d, want %d", k.proto, k.reason, after[k], want)
				}
			}
			if after[tc.want] == 0 {
				t.Errorf("%s %s not counted", tc.want.proto, tc.want.reason)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { b.CountRefused("mqtt", RefusedServerBusy) }); n != 0 {
		t.Errorf("CountRefused allocates %v times", n)
	}
	for _, r := range []Refusal{RefusedServerBusy, RefusedUnsupportedProtocol, RefusedMalformedConnect, RefusedConnectTimeout} {
		if r.Authentication() {
			t.Errorf("%s counts as an authentication denial", r)
		}
	}
}
