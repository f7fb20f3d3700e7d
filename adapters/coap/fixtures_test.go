package coap

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/internal/hexfixture"
)

// fixture is one datagram from testdata/coap.
type fixture struct {
	name, desc, expect string
	data               []byte
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	fs, err := hexfixture.Load("../../testdata/coap", func(name string, b []byte) (fixture, error) {
		f := fixture{name: name}
		desc, raw, err := hexfixture.Parse(b, func(k, v string) (bool, error) {
			if k == "expect" {
				f.expect = v
				return true, nil
			}
			return false, nil
		})
		f.desc, f.data = desc, raw
		if err == nil && f.expect == "" {
			err = fmt.Errorf("no expect header")
		}
		return f, err
	})
	if err != nil || len(fs) == 0 {
		t.Fatalf("load fixtures: %v (%d)", err, len(fs))
	}
	return fs
}

// TestFixturesOnLiveListener sends every fixture from its own address and
// checks the exact answer, and that only a 2.04 published anything.
func TestFixturesOnLiveListener(t *testing.T) {
	e := startEnv(t)
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			before := e.broker.Stats().MessagesReceived.Load()
			r := e.raw()
			r.send(f.data)
			// A ping after the fixture: its RST comes after any answer to
			// the fixture, so "drop" needs no timeout.
			r.send([]byte{0x40, 0, 0xff, 0xee})
			m := r.read()
			switch f.expect {
			case "drop":
				if m.typ != typeRST || m.mid != 0xffee {
					t.Fatalf("%s: answered %s type %d, want no answer", f.desc, codeString(m.code), m.typ)
				}
			case "rst":
				mid := uint16(f.data[2])<<8 | uint16(f.data[3])
				if m.typ != typeRST || m.mid != mid || m.code != 0 {
					t.Fatalf("%s: got type %d code %s MID %d, want RST with MID %d", f.desc, m.typ, codeString(m.code), m.mid, mid)
				}
			default:
				if got := codeString(m.code); got != f.expect {
					t.Fatalf("%s: answered %s %q, want %s", f.desc, got, m.payload, f.expect)
				}
				if f.data[0]>>4&3 == typeCON && (m.typ != typeACK || m.mid != uint16(f.data[2])<<8|uint16(f.data[3])) {
					t.Fatalf("%s: a CON request answered with type %d MID %d, want a piggybacked ACK", f.desc, m.typ, m.mid)
				}
				if m.code >= codeBadRequest && m.payload == "" {
					t.Fatalf("%s: error %s without a diagnostic payload", f.desc, codeString(m.code))
				}
			}
			published := e.broker.Stats().MessagesReceived.Load() - before
			if want := int64(0); f.expect == "2.04" && published != 1 || f.expect != "2.04" && published != want {
				t.Fatalf("%s: %d messages published", f.desc, published)
			}
		})
	}
}

func TestTooLargeCarriesSize1(t *testing.T) {
	e := startEnv(t)
	r := e.raw()
	r.send(rawRequest(message.Confirmable, codes.POST, 7, []byte{1}, pathOpts("ps", "x"), []byte(strings.Repeat("p", 2000))))
	m := r.read()
	if codeString(m.code) != "4.13" {
		t.Fatalf("answered %s", codeString(m.code))
	}
	var msg message.Message
	msg.Options = make(message.Options, 0, 8)
	if _, err := decodeForTest(m.raw, &msg); err != nil {
		t.Fatal(err)
	}
	if v, err := msg.Options.GetUint32(message.Size1); err != nil || v != 1152 {
		t.Fatalf("Size1 %d %v, want 1152", v, err)
	}
}
