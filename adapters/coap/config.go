package coap

import (
	"log/slog"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/dtlsconf"
)

// Config is the CoAP gateway's configuration; the gateway package fills it
// from the YAML file.
type Config struct {
	Listeners []Listener
	// Namespace is the client id namespace of CoAP sessions; Mountpoint
	// prefixes every topic.
	Namespace  string
	Mountpoint string
	// ConnectionRequired makes every request but POST /mqtt/connection
	// carry the client id and the token that answered it.
	ConnectionRequired bool
	// ObserveEcho makes an Observe registration over UDP from a client not
	// yet known to be reachable at its address answer 4.01 with an Echo
	// option, to be repeated with it [RFC9175 2.4], so a spoofed
	// registration cannot aim notifications at someone else.
	ObserveEcho bool
	// Heartbeat is how long a client may stay silent before it is dropped
	// with its observations (default 2 minutes).
	Heartbeat time.Duration
	// ConQoS and NonQoS are the QoS of a publish or observation made with a
	// confirmable or non-confirmable request and no qos query parameter.
	// Their zero values are QoS 0; the configuration file's defaults are 1
	// and 0.
	ConQoS, NonQoS byte
	// ObserveQueueAll keeps every message for an observer that cannot keep
	// up; by default it gets only the newest (QueueLatest).
	ObserveQueueAll bool
	// AckTimeout and MaxRetransmit govern CON notifications [RFC7252 4.8]
	// (defaults 2s and 4).
	AckTimeout    time.Duration
	MaxRetransmit int
	// Limits.
	MaxClients           int // clients with a session (default 10000)
	MaxObservers         int // observations per client (default 16)
	MaxMessageSize       int // largest datagram accepted or sent (default 1152)
	MaxBodySize          int // largest publish reassembled from Block1 blocks (default 64 KiB)
	MaxOptions           int // options per request (default 64)
	MaxRequestsPerSecond int // per client; 0: unlimited (default 100)
	Logger               *slog.Logger
}

// Listener is one UDP or DTLS socket.
type Listener struct {
	Name    string
	Type    string // udp, dtls
	Address string
	DTLS    *DTLS
}

// DTLS is a dtls listener's setup: a certificate, pre-shared keys, or both
// (shared with the other datagram gateway).
type DTLS = dtlsconf.DTLS

func (c *Config) setDefaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 2 * time.Minute
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 2 * time.Second
	}
	if c.MaxRetransmit <= 0 {
		c.MaxRetransmit = 4
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 10000
	}
	if c.MaxObservers <= 0 {
		c.MaxObservers = 16
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1152
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = 64 << 10
	}
	if c.MaxOptions <= 0 {
		c.MaxOptions = 64
	}
	if c.MaxRequestsPerSecond < 0 {
		c.MaxRequestsPerSecond = 0
	}
	if c.ConQoS > 2 {
		c.ConQoS = 2
	}
	if c.NonQoS > 2 {
		c.NonQoS = 2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
