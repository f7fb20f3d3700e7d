package packet

import (
	"errors"
	"strings"
	"testing"
)

// TestPropertyPlacement tries every property in every place that carries
// properties and checks it against table 2.4 of MQTT 5, written out here a
// second time in the spec's words.
func TestPropertyPlacement(t *testing.T) {
	spec := map[string]string{ // property: where it may appear
		"01 01":                    "PUBLISH Will",
		"02 00000001":              "PUBLISH Will",
		"03" + str("text/plain"):   "PUBLISH Will",
		"08" + str("reply/to"):     "PUBLISH Will",
		"09" + str("corr"):         "PUBLISH Will",
		"0b 01":                    "PUBLISH SUBSCRIBE",
		"11 00000001":              "CONNECT CONNACK DISCONNECT",
		"12" + str("assigned"):     "CONNACK",
		"13 0001":                  "CONNACK",
		"15" + str("method"):       "CONNECT CONNACK AUTH",
		"16" + str("data"):         "CONNECT CONNACK AUTH",
		"17 01":                    "CONNECT",
		"18 00000001":              "Will",
		"19 01":                    "CONNECT",
		"1a" + str("info"):         "CONNACK",
		"1c" + str("elsewhere"):    "CONNACK DISCONNECT",
		"1f" + str("reason"):       "CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK UNSUBACK DISCONNECT AUTH",
		"21 0001":                  "CONNECT CONNACK",
		"22 0001":                  "CONNECT CONNACK",
		"23 0001":                  "PUBLISH",
		"24 01":                    "CONNACK",
		"25 01":                    "CONNACK",
		"26" + str("k") + str("v"): "CONNECT CONNACK PUBLISH Will PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK DISCONNECT AUTH",
		"27 00000100":              "CONNECT CONNACK",
		"28 01":                    "CONNACK",
		"29 01":                    "CONNACK",
		"2a 01":                    "CONNACK",
	}
	places := map[string]func(prop string) string{
		"CONNECT": func(x string) string { return pkt(0x10, connectBody(V5, "02", props(x), str("c"))) },
		"Will": func(x string) string {
			return pkt(0x10, connectBody(V5, "06", props(), str("c"), props(x), str("w"), str("p")))
		},
		"CONNACK":     func(x string) string { return pkt(0x20, "00 00", props(x)) },
		"PUBLISH":     func(x string) string { return pkt(0x30, str("t"), props(x)) },
		"PUBACK":      func(x string) string { return pkt(0x40, "0001 00", props(x)) },
		"PUBREC":      func(x string) string { return pkt(0x50, "0001 00", props(x)) },
		"PUBREL":      func(x string) string { return pkt(0x62, "0001 00", props(x)) },
		"PUBCOMP":     func(x string) string { return pkt(0x70, "0001 00", props(x)) },
		"SUBSCRIBE":   func(x string) string { return pkt(0x82, "0001", props(x), str("a"), "00") },
		"SUBACK":      func(x string) string { return pkt(0x90, "0001", props(x), "00") },
		"UNSUBSCRIBE": func(x string) string { return pkt(0xa2, "0001", props(x), str("a")) },
		"UNSUBACK":    func(x string) string { return pkt(0xb0, "0001", props(x), "00") },
		"DISCONNECT":  func(x string) string { return pkt(0xe0, "00", props(x)) },
		"AUTH":        func(x string) string { return pkt(0xf0, "00", props(x)) },
	}
	for prop, where := range spec {
		allowedIn := strings.Fields(where)
		for place, build := range places {
			want := byte(MalformedPacket)
			for _, w := range allowedIn {
				if w == place {
					want = 0
				}
			}
			f := fixtureCase{hex: build(prop)}.fixture()
			var p Packet
			err := decodeFixture(&p, f.Bytes, 0, V5)
			var e *Error
			switch {
			case want == 0 && err != nil:
				t.Errorf("property %s in %s: %v, want success", prop[:2], place, err)
			case want != 0 && (!errors.As(err, &e) || e.Code != want):
				t.Errorf("property %s in %s: %v, want ProtocolError", prop[:2], place, err)
			case want == 0:
				// Allowed properties survive a round trip.
				b, err := Append(nil, &p, V5)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != string(f.Bytes) {
					t.Errorf("property %s in %s: re-encoded % x, want % x", prop[:2], place, b, f.Bytes)
				}
			}
		}
	}
}
