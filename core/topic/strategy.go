package topic

import "fmt"

// Strategy selects which member of a shared-subscription group receives a
// message.
type Strategy int

const (
	// RoundRobin cycles through the members of each group.
	RoundRobin Strategy = iota
	// Random picks a member uniformly at random.
	Random
	// Sticky keeps delivering to one member until it unsubscribes or
	// becomes unavailable.
	Sticky
	// HashClientID picks by the publisher's client id, so one publisher's
	// messages go to one member while the group is unchanged.
	HashClientID
	// HashTopic picks by topic, so one topic's messages go to one member
	// while the group is unchanged.
	HashTopic
)

var strategyNames = [...]string{
	RoundRobin:   "round_robin",
	Random:       "random",
	Sticky:       "sticky",
	HashClientID: "hash_clientid",
	HashTopic:    "hash_topic",
}

// ParseStrategy parses a strategy name as written in the configuration.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("topic: unknown shared subscription strategy %q", s)
}

// String returns the configuration name of s.
func (s Strategy) String() string {
	if s >= 0 && int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}
