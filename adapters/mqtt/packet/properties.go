package packet

import (
	"bytes"
	"unicode/utf8"
)

// MQTT 5 property identifiers [MQTT 5 2.2.2.2].
const (
	propPayloadFormat        = 0x01
	propMessageExpiry        = 0x02
	propContentType          = 0x03
	propResponseTopic        = 0x08
	propCorrelationData      = 0x09
	propSubscriptionID       = 0x0B
	propSessionExpiry        = 0x11
	propAssignedClientID     = 0x12
	propServerKeepAlive      = 0x13
	propAuthMethod           = 0x15
	propAuthData             = 0x16
	propRequestProblemInfo   = 0x17
	propWillDelay            = 0x18
	propRequestResponseInfo  = 0x19
	propResponseInfo         = 0x1A
	propServerReference      = 0x1C
	propReasonString         = 0x1F
	propReceiveMaximum       = 0x21
	propTopicAliasMaximum    = 0x22
	propTopicAlias           = 0x23
	propMaximumQoS           = 0x24
	propRetainAvailable      = 0x25
	propUser                 = 0x26
	propMaximumPacketSize    = 0x27
	propWildcardSubAvailable = 0x28
	propSubIDAvailable       = 0x29
	propSharedSubAvailable   = 0x2A
	propMax                  = 0x2A
)

// A property set belongs to a packet type, or to the will in CONNECT.
// kind is a bit set: bit t for packet type t, kindWill for will properties.
const kindWill = 1 << 16

const (
	kConnect     = 1 << CONNECT
	kConnack     = 1 << CONNACK
	kPublish     = 1 << PUBLISH
	kPuback      = 1 << PUBACK
	kPubrec      = 1 << PUBREC
	kPubrel      = 1 << PUBREL
	kPubcomp     = 1 << PUBCOMP
	kSubscribe   = 1 << SUBSCRIBE
	kSuback      = 1 << SUBACK
	kUnsubscribe = 1 << UNSUBSCRIBE
	kUnsuback    = 1 << UNSUBACK
	kDisconnect  = 1 << DISCONNECT
	kAuth        = 1 << AUTH
	kAcks        = kPuback | kPubrec | kPubrel | kPubcomp
)

// propAllowed is table 2.4 of MQTT 5: where each property may appear.
// A zero entry is an unknown identifier.
var propAllowed = [propMax + 1]uint32{
	propPayloadFormat:        kPublish | kindWill,
	propMessageExpiry:        kPublish | kindWill,
	propContentType:          kPublish | kindWill,
	propResponseTopic:        kPublish | kindWill,
	propCorrelationData:      kPublish | kindWill,
	propSubscriptionID:       kPublish | kSubscribe,
	propSessionExpiry:        kConnect | kConnack | kDisconnect,
	propAssignedClientID:     kConnack,
	propServerKeepAlive:      kConnack,
	propAuthMethod:           kConnect | kConnack | kAuth,
	propAuthData:             kConnect | kConnack | kAuth,
	propRequestProblemInfo:   kConnect,
	propWillDelay:            kindWill,
	propRequestResponseInfo:  kConnect,
	propResponseInfo:         kConnack,
	propServerReference:      kConnack | kDisconnect,
	propReasonString:         kConnack | kAcks | kSuback | kUnsuback | kDisconnect | kAuth,
	propReceiveMaximum:       kConnect | kConnack,
	propTopicAliasMaximum:    kConnect | kConnack,
	propTopicAlias:           kPublish,
	propMaximumQoS:           kConnack,
	propRetainAvailable:      kConnack,
	propUser:                 kConnect | kConnack | kPublish | kindWill | kAcks | kSubscribe | kSuback | kUnsubscribe | kUnsuback | kDisconnect | kAuth,
	propMaximumPacketSize:    kConnect | kConnack,
	propWildcardSubAvailable: kConnack,
	propSubIDAvailable:       kConnack,
	propSharedSubAvailable:   kConnack,
}

func allowed(id int, kind uint32) bool { return propAllowed[id]&kind != 0 }

