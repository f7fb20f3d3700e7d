package bridge

import (
	"strconv"

	"github.com/mqgate/mqgate/core/store"
)

// HopsProperty is the MQTT 5 user property that counts the bridges a
// message has crossed. Each bridge sends a message out with the count
// raised by one and drops an inbound message whose count has reached
// MaxHops: a loop through several brokers bridged both ways (A to B, B to
// C, C to A) then dies after MaxHops crossings instead of circling
// forever (checklist #17). MQTT 3.1.1 carries no user properties, so
// there only the bridge's own loop prevention applies.
const HopsProperty = "mqgate-hops"

// MaxHops is how many bridges a message may cross.
const MaxHops = 8

// hops returns the message's hop count.
func hops(props []store.UserProperty) int {
	for _, u := range props {
		if u.Key == HopsProperty {
			n, _ := strconv.Atoi(u.Value)
			return n
		}
	}
	return 0
}

// withHop returns props with the hop count raised by one.
func withHop(props []store.UserProperty) []store.UserProperty {
	n := hops(props) + 1
	out := make([]store.UserProperty, 0, len(props)+1)
	for _, u := range props {
		if u.Key != HopsProperty {
			out = append(out, u)
		}
	}
	return append(out, store.UserProperty{Key: HopsProperty, Value: strconv.Itoa(n)})
}
