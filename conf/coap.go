package conf

import (
	"fmt"
	"strings"
	"time"
)

// CoAPConfig is the CoAP gateway (RFC 7252 over UDP and DTLS, EMQX's /ps
// scheme). It is off unless enabled.
type CoAPConfig struct {
	Enabled    bool           `yaml:"enabled"`
	Listeners  []CoAPListener `yaml:"listeners"`
	Namespace  string         `yaml:"namespace"`
	Mountpoint string         `yaml:"mountpoint"`
	// ConnectionRequired makes every request carry the client id and the
	// token POST /mqtt/connection answered.
	ConnectionRequired bool `yaml:"connection_required"`
	// ObserveEcho asks an Observe registration over UDP from a client not
	// yet shown reachable to repeat itself with an Echo option.
	ObserveEcho bool `yaml:"observe_echo"`
	// Heartbeat is how long a client may stay silent before its session
	// and observations are dropped.
	Heartbeat Duration `yaml:"heartbeat"`
	// ConQoS and NonQoS map a confirmable or non-confirmable request
	// without a qos query parameter to a QoS.
	ConQoS int `yaml:"con_qos"`
	NonQoS int `yaml:"non_qos"`
	// ObserveQueue is what an observer that cannot keep up gets: latest
	// (only the newest undelivered message) or all.
	ObserveQueue         string   `yaml:"observe_queue"`
	AckTimeout           Duration `yaml:"ack_timeout"`
	MaxRetransmit        int      `yaml:"max_retransmit"`
	MaxClients           int      `yaml:"max_clients"`
	MaxObservers         int      `yaml:"max_observers"`
	MaxMessageSize       Size     `yaml:"max_message_size"`
	MaxBodySize          Size     `yaml:"max_body_size"`
	MaxOptions           int      `yaml:"max_options"`
	MaxRequestsPerSecond int      `yaml:"max_requests_per_second"` // per client; 0: unlimited
}

// CoAPListener is one UDP or DTLS socket of the CoAP gateway; its dtls
// block is the MQTT-SN gateway's.
type CoAPListener struct {
	Name    string      `yaml:"name"`
	Type    string      `yaml:"type"` // udp, dtls
	Address string      `yaml:"address"`
	DTLS    *DTLSConfig `yaml:"dtls"`
}

func defaultCoAP() CoAPConfig {
	return CoAPConfig{
		Listeners:            []CoAPListener{{Name: "udp", Type: "udp", Address: ":5683"}},
		Namespace:            "coap",
		Heartbeat:            Duration(2 * time.Minute),
		ConQoS:               1,
		NonQoS:               0,
		ObserveQueue:         "latest",
		AckTimeout:           Duration(2 * time.Second),
		MaxRetransmit:        4,
		MaxClients:           10000,
		MaxObservers:         16,
		MaxMessageSize:       1152,
		MaxBodySize:          64 << 10,
		MaxOptions:           64,
		MaxRequestsPerSecond: 100,
	}
}

// validateCoAP checks the coap section; bad reports "KEY: problem".
func (c *Config) validateCoAP(bad func(key, format string, args ...any)) {
	s := &c.CoAP
	if s.Enabled && len(s.Listeners) == 0 {
		bad("coap.listeners", "at least one listener is required when coap is enabled")
	}
	names := map[string]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		key := fmt.Sprintf("coap.listeners[%d]", i)
		validateDatagramListener(bad, key, "coap", i, l.Type, &l.Name, l.Address, l.DTLS, names)
	}
	if strings.ContainsAny(s.Mountpoint, "+#") {
		bad("coap.mountpoint", "must not contain '+' or '#'")
	}
	if s.Heartbeat <= 0 {
		bad("coap.heartbeat", "must be positive")
	}
	if s.ConQoS < 0 || s.ConQoS > 2 {
		bad("coap.con_qos", "must be 0, 1 or 2")
	}
	if s.NonQoS < 0 || s.NonQoS > 2 {
		bad("coap.non_qos", "must be 0, 1 or 2")
	}
	if s.ObserveQueue != "latest" && s.ObserveQueue != "all" {
		bad("coap.observe_queue", "%q is not one of: latest, all", s.ObserveQueue)
	}
	if s.AckTimeout < Duration(10*time.Millisecond) {
		bad("coap.ack_timeout", "must be at least 10ms")
	}
	if s.MaxRetransmit < 1 || s.MaxRetransmit > 20 {
		bad("coap.max_retransmit", "must be between 1 and 20")
	}
	if s.MaxClients < 1 {
		bad("coap.max_clients", "must be at least 1")
	}
	if s.MaxObservers < 1 {
		bad("coap.max_observers", "must be at least 1")
	}
	if s.MaxMessageSize < 64 || s.MaxMessageSize > 65507 {
		bad("coap.max_message_size", "must be between 64B and 65507B")
	}
	if s.MaxBodySize < 64 || s.MaxBodySize > 16<<20 {
		bad("coap.max_body_size", "must be between 64B and 16MiB")
	}
	if s.MaxOptions < 8 || s.MaxOptions > 1024 {
		bad("coap.max_options", "must be between 8 and 1024")
	}
	if s.MaxRequestsPerSecond < 0 {
		bad("coap.max_requests_per_second", "must be 0 (unlimited) or positive")
	}
}