// decodeProps reads a property block (length and properties) for kind into pr.
func decodeProps(r *reader, pr *Properties, kind uint32) error {
	n, err := r.readVarint("property length")
	if err != nil {
		return err
	}
	if n > r.left() {
		return malformed("property length exceeds packet")
	}
	pr.User = pr.User[:0]
	pr.SubscriptionIDs = pr.SubscriptionIDs[:0]
	b := reader{b: r.b[r.i : r.i+n : r.i+n]}
	r.i += n
	var seen uint64
	for b.left() > 0 {
		id, err := b.readVarint("property identifier")
		if err != nil {
			return err
		}
		if id > propMax || propAllowed[id] == 0 {
			return malformed("unknown property identifier 0x" + hex2(id))
		}
		if !allowed(id, kind) {
			return malformed("property 0x" + hex2(id) + " not allowed in this packet")
		}
		repeatable := id == propUser || (id == propSubscriptionID && kind == kPublish)
		if !repeatable {
			if seen&(1<<id) != 0 {
				return protocolError("property 0x" + hex2(id) + " included more than once")
			}
			seen |= 1 << id
		}
		if err := decodeProp(&b, pr, id); err != nil {
			return err
		}
	}
	return nil
}

func decodeProp(b *reader, pr *Properties, id int) error {
	var err error
	switch id {
	case propPayloadFormat:
		pr.PayloadFormat, err = b.readFlagByte("payload format indicator")
		pr.HasPayloadFormat = true
	case propMessageExpiry:
		pr.MessageExpiry, err = b.readUint32("message expiry interval")
		pr.HasMessageExpiry = true
	case propContentType:
		pr.ContentType, err = b.readStringCopy("content type")
	case propResponseTopic:
		pr.ResponseTopic, err = b.readStringCopy("response topic")
		if err == nil && (pr.ResponseTopic == "" || hasWildcard(pr.ResponseTopic)) {
			// [MQTT-3.3.2-14] the response topic is a topic name.
			err = &Error{Code: TopicNameInvalid, Msg: "response topic is not a valid topic name"}
		}
	case propCorrelationData:
		pr.CorrelationData, err = b.readBinary("correlation data")
	case propSubscriptionID:
		var n int
		n, err = b.readVarint("subscription identifier")
		if err == nil && n == 0 {
			err = protocolError("subscription identifier 0") // [MQTT-3.8.2.1.2]
		}
		pr.SubscriptionIDs = append(pr.SubscriptionIDs, uint32(n))
	case propSessionExpiry:
		pr.SessionExpiry, err = b.readUint32("session expiry interval")
		pr.HasSessionExpiry = true
	case propAssignedClientID:
		pr.AssignedClientID, err = b.readStringCopy("assigned client identifier")
	case propServerKeepAlive:
		pr.ServerKeepAlive, err = b.readUint16("server keep alive")
		pr.HasServerKeepAlive = true
	case propAuthMethod:
		pr.AuthMethod, err = b.readStringCopy("authentication method")
	case propAuthData:
		pr.AuthData, err = b.readBinary("authentication data")
	case propRequestProblemInfo:
		pr.RequestProblemInfo, err = b.readFlagByte("request problem information")
		pr.HasRequestProblemInfo = true
	case propWillDelay:
		pr.WillDelay, err = b.readUint32("will delay interval")
		pr.HasWillDelay = true
	case propRequestResponseInfo:
		pr.RequestResponseInfo, err = b.readFlagByte("request response information")
		pr.HasRequestResponseInfo = true
	case propResponseInfo:
		pr.ResponseInfo, err = b.readStringCopy("response information")
	case propServerReference:
		pr.ServerReference, err = b.readStringCopy("server reference")
	case propReasonString:
		pr.ReasonString, err = b.readStringCopy("reason string")
	case propReceiveMaximum:
		pr.ReceiveMaximum, err = b.readUint16("receive maximum")
		if err == nil && pr.ReceiveMaximum == 0 {
			err = protocolError("receive maximum 0") // [MQTT-3.1.2.11.3] [MQTT-3.2.2.3.3]
		}
		pr.HasReceiveMaximum = true
	case propTopicAliasMaximum:
		pr.TopicAliasMaximum, err = b.readUint16("topic alias maximum")
		pr.HasTopicAliasMaximum = true
	case propTopicAlias:
		// Alias 0 or above the maximum is the connection's to reject
		// (TopicAliasInvalid); the codec reports the value as sent.
		pr.TopicAlias, err = b.readUint16("topic alias")
		pr.HasTopicAlias = true
	case propMaximumQoS:
		pr.MaximumQoS, err = b.readFlagByte("maximum QoS")
		pr.HasMaximumQoS = true
	case propRetainAvailable:
		pr.RetainAvailable, err = b.readFlagByte("retain available")
		pr.HasRetainAvailable = true
	case propUser:
		var k, v string
		if k, err = b.readStringCopy("user property name"); err == nil {
			v, err = b.readStringCopy("user property value")
		}
		pr.User = append(pr.User, UserProperty{Key: k, Value: v})
	case propMaximumPacketSize:
		pr.MaximumPacketSize, err = b.readUint32("maximum packet size")
		if err == nil && pr.MaximumPacketSize == 0 {
			err = protocolError("maximum packet size 0") // [MQTT-3.1.2.11.4] [MQTT-3.2.2.3.6]
		}
		pr.HasMaximumPacketSize = true
	case propWildcardSubAvailable:
		pr.WildcardSubAvailable, err = b.readFlagByte("wildcard subscription available")
		pr.HasWildcardSubAvailable = true
	case propSubIDAvailable:
		pr.SubIDAvailable, err = b.readFlagByte("subscription identifiers available")
		pr.HasSubIDAvailable = true
	case propSharedSubAvailable:
		pr.SharedSubAvailable, err = b.readFlagByte("shared subscription available")
		pr.HasSharedSubAvailable = true
	}
	return err
}

