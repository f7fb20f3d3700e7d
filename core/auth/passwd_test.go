package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core"
)

const fixtureDir = "../../testdata/auth"

// writeFile writes content to a fresh file in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestLoadPasswordFile(t *testing.T) {
	good := mustHash(t, "pw")
	tests := []struct {
		name    string
		content string
		users   int
		wantErr string // substring; "" means success
	}{
		{"empty file", "", 0, ""},
		{"comments and blank lines skipped", "# c\n\n   \n  # indented\nu:" + good + "\n", 1, ""},
		{"crlf line endings", "u:" + good + "\r\nv:" + good + "\r\n", 2, ""},
		{"no trailing newline", "u:" + good, 1, ""},
		{"line without colon", "u:" + good + "\n\nnocolon\n", 0, ":3: want username:hash"},
		{"empty username", ":" + good + "\n", 0, ":1: want username:hash"},
		{"empty hash", "u:\n", 0, ":1: want username:hash"},
		{"plain text password", "# x\nu:secret\n", 0, ":2: user \"u\": hash is not a bcrypt hash"},
		{"unsupported hash prefix", "u:$6$salt$hash\n", 0, ":1: user \"u\": hash is not a bcrypt hash"},
		{"truncated bcrypt hash", "u:$2a$04$abc\n", 0, ":1: user \"u\": hash is not a bcrypt hash"},
		{"duplicate user", "u:" + good + "\nu:" + good + "\n", 0, ":2: duplicate user \"u\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "passwd", tt.content)
			p, err := LoadPasswordFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), path+tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, path+tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Len() != tt.users {
				t.Fatalf("Len() = %d, want %d", p.Len(), tt.users)
			}
		})
	}
}

func TestLoadPasswordFileMissingNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	_, err := LoadPasswordFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want it to name %s", err, path)
	}
}

