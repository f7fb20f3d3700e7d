package mqttsn

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
)

func TestUDPSocketBuffers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads net.core.rmem_max and wmem_max")
	}
	sysctl := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/core/" + name)
		if err != nil {
			t.Skip(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	rmax, wmax := sysctl("rmem_max"), sysctl("wmem_max")
	tests := []struct {
		name    string
		size    int
		wantRcv int
		wantSnd int
	}{
		// Smaller than any OS default: proves the buffers are set.
		{"an explicit socket_buffer", 48 << 10, 48 << 10, 48 << 10},
		{"the 4 MiB default, capped by the kernel", 0, min(4<<20, rmax), min(4<<20, wmax)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, func(_ *core.Config, c *Config) { c.Listeners[0].SocketBuffer = tt.size })
			e.gw.mu.Lock()
			sock := e.gw.listeners[0].udp
			e.gw.mu.Unlock()
			rcv, snd, err := socketBuffers(sock)
			if err != nil {
				t.Fatal(err)
			}
			if rcv != tt.wantRcv || snd != tt.wantSnd {
				t.Fatalf("receive %d send %d, want %d and %d", rcv, snd, tt.wantRcv, tt.wantSnd)
			}
		})
	}
}
