package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core/auth"
)

func TestPasswdDeletesAndListsUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	for _, u := range []string{"alice", "bob", "carol"} {
		if code, _, stderr := invoke(t, "", "passwd", "-cost", "4", "-f", path, "-p", "pw", u); code != 0 {
			t.Fatalf("passwd %s: exit %d: %s", u, code, stderr)
		}
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("# site users\n"), data...), 0o600)

	if code, out, _ := invoke(t, "", "passwd", "-f", path, "-l"); code != 0 || out != "alice\nbob\ncarol\n" {
		t.Fatalf("-l: exit %d, %q", code, out)
	}
	if code, out, stderr := invoke(t, "", "passwd", "-f", path, "-D", "bob"); code != 0 || !strings.Contains(out, `user "bob" deleted`) {
		t.Fatalf("-D bob: exit %d, %q %s", code, out, stderr)
	}
	if _, out, _ := invoke(t, "", "passwd", "-f", path, "-l"); out != "alice\ncarol\n" {
		t.Errorf("users after -D bob = %q", out)
	}
	if pf, err := auth.LoadPasswordFile(path); err != nil || pf.Len() != 2 {
		t.Errorf("the file after -D does not load with two users: %v", err)
	}
	if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), "# site users\n") {
		t.Errorf("-D lost the comment:\n%s", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after -D = %v", st.Mode().Perm())
	}
	if code, _, stderr := invoke(t, "", "passwd", "-f", path, "-D", "bob"); code != 1 || !strings.Contains(stderr, `no user "bob"`) {
		t.Errorf("-D bob again: exit %d, %s", code, stderr)
	}
	if code, _, stderr := invoke(t, "", "passwd", "-f", path, "-l", "alice"); code != 1 || !strings.Contains(stderr, "usage: mqgate passwd") {
		t.Errorf("-l with a user: exit %d, %s", code, stderr)
	}
}