func hex2(n int) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[n>>4&0xf], digits[n&0xf]})
}

// propsLen is the size of the properties of pr allowed in kind, without
// the property length prefix.
func propsLen(pr *Properties, kind uint32) int {
	n := 0
	if pr.HasPayloadFormat && allowed(propPayloadFormat, kind) {
		n += 2
	}
	if pr.HasMessageExpiry && allowed(propMessageExpiry, kind) {
		n += 5
	}
	if pr.ContentType != "" && allowed(propContentType, kind) {
		n += 3 + len(pr.ContentType)
	}
	if pr.ResponseTopic != "" && allowed(propResponseTopic, kind) {
		n += 3 + len(pr.ResponseTopic)
	}
	if len(pr.CorrelationData) > 0 && allowed(propCorrelationData, kind) {
		n += 3 + len(pr.CorrelationData)
	}
	if allowed(propSubscriptionID, kind) {
		for i, id := range pr.SubscriptionIDs {
			if kind == kSubscribe && i > 0 {
				break
			}
			n += 1 + varintLen(int(id))
		}
	}
	if pr.HasSessionExpiry && allowed(propSessionExpiry, kind) {
		n += 5
	}
	if pr.AssignedClientID != "" && allowed(propAssignedClientID, kind) {
		n += 3 + len(pr.AssignedClientID)
	}
	if pr.HasServerKeepAlive && allowed(propServerKeepAlive, kind) {
		n += 3
	}
	if pr.AuthMethod != "" && allowed(propAuthMethod, kind) {
		n += 3 + len(pr.AuthMethod)
	}
	if len(pr.AuthData) > 0 && allowed(propAuthData, kind) {
		n += 3 + len(pr.AuthData)
	}
	if pr.HasRequestProblemInfo && allowed(propRequestProblemInfo, kind) {
		n += 2
	}
	if pr.HasWillDelay && allowed(propWillDelay, kind) {
		n += 5
	}
	if pr.HasRequestResponseInfo && allowed(propRequestResponseInfo, kind) {
		n += 2
	}
	if pr.ResponseInfo != "" && allowed(propResponseInfo, kind) {
		n += 3 + len(pr.ResponseInfo)
	}
	if pr.ServerReference != "" && allowed(propServerReference, kind) {
		n += 3 + len(pr.ServerReference)
	}
	if pr.ReasonString != "" && allowed(propReasonString, kind) {
		n += 3 + len(pr.ReasonString)
	}
	if pr.HasReceiveMaximum && allowed(propReceiveMaximum, kind) {
		n += 3
	}
	if pr.HasTopicAliasMaximum && allowed(propTopicAliasMaximum, kind) {
		n += 3
	}
	if pr.HasTopicAlias && allowed(propTopicAlias, kind) {
		n += 3
	}
	if pr.HasMaximumQoS && allowed(propMaximumQoS, kind) {
		n += 2
	}
	if pr.HasRetainAvailable && allowed(propRetainAvailable, kind) {
		n += 2
	}
	if allowed(propUser, kind) {
		for _, u := range pr.User {
			n += 5 + len(u.Key) + len(u.Value)
		}
	}
	if pr.HasMaximumPacketSize && allowed(propMaximumPacketSize, kind) {
		n += 5
	}
	if pr.HasWildcardSubAvailable && allowed(propWildcardSubAvailable, kind) {
		n += 2
	}
	if pr.HasSubIDAvailable && allowed(propSubIDAvailable, kind) {
		n += 2
	}
	if pr.HasSharedSubAvailable && allowed(propSharedSubAvailable, kind) {
		n += 2
	}
	return n
}

