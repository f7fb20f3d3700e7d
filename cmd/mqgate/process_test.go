package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary: signal handling, exit codes and the log
// a user sees can only be checked from outside the process.

const testVersion = "9.9.9-test"

// buildBinary builds mqgate into a temporary directory, with the version set
// the way releases set it.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the mqgate binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build mqgate: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mqgate")
	cmd := exec.Command(goTool, "build", "-o", bin,
		"-ldflags", "-X github.com/mqgate/mqgate/gateway.Version="+testVersion, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// logWatcher collects a process's output and wakes waiters on each write.
type logWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogWatcher() *logWatcher { return &logWatcher{changed: make(chan struct{}, 1)} }

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *logWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// process is a started mqgate whose exit is reported on done.
type process struct {
	cmd  *exec.Cmd
	log  *logWatcher
	done chan struct{}
	err  error // Wait's result, set before done is closed
}

func start(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), log: newLogWatcher(), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("mqgate output:\n%s", p.log)
		}
	})
	return p
}

// waitLog waits until every want is in the output, the process exits, or
// the deadline passes.
func (p *process) waitLog(t *testing.T, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		out := p.log.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-p.log.changed:
		case <-p.done:
			if !strings.Contains(p.log.String(), missing) {
				t.Fatalf("mqgate exited (%v) before logging %q", p.err, missing)
			}
		case <-deadline.C:
			t.Fatalf("mqgate did not log %q within %v", missing, timeout)
		}
	}
}

// waitAccepting polls until addr accepts a TCP connection, failing if the
// process exits or the deadline passes first.
func (p *process) waitAccepting(t *testing.T, addr string, timeout time.Duration) net.Conn {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c
		}
		select {
		case <-p.done:
			t.Fatalf("mqgate exited (%v) before %s accepted", p.err, addr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept within %v: %v", addr, timeout, err)
		}
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("mqgate did not exit within %v of SIGTERM", timeout)
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		t.Fatalf("wait: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// freePort returns a 127.0.0.1 address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// mqttConnect sends a minimal MQTT 3.1.1 CONNECT and checks for an
// accepting CONNACK.
func mqttConnect(t *testing.T, c net.Conn) {
	t.Helper()
	connect := []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'p'}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(connect); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	if _, err := io.ReadFull(c, connack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if want := []byte{0x20, 2, 0, 0}; !bytes.Equal(connack, want) {
		t.Fatalf("CONNACK = % x, want % x", connack, want)
	}
	c.SetDeadline(time.Time{})
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("version comes from the build", func(t *testing.T) {
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		// The commit is stamped by go build in a git clone; a linked
		// worktree or a source tarball gives "commit unknown".
		lines := strings.Split(string(out), "\n")
		if len(lines) < 3 || lines[0] != "mqgate "+testVersion || !strings.HasPrefix(lines[1], "commit ") {
			t.Fatalf("version = %q, want mqgate %s then the commit", out, testVersion)
		}
		if want := " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"; !strings.Contains(string(out), want) {
			t.Fatalf("version = %q, want the platform %q", out, want)
		}
	})

	t.Run("SIGTERM stops a running gateway with exit 0", func(t *testing.T) {
		dir := t.TempDir()
		tcpAddr, wsAddr := freePort(t), freePort(t)
		cfg := fmt.Sprintf("http: {address: \"\"}\nmqtt:\n  listeners:\n    - {type: tcp, address: %q}\n    - {type: ws, address: %q}\n", tcpAddr, wsAddr)
		if err := os.WriteFile(filepath.Join(dir, "cfg.yaml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		p := start(t, bin, dir, "run", "-c", "cfg.yaml")
		c := p.waitAccepting(t, tcpAddr, 10*time.Second)
		defer c.Close()
		mqttConnect(t, c) // a connected client must not hold up shutdown
		p.waitAccepting(t, wsAddr, 10*time.Second).Close()

		if code := p.stop(t, 5*time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d, want 0", code)
		}
		p.waitLog(t, time.Second, "shutting down", "stopped")
		// The server closes the client's connection on the way out.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("client connection still open after mqgate exited")
		}
	})

	t.Run("SIGHUP with a broken ACL file logs one failure and no reload", func(t *testing.T) {
		dir := t.TempDir()
		acl := filepath.Join(dir, "acl")
		if err := os.WriteFile(acl, []byte("allow all all #\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tcpAddr := freePort(t)
		cfg := fmt.Sprintf("http: {address: \"\"}\nmqtt:\n  listeners:\n    - {type: tcp, address: %q}\nauth:\n  acl_file: %q\n", tcpAddr, acl)
		if err := os.WriteFile(filepath.Join(dir, "cfg.yaml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		p := start(t, bin, dir, "-c", "cfg.yaml")
		p.waitLog(t, 10*time.Second, "mqgate started")
		if err := os.WriteFile(acl, []byte("this is not a rule\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitLog(t, 10*time.Second, "ACL file reload failed")
		if code := p.stop(t, 5*time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d, want 0", code)
		}
		var failures int
		for line := range strings.SplitSeq(p.log.String(), "\n") {
			if strings.Contains(line, "reloaded") {
				t.Errorf("a broken ACL file logged a reload: %s", line)
			}
			if strings.Contains(line, "reload failed") {
				failures++
			}
		}
		if failures != 1 {
			t.Errorf("%d lines say the reload failed, want 1", failures)
		}
	})

	t.Run("without arguments it listens on 1883 and 8083", func(t *testing.T) {
		for _, addr := range []string{":1883", ":8083"} {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("port %s is not free, so the embedded defaults cannot be tried: %v", addr, err)
			}
			l.Close()
		}
		begin := time.Now()
		p := start(t, bin, t.TempDir())
		p.waitLog(t, 10*time.Second, "mqgate started")
		t.Logf("startup to listening on :1883 and :8083: %v", time.Since(begin))
		for _, port := range []string{":1883", ":8083"} {
			if !logsListening(p.log.String(), port) {
				t.Errorf("no \"mqtt listening\" line for %s in the log", port)
			}
		}
		p.waitAccepting(t, "127.0.0.1:1883", 5*time.Second).Close()
		if code := p.stop(t, 5*time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d, want 0", code)
		}
	})
}

// logsListening reports whether the log has an "mqtt listening" line for
// an address ending in port, whatever the wildcard host looks like.
func logsListening(log, port string) bool {
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "mqtt listening") && strings.HasSuffix(line, port) {
			return true
		}
	}
	return false
}
