package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clientTimeout bounds every client process a test runs.
const clientTimeout = 30 * time.Second

// requireTool returns the path of an external client, skipping the test when
// it is missing on a developer's machine and failing it in CI, where
// scripts/test-deps.sh must have installed it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (run scripts/test-deps.sh): %v", name, err)
		}
		t.Skipf("%s not found; run scripts/test-deps.sh: %v", name, err)
	}
	return path
}

// runTool runs a client to completion and returns its stdout. A non-zero exit
// fails the test with the client's output.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runToolErr(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// runToolErr runs a client to completion and returns its combined output and
// exit error.
func runToolErr(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}

// proc is a client that keeps running while the test drives the broker; its
// stdout arrives line by line.
type proc struct {
	name  string
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	err   error // exit status, valid once done is closed
	trace *syncBuffer
}

// startProc starts a long-running client. Its context timeout and a cleanup
// guarantee that it never outlives the test.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, lines: make(chan string, 256), done: make(chan struct{}), trace: &syncBuffer{}}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 8<<20) // hex payloads of large messages
		for sc.Scan() {
			p.trace.WriteLine(sc.Text())
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel() // kills the process if it is still running
		for range p.lines {
		}
		<-p.done
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), p.trace)
		}
	})
	return p
}

// waitLine reads lines until match accepts one, failing the test when the
// process ends or the timeout passes first.
func (p *proc) waitLine(t *testing.T, timeout time.Duration, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				t.Fatalf("%s ended (%v) before %s; output:\n%s", p.name, p.err, what, p.trace)
			}
			if match(line) {
				return line
			}
		case <-deadline:
			t.Fatalf("%s: no %s within %v; output:\n%s", p.name, what, timeout, p.trace)
		}
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s still running after %v; output:\n%s", p.name, timeout, p.trace)
		return nil
	}
}

// kill sends SIGKILL, so the client gets no chance to say DISCONNECT.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// syncBuffer collects lines written by one goroutine and read by others.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) WriteLine(line string) {
	s.mu.Lock()
	s.buf.WriteString(line)
	s.buf.WriteByte('\n')
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