// propsSize is the size of the property block including its length prefix.
func propsSize(pr *Properties, kind uint32) int {
	n := propsLen(pr, kind)
	return varintLen(n) + n
}

// appendProps appends the property block (length prefix included) of the
// properties of pr allowed in kind, in identifier order. Properties not
// allowed in kind are left out, so a reused Properties value cannot make a
// packet the peer must reject.
func appendProps(dst []byte, pr *Properties, kind uint32) []byte {
	dst = appendVarint(dst, propsLen(pr, kind))
	if pr.HasPayloadFormat && allowed(propPayloadFormat, kind) {
		dst = append(dst, propPayloadFormat, pr.PayloadFormat)
	}
	if pr.HasMessageExpiry && allowed(propMessageExpiry, kind) {
		dst = appendUint32(append(dst, propMessageExpiry), pr.MessageExpiry)
	}
	if pr.ContentType != "" && allowed(propContentType, kind) {
		dst = appendString(append(dst, propContentType), pr.ContentType)
	}
	if pr.ResponseTopic != "" && allowed(propResponseTopic, kind) {
		dst = appendString(append(dst, propResponseTopic), pr.ResponseTopic)
	}
	if len(pr.CorrelationData) > 0 && allowed(propCorrelationData, kind) {
		dst = appendBinary(append(dst, propCorrelationData), pr.CorrelationData)
	}
	if allowed(propSubscriptionID, kind) {
		for i, id := range pr.SubscriptionIDs {
			if kind == kSubscribe && i > 0 {
				break // [MQTT-3.8.2.1.2] one identifier per SUBSCRIBE
			}
			dst = appendVarint(append(dst, propSubscriptionID), int(id))
		}
	}
	if pr.HasSessionExpiry && allowed(propSessionExpiry, kind) {
		dst = appendUint32(append(dst, propSessionExpiry), pr.SessionExpiry)
	}
	if pr.AssignedClientID != "" && allowed(propAssignedClientID, kind) {
		dst = appendString(append(dst, propAssignedClientID), pr.AssignedClientID)
	}
	if pr.HasServerKeepAlive && allowed(propServerKeepAlive, kind) {
		dst = appendUint16(append(dst, propServerKeepAlive), pr.ServerKeepAlive)
	}
	if pr.AuthMethod != "" && allowed(propAuthMethod, kind) {
		dst = appendString(append(dst, propAuthMethod), pr.AuthMethod)
	}
	if len(pr.AuthData) > 0 && allowed(propAuthData, kind) {
		dst = appendBinary(append(dst, propAuthData), pr.AuthData)
	}
	if pr.HasRequestProblemInfo && allowed(propRequestProblemInfo, kind) {
		dst = append(dst, propRequestProblemInfo, pr.RequestProblemInfo)
	}
	if pr.HasWillDelay && allowed(propWillDelay, kind) {
		dst = appendUint32(append(dst, propWillDelay), pr.WillDelay)
	}
	if pr.HasRequestResponseInfo && allowed(propRequestResponseInfo, kind) {
		dst = append(dst, propRequestResponseInfo, pr.RequestResponseInfo)
	}
	if pr.ResponseInfo != "" && allowed(propResponseInfo, kind) {
		dst = appendString(append(dst, propResponseInfo), pr.ResponseInfo)
	}
	if pr.ServerReference != "" && allowed(propServerReference, kind) {
		dst = appendString(append(dst, propServerReference), pr.ServerReference)
	}
	if pr.ReasonString != "" && allowed(propReasonString, kind) {
		dst = appendString(append(dst, propReasonString), pr.ReasonString)
	}
	if pr.HasReceiveMaximum && allowed(propReceiveMaximum, kind) {
		dst = appendUint16(append(dst, propReceiveMaximum), pr.ReceiveMaximum)
	}
	if pr.HasTopicAliasMaximum && allowed(propTopicAliasMaximum, kind) {
		dst = appendUint16(append(dst, propTopicAliasMaximum), pr.TopicAliasMaximum)
	}
	if pr.HasTopicAlias && allowed(propTopicAlias, kind) {
		dst = appendUint16(append(dst, propTopicAlias), pr.TopicAlias)
	}
	if pr.HasMaximumQoS && allowed(propMaximumQoS, kind) {
		dst = append(dst, propMaximumQoS, pr.MaximumQoS)
	}
	if pr.HasRetainAvailable && allowed(propRetainAvailable, kind) {
		dst = append(dst, propRetainAvailable, pr.RetainAvailable)
	}
	if allowed(propUser, kind) {
		for _, u := range pr.User {
			dst = appendString(appendString(append(dst, propUser), u.Key), u.Value)
		}
	}
	if pr.HasMaximumPacketSize && allowed(propMaximumPacketSize, kind) {
		dst = appendUint32(append(dst, propMaximumPacketSize), pr.MaximumPacketSize)
	}
	if pr.HasWildcardSubAvailable && allowed(propWildcardSubAvailable, kind) {
		dst = append(dst, propWildcardSubAvailable, pr.WildcardSubAvailable)
	}
	if pr.HasSubIDAvailable && allowed(propSubIDAvailable, kind) {
		dst = append(dst, propSubIDAvailable, pr.SubIDAvailable)
	}
	if pr.HasSharedSubAvailable && allowed(propSharedSubAvailable, kind) {
		dst = append(dst, propSharedSubAvailable, pr.SharedSubAvailable)
	}
	return dst
}