func TestPasswordFileAuthenticate(t *testing.T) {
	p, err := LoadPasswordFile(filepath.Join(fixtureDir, "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		user     string
		password []byte
		want     core.Verdict
	}{
		{"right password", "alice", []byte("secret"), core.Allow},
		{"right password for 2y hash", "bob", []byte("hunter2"), core.Allow},
		{"wrong password", "alice", []byte("hunter2"), core.Deny},
		{"missing password", "alice", nil, core.Deny},
		{"empty password", "alice", []byte{}, core.Deny},
		{"unknown user ignored", "mallory", []byte("secret"), core.Ignore},
		{"anonymous ignored", "", nil, core.Ignore},
		{"username is case sensitive", "Alice", []byte("secret"), core.Ignore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Authenticate(context.Background(), &core.ClientInfo{Username: tt.user}, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("verdict = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPasswordFileVerify: Verify answers true only for a listed user's
// own password, and every answer from a file with users costs one bcrypt
// comparison, an unknown user's too, so its timing tells no usernames.
func TestPasswordFileVerify(t *testing.T) {
	p, err := LoadPasswordFile(filepath.Join(fixtureDir, "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := LoadPasswordFile(writeFile(t, "passwd", "# nobody\n"))
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	compareHash = func(hash, password []byte) error {
		compared++
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	t.Cleanup(func() { compareHash = bcrypt.CompareHashAndPassword })
	for _, tt := range []struct {
		name     string
		file     *PasswordFile
		user, pw string
		want     bool
		compares int
	}{
		{"right password", p, "alice", "secret", true, 1},
		{"wrong password", p, "alice", "hunter2", false, 1},
		{"empty password", p, "alice", "", false, 1},
		{"unknown user costs a comparison too", p, "mallory", "secret", false, 1},
		{"another user's password", p, "mallory", "hunter2", false, 1},
		{"username is case sensitive", p, "Alice", "secret", false, 1},
		{"a file without users", empty, "alice", "secret", false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			compared = 0
			if got := tt.file.Verify(tt.user, []byte(tt.pw)); got != tt.want || compared != tt.compares {
				t.Fatalf("Verify(%q, %q) = %v with %d bcrypt comparisons, want %v with %d", tt.user, tt.pw, got, compared, tt.want, tt.compares)
			}
		})
	}
	if !p.Has("alice") || p.Has("mallory") {
		t.Error("Has")
	}
}

func TestPasswordFileReload(t *testing.T) {
	ctx := context.Background()
	path := writeFile(t, "passwd", "alice:"+mustHash(t, "old")+"\n")
	p, err := LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	alice := &core.ClientInfo{Username: "alice"}
	check := func(user *core.ClientInfo, pw string, want core.Verdict) {
		t.Helper()
		got, err := p.Authenticate(ctx, user, []byte(pw))
		if err != nil || got != want {
			t.Fatalf("Authenticate(%q, %q) = %v, %v; want %v", user.Username, pw, got, err, want)
		}
	}
	check(alice, "old", core.Allow)

	if err := SetPassword(path, "alice", "new", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := SetPassword(path, "bob", "bobpw", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	check(alice, "new", core.Deny) // not reloaded yet
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	check(alice, "new", core.Allow)
	check(alice, "old", core.Deny)
	check(&core.ClientInfo{Username: "bob"}, "bobpw", core.Allow)

	// A broken file keeps the previous users in force.
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("Reload of broken file: err = %v", err)
	}
	check(alice, "new", core.Allow)
}

func TestSetPassword(t *testing.T) {
	oldHash := mustHash(t, "old")
	tests := []struct {
		name     string
		initial  *string // nil: file does not exist
		user     string
		password string
		// wantLines are the file's lines, with "HASH" for the new hash.
		wantLines []string
	}{
		{
			name: "creates missing file", initial: nil, user: "alice", password: "pw",
			wantLines: []string{"alice:HASH"},
		},
		{
			name: "adds user and keeps comments", initial: ptr("# users\n\nbob:" + oldHash + "\n"),
			user: "alice", password: "pw",
			wantLines: []string{"# users", "", "bob:" + oldHash, "alice:HASH"},
		},
		{
			name: "updates user in place", initial: ptr("# head\nalice:" + oldHash + "\n# mid\nbob:" + oldHash + "\n"),
			user: "alice", password: "pw",
			wantLines: []string{"# head", "alice:HASH", "# mid", "bob:" + oldHash},
		},
		{
			name: "adds newline to file without one", initial: ptr("bob:" + oldHash),
			user: "alice", password: "pw",
			wantLines: []string{"bob:" + oldHash, "alice:HASH"},
		},
		{
			name: "keeps malformed lines of others", initial: ptr("junk line\n"),
			user: "alice", password: "pw",
			wantLines: []string{"junk line", "alice:HASH"},
		},
		{
			name: "removes duplicate entries", initial: ptr("alice:" + oldHash + "\nalice:" + oldHash + "\n"),
			user: "alice", password: "pw",
			wantLines: []string{"alice:HASH"},
		},
		{
			name: "commented user is not updated", initial: ptr("#alice:" + oldHash + "\n"),
			user: "alice", password: "pw",
			wantLines: []string{"#alice:" + oldHash, "alice:HASH"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwd")
			if tt.initial != nil {
				if err := os.WriteFile(path, []byte(*tt.initial), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := SetPassword(path, tt.user, tt.password, bcrypt.MinCost); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(data), "\n") {
				t.Errorf("file does not end in a newline: %q", data)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != len(tt.wantLines) {
				t.Fatalf("file =\n%s\nwant %d lines", data, len(tt.wantLines))
			}
			for i, want := range tt.wantLines {
				got := lines[i]
				if want == tt.user+":HASH" {
					hash, ok := strings.CutPrefix(got, tt.user+":")
					if !ok || bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.password)) != nil {
						t.Errorf("line %d = %q, want %s with a hash of %q", i+1, got, tt.user, tt.password)
					}
					continue
				}
				if got != want {
					t.Errorf("line %d = %q, want %q", i+1, got, want)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("mode = %v, want 0600", perm)
			}
			keepsJunk := tt.initial != nil && strings.Contains(*tt.initial, "junk")
			if _, err := LoadPasswordFile(path); err != nil && !keepsJunk {
				t.Errorf("written file does not load: %v", err)
			}
			// No temporary file is left behind.
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1", len(entries))
			}
		})
	}
}

func TestSetPasswordRejectsInvalidUsernames(t *testing.T) {
	for _, name := range []string{"", "a:b", "a\nb", "a\rb", "#alice", " alice", "alice "} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwd")
			if err := SetPassword(path, name, "pw", bcrypt.MinCost); err == nil {
				t.Fatalf("SetPassword(%q) succeeded", name)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("file was created: %v", err)
			}
		})
	}
}

func TestSetPasswordRejectsTooLongPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := SetPassword(path, "alice", strings.Repeat("x", 73), bcrypt.MinCost); err == nil {
		t.Fatal("SetPassword with a 73-byte password succeeded")
	}
}

func ptr[T any](v T) *T { return &v }
