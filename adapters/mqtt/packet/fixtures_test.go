package packet

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt/packet/packettest"
)

var update = flag.Bool("update", false, "rewrite testdata/mqtt fixtures and the FuzzDecode seed corpus")

const fixtureDir = "../../../testdata/mqtt"

// Hex builders for the fixture table. Spaces in hex are ignored.

func hx(parts ...string) string { return strings.ReplaceAll(strings.Join(parts, ""), " ", "") }

// str is a length-prefixed UTF-8 string (or any bytes) in hex.
func str(s string) string { return fmt.Sprintf("%04x%x", len(s), s) }

// strHex is a length-prefixed string given as hex.
func strHex(h string) string { h = hx(h); return fmt.Sprintf("%04x", len(h)/2) + h }

func vbi(n int) string { return hex.EncodeToString(appendVarint(nil, n)) }

// pkt builds a packet with a correct remaining length.
func pkt(first byte, body ...string) string {
	b := hx(body...)
	return fmt.Sprintf("%02x", first) + vbi(len(b)/2) + b
}

// props builds a property block with its length.
func props(parts ...string) string { p := hx(parts...); return vbi(len(p)/2) + p }

func code(c byte) string { return fmt.Sprintf("0x%02x", c) }

const ok = "ok"

type fixtureCase struct {
	name    string // file name; the prefix is the class in testdata/mqtt/README.md
	desc    string
	v       Version
	maxSize int
	expect  string // "ok", "incomplete" or code(...)
	hex     string
}

// connectBody is a v3.1.1 or v5 CONNECT body with the given flags, the
// v5 property block (ignored for v4) and payload fields.
func connectBody(v Version, flags string, propBlock string, payload ...string) string {
	b := str("MQTT") + fmt.Sprintf("%02x", v) + flags + "003c"
	if v == V5 {
		b += propBlock
	}
	return b + hx(payload...)
}

