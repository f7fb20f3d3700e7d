package coap

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
	mqtttopic "github.com/mqgate/mqgate/core/topic"
)

func addFixtureSeeds(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.data)
	}
}

// FuzzParse: the request parser never panics, and what it returns points
// into the datagram within the limits it enforces.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r request
		if err := parse(b, &r, 64); err != nil {
			return
		}
		if len(r.token) > 8 || len(r.path)+len(r.query) > 64 {
			t.Fatalf("token %d bytes, %d options", len(r.token), len(r.path)+len(r.query))
		}
		for _, s := range append(r.path, r.query...) {
			if len(s) > 255 {
				t.Fatalf("a %d-byte Uri option", len(s))
			}
		}
		if r.payload != nil && len(r.payload) == 0 {
			t.Fatal("an empty payload after a marker")
		}
		if r.code == 0 && len(b) != 4 {
			t.Fatal("an empty message with more than a header")
		}
	})
}

// FuzzTopicFromPath: a mapped topic is a valid topic name (or filter),
// has one level per segment and never contains what segments may not
// carry.
func FuzzTopicFromPath(f *testing.F) {
	for _, s := range []string{"a\x00b", "a/b", "%2F", "%2e%2e", "..", "", "a\x01\x01b", "%23", "%2B", "+", "#", "a%zz", "%", "\xc3\x28"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, joined string, filter bool) {
		// Segments are separated by \x01 in the fuzz input.
		var segs [][]byte
		for _, s := range strings.Split(joined, "\x01") {
			segs = append(segs, []byte(s))
		}
		topic, err := topicFromPath(segs, filter)
		if err != nil {
			return
		}
		if n := strings.Count(topic, "/") + 1; n != len(segs) {
			t.Fatalf("%q: %d levels from %d segments", topic, n, len(segs))
		}
		if !filter {
			if err := core.ValidateTopicName(topic, 0); err != nil {
				t.Fatalf("%q maps to an invalid topic %q: %v", joined, topic, err)
			}
		} else if err := mqtttopic.ValidateFilter(topic, 0); err != nil {
			t.Fatalf("%q maps to an invalid filter %q: %v", joined, topic, err)
		}
		if strings.IndexByte(topic, 0) >= 0 {
			t.Fatalf("NUL in %q", topic)
		}
	})
}

// FuzzParseQuery: query parsing never panics and returns only valid QoS
// values.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"c=a\x01u=b", "qos=1", "qos=3", "retain", "c=%zz", "c=a\x01c=b", "expiry=99999999999", "r=true\x01q=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		var q [][]byte
		for _, s := range strings.Split(joined, "\x01") {
			q = append(q, []byte(s))
		}
		p, err := parseQuery(q)
		if err != nil {
			return
		}
		if p.qos < -1 || p.qos > 2 || p.expiry < 0 {
			t.Fatalf("params %+v", p)
		}
	})
}

// FuzzDatagram runs whole datagrams through a live gateway's handler from
// one source address: no input panics, and the gateway's state stays
// within its limits.
func FuzzDatagram(f *testing.F) {
	addFixtureSeeds(f)
	e := startEnv(f)
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sink.Close() })
	l := e.gw.listeners[0]
	p := peer{l: l, addr: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
	p.addr = netip.AddrPortFrom(p.addr.Addr().Unmap(), p.addr.Port())
	f.Fuzz(func(t *testing.T, b []byte) {
		var r request
		e.gw.datagram(p, bytes.Clone(b), &r)
		e.gw.mu.Lock()
		n := len(e.gw.byID)
		e.gw.mu.Unlock()
		if n > e.gw.cfg.MaxClients {
			t.Fatalf("%d clients", n)
		}
	})
}
