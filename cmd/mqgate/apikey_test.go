package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/httpapi"
)

func TestAPIKeyCommandCreatesListsAndDeletes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api_keys")
	code, stdout, stderr := invoke(t, "", "apikey", "-f", path, "ops")
	if code != 0 {
		t.Fatalf("apikey ops: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`secret: +(\S+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no secret printed:\n%s", stdout)
	}
	keys, err := httpapi.LoadKeys(path)
	if err != nil || !keys.Check("ops", m[1]) || !keys.CheckToken("ops."+m[1]) {
		t.Fatalf("the printed secret does not open key ops (%v)", err)
	}
	invoke(t, "", "apikey", "-f", path, "ci")
	if _, stdout, _ := invoke(t, "", "apikey", "-f", path, "-l"); stdout != "ops\nci\n" {
		t.Errorf("list = %q", stdout)
	}
	if code, _, stderr := invoke(t, "", "apikey", "-f", path, "-D", "ops"); code != 0 {
		t.Fatalf("apikey -D ops: exit %d: %s", code, stderr)
	}
	if _, stdout, _ := invoke(t, "", "apikey", "-f", path, "-l"); stdout != "ci\n" {
		t.Errorf("list after delete = %q", stdout)
	}
	for _, args := range [][]string{{"apikey", "ops"}, {"apikey", "-f", path}, {"apikey", "-f", path, "-l", "x"}} {
		if code, _, stderr := invoke(t, "", args...); code != 1 || !strings.Contains(stderr, "usage: mqgate apikey") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}
