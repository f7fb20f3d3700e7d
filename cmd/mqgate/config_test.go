package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mqgate/mqgate/conf"
)

func TestConfigCheckPrintsTheEffectiveConfiguration(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mqgate.yaml")
	os.WriteFile(path, []byte("node: edge-1\nsessions: {max_inflight: 10}\nmqtt: {max_subscriptions: 12}\n"), 0o600)
	code, out, stderr := invoke(t, "", "config", "check", "-c", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"# " + path + " is valid", "node: edge-1", "address: 127.0.0.1:18083", "drop_policy: drop_newest", "max_subscriptions: 12"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "warning:") {
		t.Errorf("the deprecated key is not warned about: %q", stderr)
	}
	// What it prints loads back to the same configuration.
	printed := filepath.Join(dir, "printed.yaml")
	os.WriteFile(printed, []byte(out), 0o600)
	want, _ := conf.Load(path)
	got, err := conf.Load(printed)
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v", err)
	}
	// Compared as YAML: an empty map may load as nil.
	gotYAML, _ := yaml.Marshal(got)
	wantYAML, _ := yaml.Marshal(want)
	if string(gotYAML) != string(wantYAML) {
		t.Errorf("the printed configuration loads as\n%s\nwant\n%s", gotYAML, wantYAML)
	}

	os.WriteFile(path, []byte("http: {address: \":18083\"}\nsessions: {drop_policy: random}\n"), 0o600)
	code, _, stderr = invoke(t, "", "config", "check", "-c", path)
	if code != 1 || !strings.Contains(stderr, "http.api_key_file: is required") || !strings.Contains(stderr, "sessions.drop_policy") {
		t.Errorf("bad file: exit %d, %s", code, stderr)
	}
	t.Setenv("MQGATE_SESSIONS__MAX_INFLIGHT", "7")
	os.WriteFile(path, []byte("node: edge-1\n"), 0o600)
	if code, out, stderr = invoke(t, "", "config", "check", "-c", path); code != 0 || !strings.Contains(out, "max_inflight: 7") {
		t.Errorf("with MQGATE_SESSIONS__MAX_INFLIGHT=7: exit %d, %s\n%s", code, stderr, out)
	}
	if code, _, stderr = invoke(t, "", "config", "lint"); code != 1 || !strings.Contains(stderr, "usage: mqgate config check") {
		t.Errorf("config lint: exit %d, %s", code, stderr)
	}
}
