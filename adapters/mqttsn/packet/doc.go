// Package packet is the MQTT-SN 1.2 wire codec: it decodes one message per
// datagram from a reused read buffer and appends encoded messages to a
// reused write buffer. It knows nothing about sessions, topics or routing.
//
// # Reading
//
// A datagram is first passed to Unwrap, which strips a forwarder
// encapsulation (message type 0xFE) if there is one, then to Decode. Both
// check the length field against the datagram before looking at any body
// byte: the declared length must equal the bytes received [MQTT-SN 5.2.1],
// in the 1-octet form (2..255) or the 3-octet form (0x01 then a 16-bit
// length). Decoded ClientID, TopicName, Data and GatewayAddr alias the
// datagram and are valid only until the buffer is reused.
//
// # Strict and lenient choices
//
//   - A message whose length field disagrees with the datagram, a reserved
//     or unknown message type, a body shorter or longer than its type
//     allows, QoS -1 on anything but PUBLISH, and topic id type 3 (reserved)
//     are malformed (ErrMalformed). The gateway drops and counts them.
//   - The 3-octet length form is accepted for any length, even one that
//     would fit in one octet; the encoder uses it only above 255.
//   - A WILLTOPIC or WILLTOPICUPD without flags and topic (length 2) is the
//     "delete the will" form [MQTT-SN 5.4.7]; Packet.TopicName is then nil.
//     Flags followed by no topic are read the same way.
//   - Message id 0 is not rejected here: the gateway judges it.
package packet
