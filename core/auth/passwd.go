package auth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core"
)

// PasswordFile authenticates clients against a file of "username:hash"
// lines, where hash is a bcrypt hash. It is safe for concurrent use; Reload
// swaps the whole user table atomically, so a check sees either the old or
// the new file, never a mix.
type PasswordFile struct {
	path  string
	users atomic.Pointer[map[string][]byte] // username -> bcrypt hash
}

var _ core.Authenticator = (*PasswordFile)(nil)

// LoadPasswordFile reads the password file at path. Errors name the file
// and, for a malformed line, the line number.
func LoadPasswordFile(path string) (*PasswordFile, error) {
	p := &PasswordFile{path: path}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload re-reads the file. On error the previous users stay in force.
func (p *PasswordFile) Reload() error {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	users, err := parsePasswords(p.path, data)
	if err != nil {
		return err
	}
	p.users.Store(&users)
	return nil
}

// Len reports how many users the file holds.
func (p *PasswordFile) Len() int { return len(*p.users.Load()) }

// Authenticate returns core.Ignore for a user the file does not know, so
// that a chain can ask the next source; core.Deny for a known user with a
// wrong or missing password; core.Allow when the password matches.
func (p *PasswordFile) Authenticate(_ context.Context, c *core.ClientInfo, password []byte) (core.Verdict, error) {
	hash, ok := (*p.users.Load())[c.Username]
	if !ok {
		return core.Ignore, nil
	}
	if password == nil {
		return core.Deny, nil
	}
	// bcrypt is deliberately slow; it runs on an immutable snapshot, with
	// no lock held.
	switch err := compareHash(hash, password); {
	case err == nil:
		return core.Allow, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return core.Deny, nil
	default:
		return core.Deny, fmt.Errorf("password file %s: user %q: %w", p.path, c.Username, err)
	}
}

// compareHash is bcrypt's comparison; a test counts its calls.
var compareHash = bcrypt.CompareHashAndPassword

// Verify reports whether password is username's, for a login anyone may
// try (the dashboard's). Unlike Authenticate, it spends a bcrypt
// comparison on a user the file does not list too, against another
// user's hash and so at that hash's cost, so that how long an answer
// takes does not tell which usernames exist.
func (p *PasswordFile) Verify(username string, password []byte) bool {
	users := *p.users.Load()
	hash, known := users[username]
	if !known {
		for _, h := range users {
			hash = h
			break
		}
	}
	if hash == nil {
		return false // no users at all: there is nothing to enumerate
	}
	return compareHash(hash, password) == nil && known
}

// Has reports whether the file lists username.
func (p *PasswordFile) Has(username string) bool {
	_, ok := (*p.users.Load())[username]
	return ok
}

// passwordLine splits one line of a password file. comment is true for
// blank and comment lines; ok is false for a line that is neither a comment
// nor "username:hash".
func passwordLine(line string) (user, hash string, comment, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", true, true
	}
	user, hash, found := strings.Cut(line, ":")
	if !found || user == "" || hash == "" {
		return "", "", false, false
	}
	return user, hash, false, true
}

func parsePasswords(path string, data []byte) (map[string][]byte, error) {
	users := make(map[string][]byte)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		user, hash, comment, ok := passwordLine(sc.Text())
		if comment {
			continue
		}
		if !ok {
			return nil, fmt.Errorf("%s:%d: want username:hash", path, n)
		}
		if !isBcryptHash(hash) {
			return nil, fmt.Errorf("%s:%d: user %q: hash is not a bcrypt hash ($2a$, $2b$ or $2y$)", path, n, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate user %q", path, n, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

func isBcryptHash(h string) bool {
	if !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
		return false
	}
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// validUsername rejects names the file format cannot hold: empty names,
// names with ':' or line breaks, names the loader would read as a comment
// and names whose surrounding blanks the loader would trim away.
func validUsername(name string) error {
	switch {
	case name == "":
		return errors.New("empty username")
	case strings.ContainsAny(name, ":\r\n"):
		return fmt.Errorf("username %q contains ':' or a line break", name)
	case name[0] == '#':
		return fmt.Errorf("username %q starts with '#'", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("username %q has leading or trailing blanks", name)
	}
	return nil
}

// SetPassword adds username to the password file at path or replaces its
// hash, keeping every other line and comment as it was. The file is created
// when missing and always written atomically with mode 0600. cost is the
// bcrypt cost; values below bcrypt.MinCost select bcrypt.DefaultCost.
func SetPassword(path, username, password string, cost int) error {
	if err := validUsername(username); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("hash password for %q: %w", username, err)
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("password file: %w", err)
	}

	var out bytes.Buffer
	replaced := false
	if len(data) > 0 {
		text := strings.TrimSuffix(string(data), "\n")
		for _, line := range strings.Split(text, "\n") {
			if user, _, comment, ok := passwordLine(line); !comment && ok && user == username {
				if replaced {
					continue // drop duplicates so the file loads again
				}
				replaced = true
				line = username + ":" + string(hash)
			}
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	if !replaced {
		out.WriteString(username + ":" + string(hash) + "\n")
	}
	return writeFileAtomic(path, out.Bytes(), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path, so readers see the old file or the new one, never a partial one.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