func fixtureCases() []fixtureCase {
	mal, proto := code(MalformedPacket), code(ProtocolError)
	cs := []fixtureCase{
		// Valid packets, hand-assembled.
		{"valid-connect-v31", "MQIsdp level 3 CONNECT, clean session", V31, 0, ok,
			pkt(0x10, str("MQIsdp"), "03 02 00 3c", str("client-1"))},
		{"valid-connect-v311", "MQTT level 4 CONNECT with user name and password", V311, 0, ok,
			pkt(0x10, connectBody(V311, "c2", "", str("client-1"), str("user"), str("pass")))},
		{"valid-connect-v5", "MQTT level 5 CONNECT with session expiry and receive maximum", V5, 0, ok,
			pkt(0x10, connectBody(V5, "02", props("11 00000e10", "21 0014"), str("client-1")))},
		{"valid-connect-v5-will", "v5 CONNECT with a will and will properties", V5, 0, ok,
			pkt(0x10, connectBody(V5, "2e", props(), str("c"), props("18 0000001e", "01 01"), str("will/t"), str("bye")))},
		{"valid-connect-v311-empty-username", "zero-length user name is well formed (mochi #181)", V311, 0, ok,
			pkt(0x10, connectBody(V311, "82", "", str("c"), str("")))},
		{"valid-connect-v5-password-without-username", "password without user name is legal in v5", V5, 0, ok,
			pkt(0x10, connectBody(V5, "42", props(), str("c"), str("token")))},
		{"valid-connack-v311", "v3.1.1 CONNACK accepted, session present", V311, 0, ok, "20 02 01 00"},
		{"valid-connack-v5", "v5 CONNACK with assigned client id and topic alias maximum", V5, 0, ok,
			pkt(0x20, "00 00", props("12"+str("auto-1"), "22 000a"))},
		{"valid-publish-v311-qos0", "QoS 0 PUBLISH", V311, 0, ok, pkt(0x30, str("a/b"), "68656c6c6f")},
		{"valid-publish-v311-qos1-retain", "QoS 1 retained PUBLISH", V311, 0, ok, pkt(0x33, str("a/b"), "0001", "68656c6c6f")},
		{"valid-publish-v311-qos2-dup", "QoS 2 PUBLISH redelivery", V311, 0, ok, pkt(0x3c, str("a/b"), "ffff", "")},
		{"valid-publish-v5-alias-only", "v5 PUBLISH with empty topic and a topic alias", V5, 0, ok, pkt(0x30, str(""), props("23 0001"), "78")},
		{"valid-publish-v5-topic-alias-zero", "topic alias 0 is reported, not rejected, by the codec", V5, 0, ok, pkt(0x30, str("t"), props("23 0000"))},
		{"valid-publish-v5-subscription-ids", "several subscription identifiers on PUBLISH", V5, 0, ok,
			pkt(0x30, str("t"), props("0b 01", "0b ffffff7f", "26"+str("k")+str("v"), "26"+str("k")+str("v")))},
		{"valid-publish-v5-control-characters", "control characters U+0001 and U+007F are accepted by the codec", V5, 0, ok,
			pkt(0x30, str("a\x01b\x7f"), props())},
		{"valid-puback-v311", "v3.1.1 PUBACK", V311, 0, ok, "40 02 00 01"},
		{"valid-pubrec-v311", "v3.1.1 PUBREC", V311, 0, ok, "50 02 00 01"},
		{"valid-pubrel-v311", "v3.1.1 PUBREL", V311, 0, ok, "62 02 00 01"},
		{"valid-pubcomp-v311", "v3.1.1 PUBCOMP", V311, 0, ok, "70 02 00 01"},
		{"valid-puback-v5-short", "v5 PUBACK without reason code", V5, 0, ok, "40 02 00 01"},
		{"valid-puback-v5-reason", "v5 PUBACK with reason and no properties", V5, 0, ok, "40 03 00 01 10"},
		{"valid-pubrel-v5-reason-props", "v5 PUBREL with reason and reason string", V5, 0, ok, pkt(0x62, "0001 92", props("1f"+str("gone")))},
		{"valid-subscribe-v311", "v3.1.1 SUBSCRIBE to two filters", V311, 0, ok, pkt(0x82, "0001", str("a/+"), "01", str("#"), "02")},
		{"valid-subscribe-v5-options", "v5 SUBSCRIBE with all options and an identifier", V5, 0, ok,
			pkt(0x82, "0001", props("0b 2a"), str("a/#"), "2e")},
		{"valid-suback-v311", "v3.1.1 SUBACK", V311, 0, ok, "90 04 00 01 01 80"},
		{"valid-suback-v5", "v5 SUBACK", V5, 0, ok, pkt(0x90, "0001", props(), "02 8f a2")},
		{"valid-unsubscribe-v311", "v3.1.1 UNSUBSCRIBE", V311, 0, ok, pkt(0xa2, "0001", str("a/b"))},
		{"valid-unsuback-v311", "v3.1.1 UNSUBACK", V311, 0, ok, "b0 02 00 01"},
		{"valid-unsuback-v5", "v5 UNSUBACK", V5, 0, ok, pkt(0xb0, "0001", props(), "00 11")},
		{"valid-pingreq", "PINGREQ", V311, 0, ok, "c0 00"},
		{"valid-pingresp", "PINGRESP", V311, 0, ok, "d0 00"},
		{"valid-disconnect-v311", "v3.1.1 DISCONNECT", V311, 0, ok, "e0 00"},
		{"valid-disconnect-v5-with-will", "v5 DISCONNECT 0x04 without properties", V5, 0, ok, "e0 01 04"},
		{"valid-disconnect-v5-session-expiry", "v5 DISCONNECT with session expiry", V5, 0, ok, pkt(0xe0, "00", props("11 0000003c"))},
		{"valid-auth-v5", "v5 AUTH continue", V5, 0, ok, pkt(0xf0, "18", props("15"+str("SCRAM-SHA-1"), "16"+str("data")))},
		{"k41-valid-property-block-over-127-bytes", "property block whose length needs a 2-byte varint (mochi #171)", V5, 0, ok,
			pkt(0x30, str("t"), props("26"+str("k")+str(strings.Repeat("x", 200))), "00")},

		// A. Framing and remaining length.
		{"a1-remaining-length-five-bytes", "five length bytes: rejected at the fifth", V311, 0, mal, "30 80 80 80 80 01"},
		{"a1-remaining-length-four-continuations", "fourth length byte with the continuation bit", V311, 0, mal, "30 ff ff ff ff"},
		{"a1-remaining-length-incomplete", "header cut inside the length", V311, 0, "incomplete", "30 80 80"},
		{"a2-connect-declared-too-large", "CONNECT declaring 256 MB against a 64 KB limit", V311, 65536, code(PacketTooLarge), "10 ff ff ff 7f"},
		{"a3-publish-topic-length-past-end", "topic length 64 in a 4-byte body", V311, 0, mal, "30 04 00 40 61 62"},
		{"a3-publish-missing-packet-id", "QoS 1 PUBLISH ending after the topic", V311, 0, mal, pkt(0x32, str("a"))},
		{"a3-publish-half-packet-id", "QoS 1 PUBLISH with one packet identifier byte", V311, 0, mal, pkt(0x32, str("a"), "00")},
		{"a3-subscribe-missing-options", "SUBSCRIBE filter without options byte", V311, 0, mal, pkt(0x82, "0001", str("ab"))},
		{"a3-subscribe-filter-past-end", "SUBSCRIBE filter length past the end", V311, 0, mal, pkt(0x82, "0001 0005 61 62")},
		{"a3-unsubscribe-filter-past-end", "UNSUBSCRIBE filter length past the end", V311, 0, mal, pkt(0xa2, "0001 0009 61")},
		{"a3-connect-missing-level", "CONNECT ending after the protocol name", V311, 0, mal, pkt(0x10, str("MQTT"))},
		{"a3-connect-missing-client-id", "CONNECT ending after keep alive", V311, 0, mal, pkt(0x10, str("MQTT"), "04 02 00 3c")},
		{"a3-publish-v5-property-length-past-end", "property length larger than the packet", V5, 0, mal, pkt(0x30, str("a"), "10 01")},
		{"a3-publish-v5-property-string-past-end", "content type length past the property block", V5, 0, mal, pkt(0x30, str("a"), "03 03 0009 61")},
		{"a3-publish-v5-property-value-truncated", "message expiry with two of four bytes", V5, 0, mal, pkt(0x30, str("a"), "03 02 0000")},
		{"a4-pingreq-length-1", "PINGREQ with a body byte", V311, 0, mal, "c0 01 00"},
		{"a4-pingresp-length-1", "PINGRESP with a body byte", V311, 0, mal, "d0 01 00"},
		{"a4-puback-v311-length-3", "v3.1.1 PUBACK of 3 bytes", V311, 0, mal, "40 03 00 01 00"},
		{"a4-pubrec-v311-length-1", "v3.1.1 PUBREC of 1 byte", V311, 0, mal, "50 01 00"},
		{"a4-pubrel-v311-length-4", "v3.1.1 PUBREL of 4 bytes", V311, 0, mal, "62 04 00 01 00 00"},
		{"a4-pubcomp-v311-length-0", "v3.1.1 PUBCOMP without body", V311, 0, mal, "70 00"},
		{"a4-disconnect-v311-length-1", "v3.1.1 DISCONNECT with a body byte", V311, 0, mal, "e0 01 00"},
		{"a4-connack-v311-length-3", "v3.1.1 CONNACK of 3 bytes", V311, 0, mal, "20 03 00 00 00"},
		{"a4-unsuback-v311-length-3", "v3.1.1 UNSUBACK of 3 bytes", V311, 0, mal, "b0 03 00 01 00"},
		{"a4-puback-v5-length-1", "v5 PUBACK of 1 byte", V5, 0, mal, "40 01 00"},
		{"a4-puback-v5-trailing-bytes", "v5 PUBACK with a byte after the properties", V5, 0, mal, "40 05 00 01 00 00 ff"},
		{"a4-connect-trailing-bytes", "CONNECT with a byte after the payload", V311, 0, mal, pkt(0x10, connectBody(V311, "02", "", str("c")), "00")},

		// B. Fixed header.
		{"b6-subscribe-flags-0", "SUBSCRIBE with flags 0x0", V311, 0, mal, pkt(0x80, "0001", str("a"), "00")},
		{"b6-unsubscribe-flags-0", "UNSUBSCRIBE with flags 0x0", V311, 0, mal, pkt(0xa0, "0001", str("a"))},
		{"b6-pubrel-flags-0", "PUBREL with flags 0x0", V311, 0, mal, "60 02 00 01"},
		{"b6-pubrel-flags-dup", "PUBREL with flags 0xA (MQTT 3.1 DUP retry)", V31, 0, mal, "6a 02 00 01"},
		{"b6-puback-flags-2", "PUBACK with flags 0x2", V311, 0, mal, "42 02 00 01"},
		{"b6-connect-flags-1", "CONNECT with flags 0x1", V311, 0, mal, pkt(0x11, connectBody(V311, "02", "", str("c")))},
		{"b6-pingreq-flags-1", "PINGREQ with flags 0x1", V311, 0, mal, "c1 00"},
		{"b6-disconnect-flags-f", "DISCONNECT with flags 0xF", V5, 0, mal, "ef 00"},
		{"b8-packet-type-0", "reserved packet type 0", V311, 0, mal, "00 00"},
		{"b8-auth-on-v311", "AUTH on a v3.1.1 connection", V311, 0, mal, "f0 00"},
		{"b8-http-get", "an HTTP request on the MQTT port", V311, 0, mal, hex.EncodeToString([]byte("GET / HTTP/1.1\r\n\r\n"))},
		{"b7-publish-qos3", "PUBLISH with QoS 3", V311, 0, mal, pkt(0x36, str("a"), "0001")},
		{"b7-publish-qos0-dup", "QoS 0 PUBLISH with DUP [MQTT-3.3.1-2]", V311, 0, mal, pkt(0x38, str("a"))},

		// C. CONNECT.
		{"c9-connect-wrong-name-right-level", "protocol name MQTX with level 4", V311, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("MQTX"), "04 02 003c", str("c"))},
		{"c9-connect-mqisdp-level-4", "MQIsdp with level 4", V311, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("MQIsdp"), "04 02 003c", str("c"))},
		{"c9-connect-mqtt-level-3", "MQTT with level 3", V311, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("MQTT"), "03 02 003c", str("c"))},
		{"c9-connect-unknown-level-6", "MQTT with level 6", V311, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("MQTT"), "06 02 003c", str("c"))},
		{"c9-connect-unknown-level-0", "MQTT with level 0", V5, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("MQTT"), "00 02 003c", str("c"))},
		{"c9-connect-lowercase-name", "protocol name mqtt in lower case", V311, 0, code(UnsupportedProtocolVersion), pkt(0x10, str("mqtt"), "04 02 003c", str("c"))},
		{"c10-connect-reserved-flag", "reserved connect flag bit 0 set", V311, 0, mal, pkt(0x10, connectBody(V311, "03", "", str("c")))},
		{"c10-connect-will-qos-without-will", "will QoS 1 without the will flag", V311, 0, mal, pkt(0x10, connectBody(V311, "0a", "", str("c")))},
		{"c10-connect-will-retain-without-will", "will retain without the will flag", V5, 0, mal, pkt(0x10, connectBody(V5, "22", props(), str("c")))},
		{"c10-connect-will-qos-3", "will QoS 3", V311, 0, mal, pkt(0x10, connectBody(V311, "1e", "", str("c"), str("w"), str("p")))},
		{"c11-connect-password-without-username-v311", "password flag without user name flag in v3.1.1", V311, 0, mal, pkt(0x10, connectBody(V311, "42", "", str("c"), str("pw")))},
		{"c11-connect-password-without-username-v31", "password flag without user name flag in v3.1", V31, 0, mal, pkt(0x10, str("MQIsdp"), "03 42 003c", str("c"), str("pw"))},
		{"c15-connect-will-property-not-allowed", "session expiry among the will properties", V5, 0, mal,
			pkt(0x10, connectBody(V5, "06", props(), str("c"), props("11 00000001"), str("w"), str("p")))},
		{"c15-connect-will-property-duplicate", "will delay twice", V5, 0, proto,
			pkt(0x10, connectBody(V5, "06", props(), str("c"), props("18 00000001", "18 00000002"), str("w"), str("p")))},
		{"c15-connect-will-property-unknown", "unknown property 0x7f among the will properties", V5, 0, mal,
			pkt(0x10, connectBody(V5, "06", props(), str("c"), props("7f 00"), str("w"), str("p")))},
		{"c15-connect-will-payload-format-invalid", "will payload flagged UTF-8 but not UTF-8", V5, 0, code(PayloadFormatInvalid),
			pkt(0x10, connectBody(V5, "06", props(), str("c"), props("01 01"), str("w"), strHex("ff fe")))},
		{"c16-connect-will-topic-wildcard", "will topic with a wildcard", V311, 0, code(TopicNameInvalid), pkt(0x10, connectBody(V311, "06", "", str("c"), str("a/#"), str("p")))},
		{"c16-connect-will-topic-empty", "empty will topic", V311, 0, code(TopicNameInvalid), pkt(0x10, connectBody(V311, "06", "", str("c"), str(""), str("p")))},

		// D. Strings and UTF-8.
		{"d17-connect-client-id-invalid-utf8", "client id with byte 0xff", V311, 0, mal, pkt(0x10, connectBody(V311, "02", "", strHex("61 ff")))},
		{"d17-connect-client-id-u0000", "client id with U+0000", V311, 0, mal, pkt(0x10, connectBody(V311, "02", "", strHex("61 00 62")))},
		{"d17-connect-username-surrogate-dfff", "user name with surrogate U+DFFF", V311, 0, mal, pkt(0x10, connectBody(V311, "82", "", str("c"), strHex("ed bf bf")))},
		{"d17-connect-will-topic-surrogate-d800", "will topic with surrogate U+D800", V311, 0, mal, pkt(0x10, connectBody(V311, "06", "", str("c"), strHex("ed a0 80"), str("p")))},
		{"d17-publish-topic-surrogate-d800", "topic with surrogate U+D800", V311, 0, mal, pkt(0x30, strHex("61 ed a0 80"))},
		{"d17-publish-topic-u0000", "topic with U+0000", V5, 0, mal, pkt(0x30, strHex("61 00"), props())},
		{"d17-publish-topic-overlong-encoding", "topic with an overlong encoding of '/'", V311, 0, mal, pkt(0x30, strHex("c0 af"))},
		{"d17-subscribe-filter-invalid-utf8", "filter with a lone continuation byte", V311, 0, mal, pkt(0x82, "0001", strHex("61 80"), "00")},
		{"d17-unsubscribe-filter-u0000", "unsubscribe filter with U+0000", V311, 0, mal, pkt(0xa2, "0001", strHex("00"))},
		{"d17-user-property-invalid-utf8", "user property value that is not UTF-8", V5, 0, mal, pkt(0x30, str("t"), props("26"+str("k")+strHex("ff")))},
		{"d18-connect-client-id-length-past-end", "client id length 255 in a short packet", V311, 0, mal, pkt(0x10, connectBody(V311, "02", "", "00ff 61"))},
		{"d18-connect-password-length-past-end", "password length past the end", V311, 0, mal, pkt(0x10, connectBody(V311, "c2", "", str("c"), str("u"), "0010 61"))},

		// E. Topic names.
		{"e19-publish-topic-plus", "PUBLISH topic with +", V311, 0, code(TopicNameInvalid), pkt(0x30, str("a/+/c"))},
		{"e19-publish-topic-hash", "PUBLISH topic with #", V5, 0, code(TopicNameInvalid), pkt(0x30, str("a/#"), props())},
		{"e19-publish-empty-topic-v311", "empty PUBLISH topic in v3.1.1", V311, 0, proto, pkt(0x30, str(""), "61")},
		{"e19-publish-empty-topic-v5-no-alias", "empty PUBLISH topic in v5 without a topic alias", V5, 0, proto, pkt(0x30, str(""), props(), "61")},

		// F. Packet identifiers (strict: 0 is a protocol error).
		{"f25-publish-qos1-packet-id-0", "QoS 1 PUBLISH with packet id 0", V311, 0, proto, pkt(0x32, str("a"), "0000")},
		{"f25-publish-qos2-packet-id-0", "QoS 2 PUBLISH with packet id 0", V5, 0, proto, pkt(0x34, str("a"), "0000", props())},
		{"f25-subscribe-packet-id-0", "SUBSCRIBE with packet id 0", V311, 0, proto, pkt(0x82, "0000", str("a"), "00")},
		{"f25-unsubscribe-packet-id-0", "UNSUBSCRIBE with packet id 0", V5, 0, proto, pkt(0xa2, "0000", props(), str("a"))},
		{"f25-puback-packet-id-0", "PUBACK with packet id 0", V311, 0, proto, "40 02 00 00"},
		{"f25-subscribe-no-filters", "SUBSCRIBE without a filter [MQTT-3.8.3-3]", V311, 0, proto, pkt(0x82, "0001")},
		{"f25-unsubscribe-no-filters", "UNSUBSCRIBE without a filter [MQTT-3.10.3-2]", V5, 0, proto, pkt(0xa2, "0001", props())},

		// I. Subscriptions.
		{"i38-subscribe-subscription-id-0", "subscription identifier 0", V5, 0, proto, pkt(0x82, "0001", props("0b 00"), str("a"), "00")},
		{"i38-subscribe-two-subscription-ids", "two subscription identifiers in SUBSCRIBE", V5, 0, proto, pkt(0x82, "0001", props("0b 01", "0b 02"), str("a"), "00")},
		{"i38-subscribe-subscription-id-five-bytes", "subscription identifier of five varint bytes", V5, 0, mal, pkt(0x82, "0001", props("0b 80 80 80 80 01"), str("a"), "00")},
		{"i38-subscribe-retain-handling-3", "retain handling 3", V5, 0, proto, pkt(0x82, "0001", props(), str("a"), "30")},
		{"i38-subscribe-options-reserved-c0", "subscription options 0xC0", V5, 0, mal, pkt(0x82, "0001", props(), str("a"), "c0")},
		{"i38-subscribe-v311-options-reserved", "v3.1.1 subscription options with bit 2 set", V311, 0, mal, pkt(0x82, "0001", str("a"), "04")},
		{"i38-subscribe-qos-3", "subscription QoS 3", V311, 0, mal, pkt(0x82, "0001", str("a"), "03")},
		{"i38-publish-subscription-id-0", "subscription identifier 0 on PUBLISH", V5, 0, proto, pkt(0x30, str("a"), props("0b 00"))},

		// K. MQTT 5 properties.
		{"k41-publish-property-not-allowed", "session expiry on PUBLISH", V5, 0, mal, pkt(0x30, str("a"), props("11 00000001"))},
		{"k41-subscribe-property-not-allowed", "topic alias on SUBSCRIBE", V5, 0, mal, pkt(0x82, "0001", props("23 0001"), str("a"), "00")},
		{"k41-puback-property-not-allowed", "user property is fine, content type is not, on PUBACK", V5, 0, mal, pkt(0x40, "0001 00", props("26"+str("k")+str("v"), "03"+str("x")))},
		{"k41-connack-property-not-allowed", "will delay on CONNACK", V5, 0, mal, pkt(0x20, "00 00", props("18 00000001"))},
		{"k41-publish-duplicate-content-type", "content type twice on PUBLISH", V5, 0, proto, pkt(0x30, str("a"), props("03"+str("x"), "03"+str("y")))},
		{"k41-connect-duplicate-session-expiry", "session expiry twice on CONNECT", V5, 0, proto, pkt(0x10, connectBody(V5, "02", props("11 00000001", "11 00000001"), str("c")))},
		{"k41-publish-unknown-property", "unknown property identifier 0x04", V5, 0, mal, pkt(0x30, str("a"), props("04 00"))},
		{"k41-publish-property-length-five-bytes", "property length of five varint bytes", V5, 0, mal, pkt(0x30, str("a"), "80 80 80 80 01")},
		{"k41-publish-payload-format-2", "payload format indicator 2", V5, 0, proto, pkt(0x30, str("a"), props("01 02"))},
		{"k41-publish-payload-format-invalid", "payload flagged UTF-8 but not UTF-8", V5, 0, code(PayloadFormatInvalid), pkt(0x30, str("a"), props("01 01"), "c3 28")},
		{"k41-connack-maximum-qos-2", "maximum QoS 2 in CONNACK", V5, 0, proto, pkt(0x20, "00 00", props("24 02"))},
		{"k41-puback-invalid-reason-code", "PUBACK reason code 0x05", V5, 0, proto, "40 03 00 01 05"},
		{"k41-disconnect-invalid-reason-code", "DISCONNECT reason code 0x01", V5, 0, proto, "e0 01 01"},
		{"k43-connect-receive-maximum-0", "receive maximum 0 in CONNECT", V5, 0, proto, pkt(0x10, connectBody(V5, "02", props("21 0000"), str("c")))},
		{"k43-connect-maximum-packet-size-0", "maximum packet size 0 in CONNECT", V5, 0, proto, pkt(0x10, connectBody(V5, "02", props("27 00000000"), str("c")))},
		{"k43-connect-request-problem-info-2", "request problem information 2", V5, 0, proto, pkt(0x10, connectBody(V5, "02", props("17 02"), str("c")))},
		{"k43-connect-request-response-info-2", "request response information 2", V5, 0, proto, pkt(0x10, connectBody(V5, "02", props("19 02"), str("c")))},
		{"k43-publish-response-topic-wildcard", "response topic with a wildcard", V5, 0, code(TopicNameInvalid), pkt(0x30, str("a"), props("08"+str("r/#")))},
	}
	return cs
}

