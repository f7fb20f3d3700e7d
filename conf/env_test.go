package conf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

func TestEnvironmentSetsEveryKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mqgate.yaml")
	os.WriteFile(file, []byte("node: from-file\nmqtt:\n  max_packet_size: 1KiB\n  connect_timeout: 3s\n"), 0o600)
	c, err := conf.Resolve(file, []string{
		"PATH=/bin",
		"MQGATE_MQTT__MAX_PACKET_SIZE=256KiB", // over the file
		"mqgate_node=edge-1",                  // lower case is not ours
		"MQGATE_NODE=edge-2",                  // a top-level key
		"MQGATE_Storage__Type=memory",         // any case after the prefix
		"MQGATE_SYS__INTERVAL=0s",             // a duration
		"MQGATE_AUTH__ALLOW_ANONYMOUS=false",  // a bool
		"MQGATE_HTTP__USERS_FILE=/etc/mqgate/dashboard_users",
		`MQGATE_MQTT__LISTENERS=[{name: t, type: tcp, address: "127.0.0.1:1999"}]`, // a list in flow form
		"MQGATE_TEST_EXEC=qemu-arm", // the test suite's, not a key
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.MaxPacketSize != 256<<10 || c.Node != "edge-2" || c.Storage.Type != "memory" ||
		c.Sys.Interval != 0 || c.Auth.AllowAnonymous || time.Duration(c.MQTT.ConnectTimeout) != 3*time.Second ||
		c.HTTP.UsersFile != "/etc/mqgate/dashboard_users" {
		t.Fatalf("config %+v", c)
	}
	if len(c.MQTT.Listeners) != 1 || c.MQTT.Listeners[0].Address != "127.0.0.1:1999" {
		t.Fatalf("listeners %+v", c.MQTT.Listeners)
	}
	// Without a file, over the embedded defaults.
	c, err = conf.Resolve("", []string{"MQGATE_LOG__LEVEL=debug"})
	if err != nil || c.Log.Level != "debug" || len(c.MQTT.Listeners) != 2 {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestEnvironmentErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env, want string
	}{
		{"MQGATE_MQTT__MAX_PACKET_SIZEE=1", "mqtt.max_packet_sizee: unknown key"},
		{"MQGATE_MQTT__MAX_PACKET_SIZEE=1", "set by MQGATE_MQTT__MAX_PACKET_SIZEE"},
		{"MQGATE_SYS__INTERVAL=soon", "set by MQGATE_SYS__INTERVAL"},
		{"MQGATE_NODE__X=1", "node: must be a single value"},
		{"MQGATE_MQTT____X=1", "an empty key"},
	} {
		_, err := conf.Resolve("", []string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.env, err, tc.want)
		}
	}
}
