package main

import (
	"testing"
	"time"
)

// TestBinaryTakesItsConfigFromTheEnvironment: with no file, MQGATE_
// variables set the listeners and the store, as a container needs.
func TestBinaryTakesItsConfigFromTheEnvironment(t *testing.T) {
	bin := buildBinary(t)
	addr := freePort(t)
	t.Setenv("MQGATE_MQTT__LISTENERS", `[{name: envtcp, type: tcp, address: "`+addr+`"}]`)
	t.Setenv("MQGATE_STORAGE__TYPE", "memory")
	p := start(t, bin, t.TempDir())
	c := p.waitAccepting(t, addr, 10*time.Second)
	defer c.Close()
	mqttConnect(t, c)
	p.waitLog(t, 5*time.Second, "listener=envtcp")
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
