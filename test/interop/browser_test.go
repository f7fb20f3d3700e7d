package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mqgate/mqgate/internal/testbroker"
)

// requireChromium returns the path of Debian's chromium, skipping (or
// failing in CI) without it.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed (run scripts/test-deps.sh)")
	}
	t.Skip("chromium not installed; run scripts/test-deps.sh")
	return ""
}

// TestBrowserStompOverSockJS loads testdata/browser/stomp.html in
// headless chromium: the page connects to mqgate with stompjs over
// SockJS from another origin (allowed by allowed_origins), receives what
// mosquitto_pub publishes and sends a message mosquitto_sub receives.
func TestBrowserStompOverSockJS(t *testing.T) {
	chromium := requireChromium(t)
	requireStompJS(t)

	// The page and the npm bundles come from a server of their own: its
	// origin is not mqgate's.
	mux := http.NewServeMux()
	mux.Handle("/js/", http.StripPrefix("/js/", http.FileServer(http.Dir("node_modules"))))
	mux.HandleFunc("/stomp.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "..", "testdata", "browser", "stomp.html"))
	})
	page := httptest.NewServer(mux)
	defer page.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "mqgate.yaml")
	data := brokerConfig + fmt.Sprintf(`
stomp:
  enabled: true
  listeners:
    - {name: sockjs, type: sockjs, address: "127.0.0.1:0", path: /stomp, allowed_origins: [%q]}
storage: {dir: %q}
`, page.URL, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testbroker.Start(t, cfg, "tcp", "ws", "sockjs")
	b := &broker{Process: p, TCPPort: p.Port("tcp"), WSPort: p.Port("ws")}
	m := newMosquitto(t, b, "311")
	sub := m.subscribe(t, "-q", "1", "-t", "browser/out", "-C", "1")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// The browser lives as long as the context of the first call: no
	// timeout on that one, one on each wait.
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	wait := func(sel string) string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		text, err := chromedp.Run(wctx, chromedp.Text(sel, chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("waiting for %s: %v", sel, err)
		}
		return text
	}

	q := url.Values{"url": {fmt.Sprintf("http://%s/stomp", net.JoinHostPort("127.0.0.1", fmt.Sprint(p.Port("sockjs"))))},
		"in": {"browser/in"}, "out": {"browser/out"}}
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL+"/stomp.html?"+q.Encode())); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	wait("#subscribed")
	wait("#sent")
	sub.expect(t, "browser/out", 1, false, "hello from the page")

	m.publish(t, "-q", "1", "-t", "browser/in", "-m", "hello from mosquitto_pub")
	if got := wait("#received"); got != "hello from mosquitto_pub" {
		t.Fatalf("page received %q", got)
	}
}
