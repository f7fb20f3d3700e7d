package packet

// Type is an MQTT control packet type (the high nibble of the fixed header).
type Type byte

// Control packet types.
const (
	Reserved    Type = 0
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
	AUTH        Type = 15
)

// Version is the MQTT protocol level carried in CONNECT.
type Version byte

// Protocol levels.
const (
	V31  Version = 3 // MQIsdp
	V311 Version = 4
	V5   Version = 5
)

// UserProperty is one MQTT 5 user property (a UTF-8 string pair).
type UserProperty struct {
	Key, Value string
}

// Properties is the MQTT 5 property set. A field is present when its Has
// flag is set (for numeric properties) or when it is non-empty (for strings
// and binary data). Byte slices may alias the read buffer after Decode.
type Properties struct {
	PayloadFormat           byte // 0x01
	HasPayloadFormat        bool
	MessageExpiry           uint32 // 0x02
	HasMessageExpiry        bool
	ContentType             string   // 0x03
	ResponseTopic           string   // 0x08
	CorrelationData         []byte   // 0x09
	SubscriptionIDs         []uint32 // 0x0B, several on PUBLISH, one on SUBSCRIBE
	SessionExpiry           uint32   // 0x11
	HasSessionExpiry        bool
	AssignedClientID        string // 0x12
	ServerKeepAlive         uint16 // 0x13
	HasServerKeepAlive      bool
	AuthMethod              string // 0x15
	AuthData                []byte // 0x16
	RequestProblemInfo      byte   // 0x17
	HasRequestProblemInfo   bool
	WillDelay               uint32 // 0x18
	HasWillDelay            bool
	RequestResponseInfo     byte // 0x19
	HasRequestResponseInfo  bool
	ResponseInfo            string // 0x1A
	ServerReference         string // 0x1C
	ReasonString            string // 0x1F
	ReceiveMaximum          uint16 // 0x21
	HasReceiveMaximum       bool
	TopicAliasMaximum       uint16 // 0x22
	HasTopicAliasMaximum    bool
	TopicAlias              uint16 // 0x23
	HasTopicAlias           bool
	MaximumQoS              byte // 0x24
	HasMaximumQoS           bool
	RetainAvailable         byte // 0x25
	HasRetainAvailable      bool
	User                    []UserProperty // 0x26
	MaximumPacketSize       uint32         // 0x27
	HasMaximumPacketSize    bool
	WildcardSubAvailable    byte // 0x28
	HasWildcardSubAvailable bool
	SubIDAvailable          byte // 0x29
	HasSubIDAvailable       bool
	SharedSubAvailable      byte // 0x2A
	HasSharedSubAvailable   bool
}

// Reset clears p while keeping the capacity of its slices.
func (p *Properties) Reset() {
	user := p.User[:0]
	ids := p.SubscriptionIDs[:0]
	*p = Properties{User: user, SubscriptionIDs: ids}
}

// Will is the will message carried in CONNECT.
type Will struct {
	Topic      string
	Payload    []byte
	QoS        byte
	Retain     bool
	Properties Properties
}

// Subscription is one topic filter with its options in SUBSCRIBE.
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool // v5
	RetainAsPublished bool // v5
	RetainHandling    byte // v5: 0, 1 or 2
}

// Packet is any MQTT control packet. One Packet value is reused across
// Decode calls; only the fields of its Type are meaningful.
type Packet struct {
	Type  Type
	Flags byte // low nibble of the fixed header

	// PUBLISH
	Dup     bool
	QoS     byte
	Retain  bool
	Topic   []byte // aliases the read buffer after Decode
	Payload []byte // aliases the read buffer after Decode

	// PUBLISH (QoS>0), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK
	PacketID uint16

	// CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH (v5; v3 CONNACK return code too)
	ReasonCode byte
	// CONNACK
	SessionPresent bool

	// SUBACK and UNSUBACK (v5) reason codes, one per filter.
	ReasonCodes []byte

	// SUBSCRIBE
	Subscriptions []Subscription
	// UNSUBSCRIBE
	Filters []string

	// CONNECT
	ProtocolName string // "MQTT" or "MQIsdp"
	Version      Version
	CleanStart   bool
	KeepAlive    uint16
	ClientID     string
	Username     string
	HasUsername  bool
	Password     []byte
	HasPassword  bool
	HasWill      bool
	Will         Will

	// v5 properties of any packet type that carries them.
	Properties Properties
}

// Reset clears p for reuse, keeping the capacity of its slices.
func (p *Packet) Reset() {
	rc := p.ReasonCodes[:0]
	subs := p.Subscriptions[:0]
	filters := p.Filters[:0]
	props := p.Properties
	props.Reset()
	*p = Packet{ReasonCodes: rc, Subscriptions: subs, Filters: filters, Properties: props}
}