func (c fixtureCase) fixture() packettest.Fixture {
	raw, err := hex.DecodeString(hx(c.hex))
	if err != nil {
		panic(c.name + ": " + err.Error())
	}
	return packettest.Fixture{Name: c.name, Description: c.desc, Version: byte(c.v), MaxSize: c.maxSize, Expect: c.expect, Bytes: raw}
}

// roundTripFixtures turns the round-trip table into valid fixtures, so the
// catalogue holds every packet type with every property in v3.1.1 and v5.
func roundTripFixtures(t testing.TB) []packettest.Fixture {
	var out []packettest.Fixture
	for _, rt := range roundTrips() {
		b, err := Append(nil, &rt.p, rt.v)
		if err != nil {
			t.Fatal(err)
		}
		name := "valid-encoded-" + strings.NewReplacer(" ", "-", ".", "").Replace(strings.ToLower(rt.name))
		out = append(out, packettest.Fixture{Name: name, Description: "encoder output: " + rt.name, Version: byte(rt.v), Expect: ok, Bytes: b})
	}
	return out
}

func allFixtures(t testing.TB) []packettest.Fixture {
	var out []packettest.Fixture
	for _, c := range fixtureCases() {
		out = append(out, c.fixture())
	}
	return append(out, roundTripFixtures(t)...)
}

