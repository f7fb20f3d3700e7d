package mqttsn

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bisquittCLI builds a bisquitt command-line client from the module cache
// (the module is a tool dependency in go.mod, so this works offline).
func bisquittCLI(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the bisquitt CLI")
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/energomonitor/bisquitt/cmd/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	return out
}

// cliEnv keeps the CLI's flag environment variables (HOST, PORT, DEBUG...)
// from leaking in.
func cliEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

func TestBisquittCLI(t *testing.T) {
	pubBin, subBin := bisquittCLI(t, "bisquitt-pub"), bisquittCLI(t, "bisquitt-sub")
	e := startEnv(t)
	port := e.gw.Addrs()["udp"].(interface{ String() string }).String()
	port = port[strings.LastIndexByte(port, ':')+1:]

	sub := exec.Command(subBin, "--host", "127.0.0.1", "--port", port, "--topic", "cli/down", "--qos", "1", "--client-id", "cli-sub")
	sub.Env = cliEnv()
	stdout, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor(t, "bisquitt-sub subscribed", func() bool { return e.broker.SubscriptionCount() >= 1 })

	mqttSub := e.mqttSubscribe("paho-sub", "cli/up", 1)
	// bisquitt-pub to an MQTT subscriber, and to bisquitt-sub.
	for _, args := range [][]string{
		{"--topic", "cli/up", "--message", "from-cli", "--qos", "1"},
		{"--topic", "cli/down", "--message", "cli-to-cli", "--qos", "2"},
	} {
		pub := exec.Command(pubBin, append([]string{"--host", "127.0.0.1", "--port", port}, args...)...)
		pub.Env = cliEnv()
		done := make(chan error, 1)
		go func() {
			b, err := pub.CombinedOutput()
			if err != nil {
				t.Logf("bisquitt-pub output: %s", b)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("bisquitt-pub %v: %v", args, err)
			}
		case <-time.After(30 * time.Second):
			pub.Process.Kill()
			t.Fatal("bisquitt-pub hangs")
		}
	}
	if m := recv(t, mqttSub, "CLI publish"); m.payload != "from-cli" {
		t.Fatalf("got %+v", m)
	}
	line := recv(t, (<-chan string)(lines), "bisquitt-sub output")
	if !strings.Contains(line, "cli/down: cli-to-cli") {
		t.Fatalf("bisquitt-sub printed %q", line)
	}
}
