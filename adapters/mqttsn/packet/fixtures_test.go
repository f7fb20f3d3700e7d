package packet

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet/packettest"
)

var update = flag.Bool("update", false, "rewrite testdata/mqttsn and the fuzz seed corpus from the fixture table")

const fixtureDir = "../../../testdata/mqttsn"

// fixtureTable is the catalogue of named datagrams. valid- entries cover
// every message type; bad- entries are the malformed table: each must be
// rejected with ErrMalformed.
var fixtureTable = []struct {
	name, desc, hex string
}{
	{"valid-advertise", "ADVERTISE gateway 1, duration 900 s", "05 00 01 03 84"},
	{"valid-searchgw", "SEARCHGW radius 0", "03 01 00"},
	{"valid-gwinfo-from-gateway", "GWINFO from a gateway: gateway id only", "03 02 01"},
	{"valid-gwinfo-from-client", "GWINFO answered by a client: gateway id and address", "07 02 01 7f 00 00 01"},
	{"valid-connect", "CONNECT clean session, keep alive 60, client id dev1", "0a 04 04 01 00 3c 64 65 76 31"},
	{"valid-connect-will", "CONNECT with Will and CleanSession", "0a 04 0c 01 00 3c 64 65 76 31"},
	{"valid-connect-empty-client-id", "CONNECT with an empty client id (the gateway assigns one)", "06 04 04 01 00 3c"},
	{"valid-connack", "CONNACK accepted", "03 05 00"},
	{"valid-willtopicreq", "WILLTOPICREQ", "02 06"},
	{"valid-willtopic", "WILLTOPIC QoS 1 retain w/t", "06 07 30 77 2f 74"},
	{"valid-willtopic-empty", "empty WILLTOPIC: delete the will", "02 07"},
	{"valid-willmsgreq", "WILLMSGREQ", "02 08"},
	{"valid-willmsg", "WILLMSG bye", "05 09 62 79 65"},
	{"valid-register", "REGISTER a/b, message id 1", "09 0a 00 00 00 01 61 2f 62"},
	{"valid-regack", "REGACK topic id 1, message id 1, accepted", "07 0b 00 01 00 01 00"},
	{"valid-publish-qos1-normal", "PUBLISH QoS 1, normal topic id 1, message id 2", "09 0c 20 00 01 00 02 68 69"},
	{"valid-publish-qos-minus-one-predefined", "PUBLISH QoS -1, predefined topic id 5", "09 0c 61 00 05 00 00 68 69"},
	{"valid-publish-qos0-short", "PUBLISH QoS 0, short topic ab", "09 0c 02 61 62 00 00 68 69"},
	{"valid-publish-qos2-dup-retain", "PUBLISH QoS 2, DUP, retain", "09 0c d0 00 01 00 03 68 69"},
	{"valid-publish-three-octet-length", "PUBLISH in the 3-octet length form although it is short", "01 00 0b 0c 00 00 01 00 00 68 69"},
	{"valid-puback", "PUBACK topic id 1, message id 2, accepted", "07 0d 00 01 00 02 00"},
	{"valid-pubcomp", "PUBCOMP message id 3", "04 0e 00 03"},
	{"valid-pubrec", "PUBREC message id 3", "04 0f 00 03"},
	{"valid-pubrel", "PUBREL message id 3", "04 10 00 03"},
	{"valid-subscribe-name-wildcard", "SUBSCRIBE QoS 1 to s/#", "08 12 20 00 04 73 2f 23"},
	{"valid-subscribe-predefined", "SUBSCRIBE QoS 2 to predefined topic id 7", "07 12 41 00 05 00 07"},
	{"valid-subscribe-short", "SUBSCRIBE QoS 0 to short topic ab", "07 12 02 00 06 61 62"},
	{"valid-suback", "SUBACK granted QoS 1, topic id 0 (wildcard), message id 4", "08 13 20 00 00 00 04 00"},
	{"valid-unsubscribe-name", "UNSUBSCRIBE s/#", "08 14 00 00 07 73 2f 23"},
	{"valid-unsubscribe-short", "UNSUBSCRIBE short topic ab", "07 14 02 00 08 61 62"},
	{"valid-unsuback", "UNSUBACK message id 7", "04 15 00 07"},
	{"valid-pingreq", "PINGREQ without client id", "02 16"},
	{"valid-pingreq-client-id", "PINGREQ from a sleeping client dev1", "06 16 64 65 76 31"},
	{"valid-pingresp", "PINGRESP", "02 17"},
	{"valid-disconnect", "DISCONNECT", "02 18"},
	{"valid-disconnect-sleep", "DISCONNECT with a sleep duration of 60 s", "04 18 00 3c"},
	{"valid-willtopicupd", "WILLTOPICUPD QoS 1 w/t", "06 1a 20 77 2f 74"},
	{"valid-willtopicupd-empty", "empty WILLTOPICUPD: delete the will", "02 1a"},
	{"valid-willtopicresp", "WILLTOPICRESP accepted", "03 1b 00"},
	{"valid-willmsgupd", "WILLMSGUPD hi", "04 1c 68 69"},
	{"valid-willmsgresp", "WILLMSGRESP accepted", "03 1d 00"},
	{"valid-encapsulated-pingreq", "forwarder encapsulation of PINGREQ from node aa bb", "05 fe 01 aa bb 02 16"},
	{"valid-encapsulated-connect", "forwarder encapsulation of CONNECT from node 07", "04 fe 00 07 0a 04 04 01 00 3c 64 65 76 31"},

	{"bad-empty", "empty datagram", ""},
	{"bad-one-byte", "a lone length byte", "02"},
	{"bad-length-zero", "length field 0", "00 16"},
	{"bad-length-longer-than-datagram", "length field 5, datagram 3 bytes", "05 16 00"},
	{"bad-length-shorter-than-datagram", "length field 2, datagram 3 bytes", "02 16 00"},
	{"bad-three-octet-truncated", "3-octet length form cut after two bytes", "01 00"},
	{"bad-three-octet-mismatch", "3-octet length 9, datagram 5 bytes", "01 00 09 16 00"},
	{"bad-three-octet-too-large", "3-octet length 65535, datagram 5 bytes", "01 ff ff 16 00"},
	{"bad-type-03", "message type 0x03 is reserved", "02 03"},
	{"bad-type-11", "message type 0x11 is reserved", "02 11"},
	{"bad-type-19", "message type 0x19 is reserved", "02 19"},
	{"bad-type-ff", "message type 0xFF is reserved", "02 ff"},
	{"bad-advertise-short", "ADVERTISE without the duration's second byte", "04 00 01 03"},
	{"bad-searchgw-empty", "SEARCHGW without radius", "02 01"},
	{"bad-gwinfo-empty", "GWINFO without gateway id", "02 02"},
	{"bad-connect-short", "CONNECT cut inside the duration", "05 04 04 01 00"},
	{"bad-connect-flags", "CONNECT with QoS bits set", "06 04 24 01 00 3c"},
	{"bad-connack-long", "CONNACK with two return codes", "04 05 00 00"},
	{"bad-willtopicreq-body", "WILLTOPICREQ with a body", "03 06 00"},
	{"bad-willtopic-qos-minus-one", "WILLTOPIC with QoS -1", "04 07 60 61"},
	{"bad-register-short", "REGISTER cut inside the message id", "05 0a 00 00 00"},
	{"bad-regack-short", "REGACK without return code", "06 0b 00 01 00 01"},
	{"bad-publish-short", "PUBLISH cut inside the message id", "06 0c 00 00 01 00"},
	{"bad-publish-topic-type-3", "PUBLISH with the reserved topic id type 3", "07 0c 03 00 01 00 00"},
	{"bad-publish-will-flag", "PUBLISH with the Will flag", "07 0c 08 00 01 00 00"},
	{"bad-puback-long", "PUBACK with a trailing byte", "08 0d 00 01 00 02 00 00"},
	{"bad-pubrel-short", "PUBREL with one byte of message id", "03 10 00"},
	{"bad-subscribe-qos-minus-one", "SUBSCRIBE asking for QoS -1", "08 12 60 00 01 61 2f 62"},
	{"bad-subscribe-short-topic-one-byte", "SUBSCRIBE short topic of one byte", "06 12 02 00 01 61"},
	{"bad-subscribe-topic-type-3", "SUBSCRIBE with the reserved topic id type 3", "07 12 03 00 01 00 01"},
	{"bad-unsubscribe-qos", "UNSUBSCRIBE with QoS bits", "08 14 20 00 01 61 2f 62"},
	{"bad-suback-short", "SUBACK without return code", "07 13 00 00 00 00 01"},
	{"bad-pingresp-body", "PINGRESP with a body", "03 17 00"},
	{"bad-disconnect-one-byte", "DISCONNECT with a one-byte duration", "03 18 00"},
	{"bad-disconnect-three-bytes", "DISCONNECT with three bytes", "05 18 00 00 00"},
	{"bad-encapsulated-no-message", "encapsulation header without a message", "03 fe 00"},
	{"bad-encapsulated-length-past-end", "encapsulation length 9 in a 4-byte datagram", "09 fe 00 aa"},
	{"bad-encapsulated-length-too-small", "encapsulation length 2 has no room for Ctrl", "02 fe 00 02 16"},
	{"bad-encapsulated-nested", "encapsulation inside encapsulation", "03 fe 00 03 fe 00 02 16"},
	{"bad-encapsulated-inner-malformed", "encapsulated PINGREQ whose length disagrees", "03 fe 00 05 16 00"},
}