// TestFixturesInSync rewrites the files with -update and otherwise checks
// that testdata/mqtt and the fuzz seed corpus match the table.
func TestFixturesInSync(t *testing.T) {
	fs := allFixtures(t)
	seedDir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if *update {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(fixtureDir, "*.hex"))
		for _, o := range old {
			os.Remove(o)
		}
		for _, f := range fs {
			if err := os.WriteFile(filepath.Join(fixtureDir, f.Name+".hex"), packettest.Format(f), 0o644); err != nil {
				t.Fatal(err)
			}
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", f.Bytes)
			if err := os.WriteFile(filepath.Join(seedDir, f.Name), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	onDisk, err := packettest.Load(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]packettest.Fixture{}
	for _, f := range onDisk {
		byName[f.Name] = f
	}
	for _, f := range fs {
		d, found := byName[f.Name]
		if !found {
			t.Errorf("%s: missing from %s (run go test -run TestFixturesInSync -update)", f.Name, fixtureDir)
			continue
		}
		if string(d.Bytes) != string(f.Bytes) || d.Expect != f.Expect || d.Version != f.Version || d.MaxSize != f.MaxSize {
			t.Errorf("%s: file differs from the table (run with -update)", f.Name)
		}
		delete(byName, f.Name)
	}
	for name := range byName {
		t.Errorf("%s: file in %s not in the table", name, fixtureDir)
	}
}

// TestFixtures decodes every fixture file and checks the outcome.
func TestFixtures(t *testing.T) {
	fs, err := packettest.Load(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			var p Packet
			err := decodeFixture(&p, f.Bytes, f.MaxSize, Version(f.Version))
			switch {
			case f.Expect == "incomplete":
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("got %v, want ErrIncomplete", err)
				}
			case f.OK():
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				// Valid packets re-encode to a packet that decodes the same,
				// and Size predicts the length.
				v := Version(f.Version)
				if p.Type == CONNECT {
					v = p.Version
				}
				b, err := Append(nil, &p, v)
				if err != nil {
					t.Fatal(err)
				}
				if Size(&p, v) != len(b) {
					t.Fatalf("Size = %d, Append wrote %d", Size(&p, v), len(b))
				}
				var q Packet
				if err := decodeFixture(&q, b, 0, v); err != nil {
					t.Fatalf("re-decode: %v", err)
				}
				if !samePacket(&p, &q) {
					t.Fatalf("re-encode mismatch\n got %+v\nwant %+v", normalized(&q), normalized(&p))
				}
			default:
				want, _ := f.Code()
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("got %v, want *Error with code 0x%02x", err, want)
				}
				if e.Code != want {
					t.Fatalf("got code 0x%02x (%v), want 0x%02x", e.Code, err, want)
				}
			}
		})
	}
}

// decodeFixture runs ReadHeader and Decode on one whole packet. A fixture
// may hold more bytes than one packet (the HTTP request); the header error
// comes first.
func decodeFixture(p *Packet, b []byte, maxSize int, v Version) error {
	h, err := ReadHeader(b, maxSize)
	if err != nil {
		return err
	}
	if h.Len+h.Remaining > len(b) {
		return fmt.Errorf("fixture shorter than its declared length")
	}
	if h.Len+h.Remaining < len(b) {
		return fmt.Errorf("fixture longer than its declared length")
	}
	return Decode(p, h, b[h.Len:], v)
}
