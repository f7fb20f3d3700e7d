package httpapi

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// An API key is a name and a secret of 256 random bits that mqgate
// generates. The key file keeps "name:sha256:HEX" lines: the SHA-256 of
// the secret, never the secret. A slow password hash (bcrypt) protects
// passwords people choose, which are guessable; a generated 256-bit secret
// cannot be guessed however fast the hash, and a fast hash lets every
// request be checked in about a microsecond instead of the 50-250 ms a
// bcrypt check costs on a Raspberry Pi, which would make a scraper or a
// script polling the API a denial of service.

// validKeyName reports whether name is 1 to 64 ASCII letters, digits, '-'
// and '_'.
func validKeyName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

const hashPrefix = "sha256:"

// Keys is a loaded API key file. It is read-only once loaded.
type Keys struct {
	hashes map[string][sha256.Size]byte
}

// LoadKeys reads an API key file. Errors name the file and the line.
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("API key file: %w", err)
	}
	k := &Keys{hashes: map[string][sha256.Size]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		name, sum, skip, err := keyLine(sc.Text())
		if skip {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if _, dup := k.hashes[name]; dup {
			return nil, fmt.Errorf("%s:%d: key %q is listed twice", path, n, name)
		}
		k.hashes[name] = sum
	}
	return k, sc.Err()
}

// keyLine parses one line; skip is true for blank lines and comments.
func keyLine(line string) (name string, sum [sha256.Size]byte, skip bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", sum, true, nil
	}
	name, h, ok := strings.Cut(line, ":")
	if !ok || !validKeyName(name) {
		return "", sum, false, errors.New(`want "NAME:sha256:HEX" with NAME of letters, digits, '-' and '_'`)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(h, hashPrefix))
	if !strings.HasPrefix(h, hashPrefix) || err != nil || len(raw) != sha256.Size {
		return "", sum, false, fmt.Errorf("key %q: the hash is not sha256: and 64 hex digits", name)
	}
	copy(sum[:], raw)
	return name, sum, false, nil
}

// Len is the number of keys.
func (k *Keys) Len() int { return len(k.hashes) }

// Check reports whether secret is the secret of the key name. It takes
// the same time whether or not the name exists.
func (k *Keys) Check(name, secret string) bool {
	want, ok := k.hashes[name]
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && ok
}

// CheckToken checks a bearer token, "NAME.SECRET".
func (k *Keys) CheckToken(token string) bool {
	name, secret, ok := strings.Cut(token, ".")
	return ok && k.Check(name, secret)
}

// CreateKey adds a key named name to the file at path, creating the file
// (mode 0600) when it is missing, and returns its secret, which is shown
// once and stored nowhere. A key of that name is replaced.
func CreateKey(path, name string) (secret string, err error) {
	if !validKeyName(name) {
		return "", fmt.Errorf("key name %q: use 1 to 64 letters, digits, '-' and '_'", name)
	}
	var b [32]byte
	rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	line := name + ":" + hashPrefix + hex.EncodeToString(sum[:])
	if err := rewriteKeys(path, name, line, true); err != nil {
		return "", err
	}
	return secret, nil
}

// DeleteKey removes the key named name from the file at path.
func DeleteKey(path, name string) error {
	return rewriteKeys(path, name, "", false)
}

// KeyNames lists the key names in the file at path, in file order.
func KeyNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("API key file: %w", err)
	}
	var names []string
	for l := range strings.SplitSeq(string(data), "\n") {
		if name, _, skip, err := keyLine(l); !skip && err == nil {
			names = append(names, name)
		}
	}
	return names, nil
}

// rewriteKeys replaces the line of key name by line ("" drops it), adding
// line when add is set and the key is not there.
func rewriteKeys(path, name, line string, add bool) error {
	data, err := os.ReadFile(path)
	if err != nil && !(add && errors.Is(err, fs.ErrNotExist)) {
		return fmt.Errorf("API key file: %w", err)
	}
	var out bytes.Buffer
	found := false
	for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		if len(data) == 0 {
			break // a missing or empty file has no lines
		}
		if n, _, skip, err := keyLine(l); !skip && err == nil && n == name {
			if !found && line != "" {
				out.WriteString(line + "\n")
			}
			found = true
			continue
		}
		out.WriteString(l + "\n")
	}
	if !found {
		if !add {
			return fmt.Errorf("no key %q in %s", name, path)
		}
		out.WriteString(line + "\n")
	}
	return writeAtomic(path, out.Bytes())
}

// writeAtomic writes data beside path and renames it over path (mode
// 0600), so the gateway reads the old file or the new one, never half.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("API key file: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			return fmt.Errorf("API key file: %w", err)
		}
		return nil
	}
	f.Close()
	return fmt.Errorf("API key file: chmod %s: %w", f.Name(), err)
}
