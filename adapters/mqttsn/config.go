package mqttsn

import (
	"log/slog"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/dtlsconf"
)

// Config is the MQTT-SN gateway's configuration; the gateway package fills
// it from the YAML file.
type Config struct {
	Listeners []Listener
	// GatewayID is sent in ADVERTISE and GWINFO.
	GatewayID byte
	// AdvertiseInterval is how often ADVERTISE goes out through the first
	// udp listener; 0 turns advertising off. It goes to AdvertiseAddress,
	// or, when AdvertiseInterface names a network interface, to the IPv4
	// broadcast address of each of its networks on AdvertiseAddress's
	// port.
	AdvertiseAddress   string
	AdvertiseInterface string
	AdvertiseInterval  time.Duration
	// Namespace is the client id namespace of MQTT-SN sessions; Mountpoint
	// prefixes every topic.
	Namespace  string
	Mountpoint string
	// SessionExpiry is how long the session of a clean-session-0 client
	// outlives its connection; 0 keeps it (capped by the broker's
	// maximum). The adapter keeps the session's topic registry as long
	// and drops it when the core says the session ended.
	SessionExpiry time.Duration
	// PredefinedTopics maps predefined topic ids to topic names; ids go up
	// to MaxPredefinedID and normal ids are assigned above it.
	PredefinedTopics map[uint16]string
	MaxPredefinedID  uint16
	// QoSMinusOne accepts PUBLISH QoS -1 without a connection, published as
	// QoSMinusOneClientID / QoSMinusOneUsername for authorization.
	QoSMinusOne         bool
	QoSMinusOneClientID string
	QoSMinusOneUsername string
	// RetryInterval (Tretry) and MaxRetries (Nretry) govern retransmission
	// of unacknowledged PUBLISH, PUBREL and REGISTER messages.
	RetryInterval time.Duration
	MaxRetries    int
	// Limits.
	MaxClients          int // connected and sleeping clients (default 10000)
	MaxMessageSize      int // largest datagram accepted or sent (default 4096)
	MaxRegisteredTopics int // topic ids per client (default 1000)
	MaxInflight         int // QoS 1/2 deliveries unacknowledged per client, as its Receive Maximum (default 8)
	MaxSleepQueue       int // messages queued for a sleeping client, within the broker's queue limits (default 100)
	Logger              *slog.Logger
}

// Listener is one UDP or DTLS socket.
type Listener struct {
	Name    string
	Type    string // udp, dtls
	Address string
	// Username and Password are given to authentication for every client
	// of this listener: MQTT-SN carries no credentials.
	Username string
	Password string
	DTLS     *DTLS
	// SocketBuffer is the socket's receive and send buffer in bytes
	// (default 4 MiB); the kernel may grant less, which is logged.
	SocketBuffer int
}

// DTLS is a dtls listener's setup: a certificate, pre-shared keys, or both
// (shared with the other datagram gateway).
type DTLS = dtlsconf.DTLS

func (c *Config) setDefaults() {
	if c.RetryInterval <= 0 {
		c.RetryInterval = 10 * time.Second
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 3
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 10000
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 4096
	}
	if c.MaxRegisteredTopics <= 0 {
		c.MaxRegisteredTopics = 1000
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 8
	}
	if c.MaxSleepQueue <= 0 {
		c.MaxSleepQueue = 100
	}
	if c.AdvertiseAddress == "" {
		c.AdvertiseAddress = "255.255.255.255:1884"
	}
	if c.MaxPredefinedID == 0 {
		c.MaxPredefinedID = 1024
	}
	if c.QoSMinusOneClientID == "" {
		c.QoSMinusOneClientID = "mqttsn-qos-1"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
