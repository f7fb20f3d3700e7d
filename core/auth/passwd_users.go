package auth

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// DeleteUser removes username from the password file at path, keeping
// every other line and comment as it was; the file is rewritten
// atomically. A user the file does not have is an error.
func DeleteUser(path, username string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	var out bytes.Buffer
	found := false
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		if user, _, comment, ok := passwordLine(line); !comment && ok && user == username {
			found = true
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if !found {
		return fmt.Errorf("no user %q in %s", username, path)
	}
	return writeFileAtomic(path, out.Bytes(), 0o600)
}

// Usernames lists the users of the password file at path in file order.
func Usernames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	var users []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if user, _, comment, ok := passwordLine(line); !comment && ok {
			users = append(users, user)
		}
	}
	return users, nil
}
