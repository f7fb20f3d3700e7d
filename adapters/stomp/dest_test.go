package stomp

import "testing"

func TestDestinations(t *testing.T) {
	cases := []struct {
		mode, dest string
		filter     bool
		want, err  string
	}{
		{DestMQTT, "a/b", false, "a/b", ""},
		{DestMQTT, "a/+", true, "a/+", ""},
		{DestMQTT, "$share/g/a/#", true, "$share/g/a/#", ""},
		{DestMQTT, "a/+", false, "", "wildcard"},
		{DestMQTT, "", false, "", "missing destination"},
		{DestRabbitMQ, "/topic/a.b.c", false, "a/b/c", ""},
		{DestRabbitMQ, "/topic/a.*.#", true, "a/+/#", ""},
		{DestRabbitMQ, "/topic/v1/x.y", false, "v1.x/y", ""},
		{DestRabbitMQ, "/topic/a.*", false, "", "wildcard"},
		{DestRabbitMQ, "/topic/a+b", true, "", "'+'"},
		{DestRabbitMQ, "/queue/a", false, "", "only /topic/"},
		{DestRabbitMQ, "/temp-queue/a", true, "", "only /topic/"},
		{DestRabbitMQ, "/topic/", false, "", "empty"},
	}
	for _, c := range cases {
		got, err := topicFor(c.mode, c.dest, c.filter)
		if c.err != "" {
			if err == nil || !contains(err.Error(), c.err) {
				t.Errorf("%s %q: err %v, want %q", c.mode, c.dest, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: %q %v, want %q", c.mode, c.dest, got, err, c.want)
		}
		if !c.filter && destFor(c.mode, got) != c.dest {
			t.Errorf("%s %q does not map back: %q", c.mode, c.dest, destFor(c.mode, got))
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