type fixture struct {
	name, desc, expect string
	b                  []byte
}

func tableFixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	for _, e := range fixtureTable {
		b, err := hex.DecodeString(strings.ReplaceAll(e.hex, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		expect := "ok"
		if strings.HasPrefix(e.name, "bad-") {
			expect = "malformed"
		}
		out = append(out, fixture{e.name, e.desc, expect, b})
	}
	// A PUBLISH longer than 255 bytes needs the 3-octet length form.
	big := bytes.Repeat([]byte{'x'}, 300)
	b, _ := Append(nil, &Packet{Type: PUBLISH, QoS: 1, TopicID: 1, MsgID: 9, Data: big})
	out = append(out, fixture{"valid-publish-300-bytes", "PUBLISH of 300 bytes in the 3-octet length form", "ok", b})
	return out
}

// decodeDatagram is what the gateway does with a datagram.
func decodeDatagram(b []byte, p *Packet) (fw Forward, wrapped bool, err error) {
	inner, wrapped, err := Unwrap(b, &fw)
	if err != nil {
		return fw, wrapped, err
	}
	return fw, wrapped, Decode(inner, p)
}

func TestFixturesInSync(t *testing.T) {
	fixtures := tableFixtures(t)
	if *update {
		old, _ := filepath.Glob(filepath.Join(fixtureDir, "*.hex"))
		for _, f := range old {
			os.Remove(f)
		}
		corpus := filepath.Join("testdata", "fuzz", "FuzzDecode")
		if err := os.MkdirAll(corpus, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range fixtures {
			pf := packettest.Fixture{Name: f.name, Description: f.desc, Expect: f.expect, Bytes: f.b}
			if err := os.WriteFile(filepath.Join(fixtureDir, f.name+".hex"), packettest.Format(pf), 0o644); err != nil {
				t.Fatal(err)
			}
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", f.b)
			if err := os.WriteFile(filepath.Join(corpus, f.name), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := packettest.Load(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(fixtures) {
		t.Fatalf("%d fixture files, %d table entries; run with -update", len(files), len(fixtures))
	}
	byName := map[string]packettest.Fixture{}
	for _, g := range files {
		byName[g.Name] = g
	}
	for _, f := range fixtures {
		g, ok := byName[f.name]
		if !ok || g.Expect != f.expect || !bytes.Equal(g.Bytes, f.b) {
			t.Errorf("fixture %s differs from the table; run with -update", f.name)
		}
	}
}

func TestFixtures(t *testing.T) {
	files, err := packettest.Load(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	var seen = map[Type]bool{}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			var p Packet
			fw, wrapped, err := decodeDatagram(f.Bytes, &p)
			if f.Expect == "malformed" {
				if err == nil {
					t.Fatalf("decoded %+v, want ErrMalformed", p)
				}
				if !errorsIs(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			seen[p.Type] = true
			b, err := Append(nil, &p)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if wrapped {
				b, err = AppendForward(nil, &fw, b)
				if err != nil {
					t.Fatal(err)
				}
			}
			var q Packet
			if _, _, err := decodeDatagram(b, &q); err != nil {
				t.Fatalf("re-encoded %x: %v", b, err)
			}
			if !samePacket(&p, &q) {
				t.Fatalf("re-encoded packet differs:\n got %+v\nwant %+v", q, p)
			}
			if f.Bytes[0] != 0x01 || len(f.Bytes) > 255 {
				if !bytes.Equal(b, f.Bytes) {
					t.Fatalf("re-encoded %x, fixture %x", b, f.Bytes)
				}
			}
		})
	}
	for _, ty := range Types() {
		if !seen[ty] {
			t.Errorf("no valid fixture of type %v", ty)
		}
	}
}
