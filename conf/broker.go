package conf

import (
	"slices"
	"strings"
)

// BrokerConfig holds the settings that apply to the clients of every
// protocol alike. They were under mqtt before; moved.go keeps the old keys
// working.
type BrokerConfig struct {
	// MaxTopicLevels bounds the '/'-separated levels of topic names and
	// filters; 0 means unlimited.
	MaxTopicLevels int `yaml:"max_topic_levels"`
	// SharedStrategy picks the member of a shared subscription group that
	// gets a message.
	SharedStrategy string `yaml:"shared_subscription_strategy"`
	// MaxSubscriptions bounds the subscriptions of one session; 0 means
	// unlimited.
	MaxSubscriptions int `yaml:"max_subscriptions"`
}

// sharedStrategies are the values of broker.shared_subscription_strategy.
var sharedStrategies = []string{"round_robin", "random", "sticky", "hash_clientid", "hash_topic"}

func defaultBroker() BrokerConfig {
	return BrokerConfig{MaxTopicLevels: 128, SharedStrategy: "round_robin"}
}

// validateBroker checks the broker section; bad reports "KEY: problem".
func (c *Config) validateBroker(bad func(key, format string, args ...any)) {
	b := &c.Broker
	if b.MaxTopicLevels < 0 {
		bad("broker.max_topic_levels", "must be 0 (unlimited) or more")
	}
	if !slices.Contains(sharedStrategies, b.SharedStrategy) {
		bad("broker.shared_subscription_strategy", "%q is not one of: %s", b.SharedStrategy, strings.Join(sharedStrategies, ", "))
	}
	if b.MaxSubscriptions < 0 {
		bad("broker.max_subscriptions", "must be 0 (unlimited) or more")
	}
}
