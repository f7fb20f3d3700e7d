package conf_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestBrokerSection(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c := mustParse(t, "")
		want := conf.BrokerConfig{MaxTopicLevels: 128, SharedStrategy: "round_robin", MaxSubscriptions: 0}
		if c.Broker != want {
			t.Fatalf("broker = %+v, want %+v", c.Broker, want)
		}
	})
	t.Run("keys parse", func(t *testing.T) {
		c := mustParse(t, "broker:\n  max_topic_levels: 8\n  shared_subscription_strategy: sticky\n  max_subscriptions: 100\n")
		want := conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "sticky", MaxSubscriptions: 100}
		if c.Broker != want {
			t.Fatalf("broker = %+v, want %+v", c.Broker, want)
		}
		if len(c.Warnings) != 0 {
			t.Fatalf("warnings %q, want none", c.Warnings)
		}
	})
	t.Run("0 is unlimited", func(t *testing.T) {
		c := mustParse(t, "broker: {max_topic_levels: 0, max_subscriptions: 0}")
		if c.Broker.MaxTopicLevels != 0 || c.Broker.MaxSubscriptions != 0 {
			t.Fatalf("broker = %+v, want both limits 0", c.Broker)
		}
	})
}

// deprecation is the warning for the old key of broker.name.
func deprecation(name string) string {
	return "mqtt." + name + " is deprecated, use broker." + name
}

func TestOldMQTTKeysStillWorkWithAWarning(t *testing.T) {
	for _, tc := range []struct {
		name     string
		doc      string
		want     conf.BrokerConfig
		warnings []string
	}{
		{
			name:     "max_topic_levels",
			doc:      "mqtt:\n  max_topic_levels: 8\n",
			want:     conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "round_robin"},
			warnings: []string{deprecation("max_topic_levels")},
		},
		{
			name:     "shared_subscription_strategy",
			doc:      "mqtt: {shared_subscription_strategy: hash_topic}",
			want:     conf.BrokerConfig{MaxTopicLevels: 128, SharedStrategy: "hash_topic"},
			warnings: []string{deprecation("shared_subscription_strategy")},
		},
		{
			name:     "max_subscriptions",
			doc:      "mqtt: {max_subscriptions: 50}",
			want:     conf.BrokerConfig{MaxTopicLevels: 128, SharedStrategy: "round_robin", MaxSubscriptions: 50},
			warnings: []string{deprecation("max_subscriptions")},
		},
		{
			name: "all three, warned in the order of the broker section",
			doc:  "mqtt:\n  max_subscriptions: 50\n  max_topic_levels: 8\n  shared_subscription_strategy: random\n",
			want: conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "random", MaxSubscriptions: 50},
			warnings: []string{
				deprecation("max_topic_levels"),
				deprecation("shared_subscription_strategy"),
				deprecation("max_subscriptions"),
			},
		},
		{
			name:     "beside other keys of a broker section",
			doc:      "broker:\n  max_subscriptions: 50\nmqtt:\n  max_topic_levels: 8\n",
			want:     conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "round_robin", MaxSubscriptions: 50},
			warnings: []string{deprecation("max_topic_levels")},
		},
		{
			name:     "with an empty broker section",
			doc:      "broker:\nmqtt:\n  max_topic_levels: 8\n",
			want:     conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "round_robin"},
			warnings: []string{deprecation("max_topic_levels")},
		},
		{
			name:     "an alias for a value",
			doc:      "sessions: {max_inflight: &n 8}\nmqtt: {max_topic_levels: *n}\n",
			want:     conf.BrokerConfig{MaxTopicLevels: 8, SharedStrategy: "round_robin"},
			warnings: []string{deprecation("max_topic_levels")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.doc)
			if c.Broker != tc.want {
				t.Errorf("broker = %+v, want %+v", c.Broker, tc.want)
			}
			if !slices.Equal(c.Warnings, tc.warnings) {
				t.Errorf("warnings\n got %q\nwant %q", c.Warnings, tc.warnings)
			}
		})
	}
}

func TestOldMQTTKeysLeaveTheRestOfMQTTAlone(t *testing.T) {
	c := mustParse(t, "mqtt:\n  max_packet_size: 64KB\n  max_topic_levels: 8\n  max_keepalive: 60\n")
	if c.MQTT.MaxPacketSize != 64<<10 || c.MQTT.MaxKeepAlive != 60 {
		t.Fatalf("max_packet_size, max_keepalive = %d, %d; want %d, 60", c.MQTT.MaxPacketSize, c.MQTT.MaxKeepAlive, 64<<10)
	}
	want := validDefault(t)
	want.Broker.MaxTopicLevels = 8
	want.MQTT.MaxPacketSize, want.MQTT.MaxKeepAlive = 64<<10, 60
	want.Warnings = []string{deprecation("max_topic_levels")}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestOldAndNewKeyBothSetIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{
			name: "old key first",
			doc:  "mqtt:\n  max_topic_levels: 8\nbroker:\n  max_topic_levels: 16\n",
			want: "mqtt.max_topic_levels: moved to broker.max_topic_levels, which is set as well (line 4); remove mqtt.max_topic_levels (line 2)",
		},
		{
			name: "new key first, same value",
			doc:  "broker: {shared_subscription_strategy: sticky}\nmqtt: {shared_subscription_strategy: sticky}\n",
			want: "mqtt.shared_subscription_strategy: moved to broker.shared_subscription_strategy, which is set as well (line 1); remove mqtt.shared_subscription_strategy (line 2)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestOldMQTTKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		lines     []string // each must be a line of the error
	}{
		{
			name:  "a wrong type names the old key",
			doc:   "mqtt:\n  max_subscriptions: many\n",
			lines: []string{`mqtt.max_subscriptions: "many" is not a whole number (line 2)`},
		},
		{
			name: "a bad value names the new key and says where it was set",
			doc:  "mqtt: {shared_subscription_strategy: first}",
			lines: []string{
				`broker.shared_subscription_strategy: "first" is not one of: round_robin, random, sticky, hash_clientid, hash_topic`,
				deprecation("shared_subscription_strategy"),
			},
		},
		{
			name:  "an old key set twice",
			doc:   "mqtt:\n  max_topic_levels: 8\n  max_topic_levels: 9\n",
			lines: []string{"mqtt.max_topic_levels: set twice (line 2 and line 3)"},
		},
		{
			name:  "a broker section that is not a mapping",
			doc:   "broker: 5\nmqtt: {max_topic_levels: 8}\n",
			lines: []string{`broker: must be a mapping of keys, not the value "5" (line 1)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.doc)
			}
			got := strings.Split(err.Error(), "\n")
			for _, want := range tc.lines {
				if !slices.Contains(got, want) {
					t.Errorf("error has no line %q:\n%v", want, err)
				}
			}
		})
	}
}
