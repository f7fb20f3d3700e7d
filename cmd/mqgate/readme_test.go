package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReadmeQuickStart runs the README's quick start as written: the
// gateway on its embedded defaults, then the mosquitto_sub and
// mosquitto_pub commands from the README's code blocks.
func TestReadmeQuickStart(t *testing.T) {
	cmds := quickStartCommands(t)
	var sub []string
	var pubs [][]string
	for _, c := range cmds {
		switch c[0] {
		case "mosquitto_sub":
			sub = c
		case "mosquitto_pub":
			pubs = append(pubs, c)
		}
	}
	if sub == nil || len(pubs) == 0 {
		t.Fatalf("README quick start has no mosquitto_sub and mosquitto_pub commands: %q", cmds)
	}
	for _, tool := range []string{"mosquitto_sub", "mosquitto_pub"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (run scripts/test-deps.sh): %v", tool, err)
			}
			t.Skipf("%s not found; run scripts/test-deps.sh: %v", tool, err)
		}
	}
	for _, addr := range []string{":1883", ":8083"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s is not free, so the embedded defaults cannot be tried: %v", addr, err)
		}
		l.Close()
	}
	bin := buildBinary(t)
	p := start(t, bin, t.TempDir())
	p.waitAccepting(t, "127.0.0.1:1883", 10*time.Second).Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := exec.CommandContext(ctx, sub[0], append(sub[1:len(sub):len(sub)], "-C", "1")...)
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Wait()
	p.waitLog(t, 10*time.Second, "client connected")
	for _, pub := range pubs {
		if b, err := exec.CommandContext(ctx, pub[0], pub[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", pub, err, b)
		}
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("mosquitto_sub printed nothing: %v", err)
	}
	if got, want := strings.TrimSpace(line), "sensors/kitchen/temp 21.5"; got != want {
		t.Fatalf("mosquitto_sub printed %q, want %q as the README says", got, want)
	}
	if code := p.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
}

// quickStartCommands returns the commands in the sh blocks of the
// README's Quick start section, split into words.
func quickStartCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var cmds [][]string
	in := false
	for line := range strings.SplitSeq(sec, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			cmds = append(cmds, shellWords(t, line))
		}
	}
	return cmds
}

// shellWords splits a command line the way sh would for the simple
// commands of the README and the Dockerfile: words, single and double
// quotes (no escapes), and a trailing # comment.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			return words
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