// checkProps reports whether the properties of pr allowed in kind can be
// encoded: string lengths, identifier ranges.
func checkProps(pr *Properties, kind uint32) error {
	for _, s := range [...]string{pr.ContentType, pr.ResponseTopic, pr.AssignedClientID,
		pr.AuthMethod, pr.ResponseInfo, pr.ServerReference, pr.ReasonString} {
		if len(s) > 65535 {
			return errTooLong
		}
	}
	if len(pr.CorrelationData) > 65535 || len(pr.AuthData) > 65535 {
		return errTooLong
	}
	for _, u := range pr.User {
		if len(u.Key) > 65535 || len(u.Value) > 65535 {
			return errTooLong
		}
	}
	if allowed(propSubscriptionID, kind) {
		for _, id := range pr.SubscriptionIDs {
			if id > MaxRemaining {
				return &Error{Code: ProtocolError, Msg: "subscription identifier out of range"}
			}
		}
	}
	if pr.HasPayloadFormat && pr.PayloadFormat > 1 && allowed(propPayloadFormat, kind) {
		return &Error{Code: ProtocolError, Msg: "payload format indicator must be 0 or 1"}
	}
	return nil
}

// validUTF8 reports whether b is a well-formed MQTT UTF-8 string: valid
// UTF-8 without surrogates [MQTT-1.5.4-1] and without U+0000 [MQTT-1.5.4-2].
// Go's utf8.Valid already rejects encoded surrogates.
func validUTF8(b []byte) bool {
	for i, c := range b {
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			return utf8.Valid(b[i:]) && bytes.IndexByte(b[i:], 0) < 0
		}
	}
	return true
}

func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '+' || s[i] == '#' {
			return true
		}
	}
	return false
}
