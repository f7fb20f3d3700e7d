package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

func TestSIGHUPReloadsTheLogLevelAndNamesWhatNeedsARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mqgate.yaml")
	os.WriteFile(path, []byte("log: {level: info}\nmqtt: {listeners: [{type: tcp, address: \":1883\"}]}\n"), 0o600)
	cur, err := conf.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	level := new(slog.LevelVar)
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))

	os.WriteFile(path, []byte("log: {level: debug}\nmqtt: {listeners: [{type: tcp, address: \":1999\"}]}\nsessions: {max_inflight: 5}\n"), 0o600)
	next := reloadConfig(path, cur, level, log)
	if level.Level() != slog.LevelDebug || next.Log.Level != "debug" {
		t.Errorf("level = %v, config level %q; want debug", level.Level(), next.Log.Level)
	}
	if next.MQTT.Listeners[0].Address != ":1883" || next.Sessions.MaxInflight != cur.Sessions.MaxInflight {
		t.Error("a change that needs a restart was taken as running")
	}
	for _, want := range []string{`msg="log level changed" from=info to=debug`, `msg="configuration changed where a restart is needed; the running values are kept"`, "sections=\"[mqtt sessions]\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, out.String())
		}
	}

	out.Reset()
	os.WriteFile(path, []byte("log: {level: loud}\n"), 0o600)
	if kept := reloadConfig(path, next, level, log); kept != next || level.Level() != slog.LevelDebug {
		t.Error("a bad file changed the running configuration")
	}
	if !strings.Contains(out.String(), "configuration reload failed, the running configuration is kept") || !strings.Contains(out.String(), "log.level") {
		t.Errorf("log = %s", out.String())
	}
}
