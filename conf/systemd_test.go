package conf_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// unitSettings reads the Key=Value lines of a systemd unit.
func unitSettings(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			kv[k] = v
		}
	}
	return kv
}

// TestSystemdUnitMatchesTheExampleConfig holds the unit and the example
// /etc/mqgate/mqgate.yaml together: the unit runs the binary on that file,
// its state directory is the store's, and the hardening options are on.
func TestSystemdUnitMatchesTheExampleConfig(t *testing.T) {
	unit := unitSettings(t, "systemd/mqgate.service")
	c, err := conf.Load("systemd/mqgate.yaml")
	if err != nil {
		t.Fatalf("the example /etc/mqgate/mqgate.yaml does not load: %v", err)
	}
	if got := unit["ExecStart"]; got != "/usr/local/bin/mqgate run -c /etc/mqgate/mqgate.yaml" {
		t.Errorf("ExecStart=%s", got)
	}
	if c.Storage.Type != "disk" || c.Storage.Dir != "/var/lib/"+unit["StateDirectory"] {
		t.Errorf("storage %s %s is not the unit's StateDirectory %s", c.Storage.Type, c.Storage.Dir, unit["StateDirectory"])
	}
	if c.Auth.AllowAnonymous || !strings.HasPrefix(c.Auth.PasswordFile, "/etc/mqgate/") {
		t.Errorf("auth = %+v, want no anonymous access and a password file in /etc/mqgate", c.Auth)
	}
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"User": "mqgate", "ExecReload": "/bin/kill -HUP $MAINPID", "CapabilityBoundingSet": "",
	} {
		if got, ok := unit[k]; !ok || got != want {
			t.Errorf("%s=%s, want %s", k, got, want)
		}
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		// verify wants the binary the unit names; point it at a stand-in.
		dir := t.TempDir()
		data, _ := os.ReadFile("systemd/mqgate.service")
		unitFile := filepath.Join(dir, "mqgate.service")
		bin := filepath.Join(dir, "mqgate")
		os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
		os.WriteFile(unitFile, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/mqgate", bin)), 0o644)
		if out, err := exec.Command(sa, "verify", "--man=no", unitFile).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
}
