// Package packet is the MQTT 3.1, 3.1.1 and 5.0 wire codec: it decodes
// packets from a reused read buffer and appends encoded packets to a reused
// write buffer. It knows nothing about sessions or routing.
//
// # Reading
//
// A connection calls ReadHeader on its buffer, rejects the packet if the
// returned error is non-nil (the fixed header, the flags and the size
// limit are checked before any body byte is read or allocated), waits for
// Header.Len+Header.Remaining bytes, and calls Decode on the body. Errors
// are *Error values carrying the MQTT 5 reason code to send (CONNACK before
// the connection is established, DISCONNECT after); v3 peers are just
// disconnected. Decoded Topic, Payload, Will.Payload, Password,
// CorrelationData and AuthData alias the read buffer and are valid only
// until it is reused; strings are copied.
//
// # Strict and lenient choices
//
// Where the specification leaves room, the codec decides as follows:
//
//   - Packet identifier 0 in PUBLISH (QoS>0), SUBSCRIBE, UNSUBSCRIBE and in
//     every acknowledgement is a ProtocolError [MQTT-2.3.1-1]. Some old
//     clients send 0; we do not accept them.
//   - Fixed-header flags are checked for every type, including the DUP bit
//     MQTT 3.1 allowed on SUBSCRIBE and PUBREL retries: anything but 0x2 on
//     SUBSCRIBE, UNSUBSCRIBE, PUBREL and 0x0 on other non-PUBLISH types is
//     a MalformedPacket.
//   - Variable byte integers longer than 4 bytes are malformed; a value
//     encoded with more bytes than needed is accepted.
//   - UTF-8 strings must be well formed, without surrogates or U+0000
//     (MalformedPacket). Control characters U+0001-U+001F and U+007F-U+009F
//     are accepted: the spec says SHOULD NOT, and topic policy (including
//     characters special to other adapters) lives in the router.
//   - A PUBLISH topic with + or # is TopicNameInvalid. An empty topic is a
//     ProtocolError in v3 and, in v5, unless a Topic Alias is present. The
//     alias value itself (0, above the maximum) is the connection's to
//     judge (TopicAliasInvalid). The will topic and Response Topic follow
//     the topic-name rules: empty or with wildcards is TopicNameInvalid.
//   - Topic filter syntax (# not last, + sharing a level, empty filters,
//     $share) is not judged here: MQTT 5 answers a bad filter in SUBACK,
//     not by closing, so the router validates filters.
//   - A Payload Format Indicator of 1 with a payload (or will payload) that
//     is not valid UTF-8 is PayloadFormatInvalid.
//   - In v5 a property the packet type does not allow, and an unknown
//     property identifier, are a MalformedPacket (MQTT 5 section 2.2.2.2:
//     an identifier not valid for its packet type); a repeated
//     single-use property a ProtocolError. Receive Maximum 0, Maximum
//     Packet Size 0, Subscription Identifier 0 and one-bit properties
//     (Payload Format, Request Problem/Response Information, Maximum QoS,
//     the *Available flags) outside 0..1 are ProtocolErrors.
//   - A reason code the packet type does not define is a ProtocolError; so
//     is a v3 CONNACK return code above 5, or session present on a refused
//     connection.
//   - v5 acknowledgements, DISCONNECT and AUTH may stop after the reason
//     code, without a property length, as the spec allows for
//     acknowledgements and DISCONNECT; AUTH gets the same leniency.
//   - A wrong protocol name or level in CONNECT is UnsupportedProtocolVersion
//     and p.Version is still set, so the caller can answer in v3 (return
//     code 1) or v5 (0x84) form [MQTT-3.1.2-1] [MQTT-3.1.2-2].
//
// Decode accepts every packet type in both directions (clients and tests
// need that); which types a server may receive is the broker's decision.
//
// # Writing
//
// Append encodes a Packet for a version and Size predicts its length
// exactly, so the connection can check the peer's Maximum Packet Size
// first. The encoder writes only the v5 properties the packet type allows
// and leaves all v5-only fields out for v3.1 and v3.1.1.
package packet
