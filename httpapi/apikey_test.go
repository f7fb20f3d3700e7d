package httpapi

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAPIKeyFileLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api_keys")
	s1, err := CreateKey(path, "ops")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := CreateKey(path, "ci-bot")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), s1) || strings.Contains(string(data), s2) {
		t.Fatal("the file holds a secret, not its hash")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	k, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Check("ops", s1) || !k.Check("ci-bot", s2) || k.Check("ops", s2) || k.Check("nobody", s1) {
		t.Error("Check accepts a wrong secret or refuses a right one")
	}
	if !k.CheckToken("ops."+s1) || k.CheckToken(s1) {
		t.Error("CheckToken")
	}
	// A new key of the same name replaces the old secret.
	s3, err := CreateKey(path, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if k, _ = LoadKeys(path); k.Check("ops", s1) || !k.Check("ops", s3) || k.Len() != 2 {
		t.Error("recreating a key did not replace its secret")
	}
	if names, _ := KeyNames(path); !slices.Equal(names, []string{"ops", "ci-bot"}) {
		t.Errorf("names = %v", names)
	}
	if err := DeleteKey(path, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteKey(path, "ops"); err == nil {
		t.Error("deleting a missing key succeeded")
	}
	if names, _ := KeyNames(path); !slices.Equal(names, []string{"ci-bot"}) {
		t.Errorf("names after delete = %v", names)
	}
	if _, err := CreateKey(path, "bad name"); err == nil {
		t.Error("a key name with a space was accepted")
	}
}

func TestLoadKeysNamesTheBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api_keys")
	os.WriteFile(path, []byte("# keys\nops:sha256:abcd\n"), 0o600)
	if _, err := LoadKeys(path); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("err = %v, want it to name line 2", err)
	}
}

func TestValidKeyName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"ops", true},
		{"ci-bot_2", true},
		{"ABC-xyz_09", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"bad name", false},
		{"dot.name", false},
		{"colon:name", false},
		{"ünicode", false},
		{"new\nline", false},
	} {
		if got := validKeyName(tc.name); got != tc.ok {
			t.Errorf("validKeyName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
