package testbroker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the mqgate binary Main built.
var binary string

// Main builds ./cmd/mqgate of the module the calling test belongs to, runs
// the tests and removes the binary; MQGATE_TEST_BINARY names a binary to
// run instead (a release build). With MQGATE_TEST_GOARCH (and
// MQGATE_TEST_GOARM) set it builds for that architecture, and Start runs the
// binary through MQGATE_TEST_EXEC, e.g. qemu-arm. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testbroker.Main(m)) }
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mqgate-testbroker-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbroker:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbroker:", err)
		return 1
	}
	binary = bin
	return m.Run()
}

// Binary is the mqgate binary the tests run.
func Binary() string { return binary }

// build compiles ./cmd/mqgate into dir.
func build(dir string) (string, error) {
	if prebuilt := os.Getenv("MQGATE_TEST_BINARY"); prebuilt != "" {
		return prebuilt, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	bin := filepath.Join(dir, "mqgate")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mqgate")
	build.Dir = filepath.Dir(gomod)
	if arch := os.Getenv("MQGATE_TEST_GOARCH"); arch != "" {
		// A broker for another architecture, run under MQGATE_TEST_EXEC
		// (qemu-user): the tests themselves stay native.
		build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "GOARM="+os.Getenv("MQGATE_TEST_GOARM"), "CGO_ENABLED=0")
	}
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mqgate: %w\n%s", err, out)
	}
	return bin, nil
}

// startTimeout bounds how long mqgate may take to log and open its
// listeners, and how long it may take to exit after SIGTERM.
const startTimeout = 20 * time.Second

var listeningRE = regexp.MustCompile(`msg="(?:mqtt|stomp) listening".* listener=(\w+) .*addr=127\.0\.0\.1:(\d+)`)

// Process is one running mqgate.
type Process struct {
	cmd     *exec.Cmd
	log     *lineLog
	ports   map[string]int // by listener name; written only before Start returns
	exited  chan struct{}
	exitErr error // valid once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start runs mqgate with the config file cfgPath and waits until every
// named MQTT listener has logged its loopback address and accepts TCP
// connections. The config should bind them to 127.0.0.1:0. A cleanup stops
// the process unless the test did, failing the test unless the exit status
// is 0, and prints mqgate's log when the test failed.
func Start(t *testing.T, cfgPath string, listeners ...string) *Process {
	t.Helper()
	if binary == "" {
		t.Fatal("testbroker: TestMain must call testbroker.Main")
	}
	cmd := exec.Command(binary, "run", "-c", cfgPath)
	if wrapper := os.Getenv("MQGATE_TEST_EXEC"); wrapper != "" {
		cmd = exec.Command(wrapper, binary, "run", "-c", cfgPath)
	}
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mqgate: %v", err)
	}
	p := &Process{cmd: cmd, log: &lineLog{}, ports: map[string]int{}, exited: make(chan struct{})}
	type listening struct {
		name string
		port int
	}
	found := make(chan listening, 16)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.log.add(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				var port int
				fmt.Sscan(m[2], &port)
				select {
				case found <- listening{m[1], port}:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned // Wait must not run before the pipe has been read to EOF.
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		err := p.Stop()
		<-p.exited
		if err != nil {
			t.Errorf("%v\nmqgate log:\n%s", err, p.log)
		} else if t.Failed() {
			t.Logf("mqgate log:\n%s", p.log)
		}
	})

	deadline := time.After(startTimeout)
	for !p.listening(listeners) {
		select {
		case l := <-found:
			p.ports[l.name] = l.port
		case <-p.exited:
			p.stopOnce.Do(func() {}) // nothing left to stop
			t.Fatalf("mqgate exited before listening: %v\nmqgate log:\n%s", p.exitErr, p.log)
		case <-deadline:
			t.Fatalf("mqgate did not log listeners %v within %v\nmqgate log:\n%s", listeners, startTimeout, p.log)
		}
	}
	for _, name := range listeners {
		waitAccepting(t, p.Addr(name), 10*time.Second)
	}
	return p
}

// Pid is the process id of mqgate, or of the emulator running it.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

func (p *Process) listening(names []string) bool {
	for _, n := range names {
		if p.ports[n] == 0 {
			return false
		}
	}
	return true
}

// Port is the port of the named listener Start waited for.
func (p *Process) Port(listener string) int { return p.ports[listener] }

// Addr is host:port of the named listener Start waited for.
func (p *Process) Addr(listener string) string {
	return fmt.Sprintf("127.0.0.1:%d", p.ports[listener])
}

// Log is everything mqgate wrote to stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Stop sends SIGTERM and waits for mqgate to exit; it reports an error
// unless the exit status is 0. Later calls return the first call's result;
// after Kill, Stop does nothing.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			p.stopErr = fmt.Errorf("SIGTERM mqgate: %w", err)
			return
		}
		select {
		case <-p.exited:
			if p.exitErr != nil {
				p.stopErr = fmt.Errorf("mqgate did not exit 0 after SIGTERM: %w", p.exitErr)
			}
		case <-time.After(startTimeout):
			p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("mqgate still running %v after SIGTERM; killed", startTimeout)
		}
	})
	return p.stopErr
}

// Kill sends SIGKILL, so no shutdown code runs, and returns at once; Wait
// reports the exit.
func (p *Process) Kill() {
	p.stopOnce.Do(func() { p.cmd.Process.Kill() })
}

// Wait waits for mqgate to exit and returns its exit status.
func (p *Process) Wait() error {
	<-p.exited
	return p.exitErr
}

// waitAccepting polls addr until a TCP connection succeeds or timeout passes.
func waitAccepting(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not accepting after %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// lineLog collects lines written by one goroutine and read by others.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
