package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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

// TestSIGHUPReloadsTheLogLevel: SIGHUP applies a new log level at once
// and names the sections whose changes need a restart.
func TestSIGHUPReloadsTheLogLevel(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freePort(t)
	cfg := func(level, maxPacket string) {
		t.Helper()
		body := fmt.Sprintf("log: {level: %s}\nstorage: {type: memory}\nmqtt:\n  max_packet_size: %s\n  listeners: [{name: tcp, type: tcp, address: %q}]\n", level, maxPacket, addr)
		if err := os.WriteFile(filepath.Join(dir, "cfg.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg("info", "1MiB")
	p := start(t, bin, dir, "run", "-c", "cfg.yaml")
	p.waitAccepting(t, addr, 10*time.Second).Close()
	p.waitLog(t, 5*time.Second, "mqgate started")
	cfg("debug", "2MiB")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, 5*time.Second, "log level changed", "config changes that need a restart", "sections=mqtt")
	c := p.waitAccepting(t, addr, 5*time.Second)
	defer c.Close()
	mqttConnect(t, c)
	p.waitLog(t, 5*time.Second, `msg="mqtt packet received"`)
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestSIGHUPReloadsBridges: a changed bridges section is applied without
// a restart: a changed bridge restarts, a new one starts, and bridges is
// not among the sections that need a restart.
func TestSIGHUPReloadsBridges(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr, silent := freePort(t), freePort(t)
	cfg := func(bridges string) {
		t.Helper()
		body := fmt.Sprintf("storage: {type: memory}\nmqtt:\n  listeners: [{name: tcp, type: tcp, address: %q}]\nbridges:\n%s", addr, bridges)
		if err := os.WriteFile(filepath.Join(dir, "cfg.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bridge := func(name, remote string) string {
		return fmt.Sprintf("  - {name: %s, address: %q, rules: [{direction: out, local: \"s/#\", remote: %q, qos: 1}]}\n", name, silent, remote)
	}
	cfg(bridge("a", "up/a/#"))
	p := start(t, bin, dir, "run", "-c", "cfg.yaml")
	p.waitAccepting(t, addr, 10*time.Second).Close()
	p.waitLog(t, 5*time.Second, "mqgate started")
	cfg(bridge("a", "up/a2/#") + bridge("b", "up/b/#"))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, 5*time.Second, "bridges reloaded", "started=[b]", "restarted=[a]", "no change in it needs a restart")
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
