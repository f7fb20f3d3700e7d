// Package release tests the binaries scripts/release.sh builds: each one,
// under qemu-user when it is not for this machine, starts on a config of
// loopback ports, answers /healthz and carries a publish/subscribe round
// trip. MQGATE_RELEASE_DIR names the directory (make release's dist/);
// without it the tests skip.
package release

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// runner returns the command prefix that runs a binary for arch.
func runner(t *testing.T, arch string) []string {
	t.Helper()
	if arch == runtime.GOARCH {
		return nil
	}
	qemu := map[string]string{"arm64": "qemu-aarch64", "arm": "qemu-arm", "amd64": "qemu-x86_64"}[arch]
	if _, err := exec.LookPath(qemu); err != nil {
		t.Skipf("%s is not installed (apt-get install qemu-user)", qemu)
	}
	return []string{qemu}
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestReleaseBinariesServe(t *testing.T) {
	dir := os.Getenv("MQGATE_RELEASE_DIR")
	if dir == "" {
		t.Skip("MQGATE_RELEASE_DIR is not set: run scripts/release.sh and point it at dist/")
	}
	bins, _ := filepath.Glob(filepath.Join(dir, "mqgate-linux-*"))
	if len(bins) == 0 {
		t.Fatalf("no mqgate-linux-* in %s", dir)
	}
	for _, bin := range bins {
		name := filepath.Base(bin)
		arch := strings.TrimPrefix(name, "mqgate-linux-")
		arch, _, _ = strings.Cut(arch, "v") // armv7 -> arm
		t.Run(name, func(t *testing.T) { serve(t, bin, arch) })
	}
}

func serve(t *testing.T, bin, arch string) {
	prefix := runner(t, arch)
	work := t.TempDir()
	// The embedded defaults but for loopback ports and the data directory.
	mqttPort, wsPort, httpPort := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "tcp")
	cfg := fmt.Sprintf("storage: {dir: %q}\nmqtt: {listeners: [{name: tcp, type: tcp, address: \"127.0.0.1:%d\"}, {name: ws, type: ws, address: \"127.0.0.1:%d\"}]}\nhttp: {address: \"127.0.0.1:%d\"}\n",
		filepath.Join(work, "data"), mqttPort, wsPort, httpPort)
	cfgPath := filepath.Join(work, "mqgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append(prefix, bin), "run", "-c", cfgPath)
	cmd := exec.Command(args[0], args[1:]...)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("no exit within 30s of SIGTERM")
		}
	}()

	// Emulated, startup takes a few seconds: poll /readyz.
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 60s: %v", err)
		}
		select {
		case err := <-exited:
			t.Fatalf("exited before ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}

	if prefix == nil {
		// Idle memory, native only: under qemu the RSS is the emulator's.
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok && err == nil {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				t.Logf("idle RSS on the defaults: %.1f MiB", float64(kb)/1024)
				if kb > 20*1024 {
					t.Errorf("idle RSS %d kB is over the 20 MiB budget", kb)
				}
			}
		}
	}

	msgs := make(chan string, 1)
	o := paho3.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", mqttPort)).SetClientID("release-" + arch).
		SetAutoReconnect(false).SetConnectTimeout(20 * time.Second)
	c := paho3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Subscribe("release/ping", 1, func(_ paho3.Client, m paho3.Message) { msgs <- string(m.Payload()) }); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish("release/ping", 1, false, arch); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case got := <-msgs:
		if got != arch {
			t.Errorf("round trip carried %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no round trip within 20s")
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if st, err := os.Stat(bin); err == nil {
		t.Logf("%s: %.1f MiB", filepath.Base(bin), float64(st.Size())/(1<<20))
	}
}
