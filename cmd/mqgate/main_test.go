package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/gateway"
)

// invoke runs the command line in-process and returns its exit code and
// output.
func invoke(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		stdout      string // substring; "" checks nothing
		stderr      string
		exactStdout bool
	}{
		{name: "version starts with the version", args: []string{"version"}, code: 0, stdout: "mqgate " + gateway.Version + "\ncommit "},
		{name: "--version is version", args: []string{"--version"}, code: 0, stdout: "mqgate " + gateway.Version + "\ncommit "},
		{name: "-version is version", args: []string{"-version"}, code: 0, stdout: "mqgate " + gateway.Version + "\ncommit "},
		{name: "version takes no arguments", args: []string{"version", "x"}, code: 1, stderr: `unexpected argument "x"`},
		{name: "unknown command exits 2", args: []string{"serve"}, code: 2, stderr: `unknown command "serve"`},
		{name: "unknown command prints usage", args: []string{"serve"}, code: 2, stderr: "usage:"},
		{name: "help for an unknown command exits 2", args: []string{"help", "serve"}, code: 2, stderr: `unknown command "serve"`},
		{name: "bench points to mqgate-bench", args: []string{"bench", "scenario", "fanin", "-c", "10"}, code: 2, stderr: "go run ./cmd/mqgate-bench scenario fanin -c 10\n"},
		{name: "bench -h points to mqgate-bench", args: []string{"bench", "-h"}, code: 2, stderr: "go run ./cmd/mqgate-bench -h\n"},
		{name: "help names one command", args: []string{"help", "passwd"}, code: 0, stdout: "usage: mqgate passwd -f FILE"},
		{name: "run -h exits 0 with the flags", args: []string{"run", "-h"}, code: 0, stdout: "-c string"},
		{name: "flags without a command are run's", args: []string{"-c", "/nonexistent/mqgate.yaml"}, code: 1, stderr: "mqgate run: read config"},
		{name: "run refuses a stray argument", args: []string{"run", "mqgate.yaml"}, code: 1, stderr: `unexpected argument "mqgate.yaml"`},
		{name: "run with an unknown flag exits 1", args: []string{"run", "-x"}, code: 1, stderr: "flag provided but not defined: -x"},
		{name: "run with a missing config exits 1", args: []string{"run", "-c", "/nonexistent/mqgate.yaml"}, code: 1, stderr: "read config"},
		{name: "passwd without a file is a usage error", args: []string{"passwd", "alice"}, code: 1, stderr: "usage: mqgate passwd -f FILE"},
		{name: "passwd without a user is a usage error", args: []string{"passwd", "-f", "x"}, code: 1, stderr: "usage: mqgate passwd -f FILE"},
		{name: "passwd flag errors go to stderr", args: []string{"passwd", "-z"}, code: 1, stderr: "flag provided but not defined: -z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.exactStdout && stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.stderr)
			}
		})
	}
}

// TestHelpListsEveryCommand asks for the top-level help every way a user
// might: each lists every command on stdout, and none shows run's flags.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}, {"help", "help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := invoke(t, "", args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, c := range commands() {
				if !strings.Contains(stdout, "\n  "+c.name+" ") {
					t.Errorf("help does not list %q:\n%s", c.name, stdout)
				}
			}
			if strings.Contains(stdout, "-c string") {
				t.Errorf("top-level help shows run's flags:\n%s", stdout)
			}
			if strings.Contains(stdout, "\n  bench ") {
				t.Errorf("help lists bench, which is mqgate-bench now:\n%s", stdout)
			}
		})
	}
}

// TestEveryCommandHasHelp runs each command with -h and --help: its usage
// goes to stdout and it exits 0 without doing anything else.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(c.name+" "+flag, func(t *testing.T) {
				code, stdout, stderr := invoke(t, "", c.name, flag)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
				}
				want := "usage: mqgate " + c.name
				if c.name == "run" {
					want = "usage: mqgate [run]"
				}
				if c.name == "help" {
					want = "usage: mqgate [COMMAND]"
				}
				if !strings.Contains(stdout, want) {
					t.Fatalf("stdout does not contain %q:\n%s", want, stdout)
				}
			})
		}
	}
}

func TestRunRejectsUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	cfg := "mqtt:\n  listeners:\n    - type: tcp\n      adress: 127.0.0.1:0\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := invoke(t, "", "run", "-c", path)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{path, "mqtt.listeners[0].adress: unknown key", "address"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
}

func TestRunReportsEveryInvalidValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	cfg := "log: {level: loud}\nmqtt:\n  listeners:\n    - {type: tls, address: ':8883'}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := invoke(t, "", "run", "-c", path)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{"log.level: ", "mqtt.listeners[0].tls: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
}

// users reads a password file into user -> hash.
func users(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("password file line %q has no ':'", line)
		}
		if _, dup := m[user]; dup {
			t.Fatalf("user %q appears twice:\n%s", user, data)
		}
		m[user] = hash
	}
	return m
}

func checkPassword(t *testing.T, hash, password string) {
	t.Helper()
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		t.Fatalf("hash %q does not verify %q: %v", hash, password, err)
	}
}

func TestPasswdCreatesAndUpdatesUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	cost := "4" // bcrypt.MinCost keeps the test fast

	code, stdout, stderr := invoke(t, "", "passwd", "-cost", cost, "-f", path, "-p", "s3cret", "alice")
	if code != 0 {
		t.Fatalf("passwd alice: exit %d, stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, `password for "alice" set in `+path) {
		t.Errorf("stdout = %q", stdout)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("password file mode = %#o, want 0600", mode)
	}
	u := users(t, path)
	checkPassword(t, u["alice"], "s3cret")

	if code, _, stderr := invoke(t, "", "passwd", "-cost", cost, "-f", path, "-p", "other", "bob"); code != 0 {
		t.Fatalf("passwd bob: exit %d, stderr: %s", code, stderr)
	}
	bobHash := users(t, path)["bob"]
	if code, _, stderr := invoke(t, "", "passwd", "-cost", cost, "-f", path, "-p", "n3w", "alice"); code != 0 {
		t.Fatalf("passwd alice again: exit %d, stderr: %s", code, stderr)
	}
	u2 := users(t, path)
	if len(u2) != 2 {
		t.Fatalf("users = %v, want alice and bob", u2)
	}
	checkPassword(t, u2["alice"], "n3w")
	if bcrypt.CompareHashAndPassword([]byte(u2["alice"]), []byte("s3cret")) == nil {
		t.Fatal("alice's old password still verifies")
	}
	if u2["bob"] != bobHash {
		t.Fatal("updating alice changed bob's entry")
	}
	checkPassword(t, u2["bob"], "other")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode after update = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestPasswdReadsPasswordFromStdin(t *testing.T) {
	for _, tc := range []struct {
		name, stdin, want string
	}{
		{"line with newline", "from-stdin\n", "from-stdin"},
		{"line with CRLF", "crlf\r\n", "crlf"},
		{"only the first line", "first\nsecond\n", "first"},
		{"no trailing newline", "no-newline", "no-newline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwd")
			code, _, stderr := invoke(t, tc.stdin, "passwd", "-cost", "4", "-f", path, "carol")
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, stderr)
			}
			checkPassword(t, users(t, path)["carol"], tc.want)
		})
	}
}

func TestPasswdRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
		stderr      string
	}{
		{"empty password on stdin", "\n", []string{"carol"}, "empty password"},
		{"no stdin at all", "", []string{"carol"}, "empty password"},
		{"username with a colon", "pw\n", []string{"a:b"}, "contains ':'"},
		{"username starting with #", "pw\n", []string{"#x"}, "starts with '#'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passwd")
			args := append([]string{"passwd", "-cost", "4", "-f", path}, tc.args...)
			code, _, stderr := invoke(t, tc.stdin, args...)
			if code != 1 || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.stderr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("password file was written: %v", err)
			}
		})
	}
}
