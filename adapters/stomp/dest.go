package stomp

import (
	"errors"
	"strings"
)

// Destination modes: how a STOMP destination names an MQTT topic or
// filter.
const (
	// DestMQTT: the destination is the MQTT topic after the mountpoint;
	// SUBSCRIBE takes MQTT filters (+, #, $share/..., $queue/...).
	DestMQTT = "mqtt"
	// DestRabbitMQ: RabbitMQ Web-STOMP's /topic/ destinations. After
	// "/topic/", '.' and '/' swap (a.b.c is the topic a/b/c, and a '/'
	// in the destination is a '.' in the topic, as RabbitMQ's MQTT
	// plugin maps them), '*' is '+' and '#' is '#' in SUBSCRIBE.
	DestRabbitMQ = "rabbitmq"
)

const rabbitTopic = "/topic/"

var (
	errNoDestination   = errors.New("missing destination header")
	errWildcardSend    = errors.New("a SEND destination cannot hold a wildcard")
	errRabbitPrefix    = errors.New("only /topic/ destinations are supported")
	errRabbitPlus      = errors.New("'+' cannot appear in a /topic/ destination")
	errRabbitEmpty     = errors.New("empty /topic/ destination")
	errDestinationNULs = errors.New("destination holds a NUL")
)

// topicFor maps a destination to an MQTT topic name (filter false, SEND)
// or filter (SUBSCRIBE). The core then validates and authorizes the
// result, after the mountpoint, so an ACL sees the mapped topic.
func topicFor(mode, dest string, filter bool) (string, error) {
	if dest == "" {
		return "", errNoDestination
	}
	if strings.IndexByte(dest, 0) >= 0 {
		return "", errDestinationNULs
	}
	if mode != DestRabbitMQ {
		if !filter && strings.ContainsAny(dest, "+#") {
			return "", errWildcardSend
		}
		return dest, nil
	}
	rest, ok := strings.CutPrefix(dest, rabbitTopic)
	if !ok {
		return "", errRabbitPrefix
	}
	if rest == "" {
		return "", errRabbitEmpty
	}
	if strings.IndexByte(rest, '+') >= 0 {
		return "", errRabbitPlus
	}
	if !filter && strings.ContainsAny(rest, "*#") {
		return "", errWildcardSend
	}
	b := []byte(rest)
	for i, c := range b {
		switch c {
		case '.':
			b[i] = '/'
		case '/':
			b[i] = '.'
		case '*':
			b[i] = '+'
		}
	}
	return string(b), nil
}

// destFor maps a delivered topic (after the mountpoint) back to the
// destination a MESSAGE frame carries.
func destFor(mode, topic string) string {
	if mode != DestRabbitMQ {
		return topic
	}
	b := make([]byte, 0, len(rabbitTopic)+len(topic))
	b = append(b, rabbitTopic...)
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		switch c {
		case '.':
			c = '/'
		case '/':
			c = '.'
		}
		b = append(b, c)
	}
	return string(b)
}
