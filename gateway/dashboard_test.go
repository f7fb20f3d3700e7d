package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/httpapi"
)

// TestDashboardInABrowser drives Debian's chromium headless through the
// dashboard: it signs in with a username and password, sees a client the
// test connected, kicks it, publishes a message the test's MQTT client
// receives, and sees a message the test publishes in the live view. With
// MQGATE_SCREENSHOT set it saves a screenshot there (docs/dashboard.png).
// Then it signs out, which revokes its token, and signs in with an API
// key.
func TestDashboardInABrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	dir := t.TempDir()
	keyFile, usersFile := filepath.Join(dir, "api_keys"), filepath.Join(dir, "dashboard_users")
	secret, err := httpapi.CreateKey(keyFile, "ops")
	if err != nil {
		t.Fatal(err)
	}
	// As mqgate passwd -f FILE admin writes it.
	if err := auth.SetPassword(usersFile, "admin", "correct horse", bcrypt.DefaultCost); err != nil {
		t.Fatal(err)
	}
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0", api_key_file: %q, users_file: %q},
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}, {name: ws, type: ws, address: "127.0.0.1:0"}]},
bridges: [{name: cloud, address: %q, rules: [{direction: out, local: "dash/up/#"}]}]}`, keyFile, usersFile, freeAddr(t)))
	_, _, lost := mqttClient(t, g, "victim", "", false)
	listener, msgs, _ := mqttClient(t, g, "listener", "", true)
	if tok := listener.Subscribe("dash/in", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("no-proxy-server", true), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	base := "http://" + g.HTTPAddr().String()
	victimRow := `#clients tr[data-clientid="victim"]`
	// The first action starts the browser on ctx; a context derived from
	// it and cancelled would close the browser with it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	for i, step := range []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse"),
		chromedp.Click(chromedp.CSS(`#login-button`)),
		chromedp.WaitVisible(chromedp.CSS(victimRow)),
	} {
		sctx, cancelStep := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Do(sctx, step)
		cancelStep()
		if err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[document.readyState, document.getElementById("login").hidden, document.getElementById("app").hidden, document.getElementById("login-error").textContent, typeof MiniMQTT].join("|")`))
			t.Fatalf("sign in and see the client, step %d: %v (page: %s)", i, err, state)
		}
	}

	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#bridges tbody").textContent.includes("cloud")`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the bridge is not listed: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(victimRow+` button.kick`))); err != nil {
		t.Fatalf("kick: %v", err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the client kicked from the dashboard is still connected")
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#pub-topic`), "dash/in"),
		chromedp.SendKeys(chromedp.CSS(`#pub-payload`), "from-the-browser"),
		chromedp.Click(chromedp.CSS(`#pub-send`)),
	); err != nil {
		t.Fatalf("publish form: %v", err)
	}
	if m := receive(t, msgs); m.Topic() != "dash/in" || string(m.Payload()) != "from-the-browser" {
		t.Errorf("the MQTT client got %s=%s", m.Topic(), m.Payload())
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#live-filter`), "dash/live/#"),
		chromedp.Click(chromedp.CSS(`#live-sub`)),
	); err != nil {
		t.Fatalf("live view subscribe: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("live-status").textContent === "subscribed"`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live-status`)))
		t.Fatalf("the live view did not subscribe: %v (status %q)", err, status)
	}
	if tok := listener.Publish("dash/live/temp", 0, false, "21.5"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("live-messages").textContent.includes("dash/live/temp: 21.5")`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the live view did not show the message the test published: %v", err)
	}

	if path := os.Getenv("MQGATE_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	token, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("mqgate-authorization")`))
	if err != nil || !strings.HasPrefix(token, "Bearer ") || strings.Contains(token, ".") {
		t.Fatalf("the page holds %q, %v; want a bearer login token", token, err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#whoami`))); who != "admin" {
		t.Errorf("the header names %q, want admin", who)
	}
	sctx, cancelStep := context.WithTimeout(ctx, 10*time.Second)
	err = chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`#logout`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#app`)),
	)
	cancelStep()
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if code, _ := httpDo(t, http.DefaultClient, "GET", base+"/api/v1/status", func(r *http.Request) { r.Header.Set("Authorization", token) }, ""); code != 401 {
		t.Fatalf("after signing out the token still calls the API: %d", code)
	}
	for i, step := range []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`#key-login summary`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), "ops:"+secret),
		chromedp.Click(chromedp.CSS(`#key-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#clients tr[data-clientid="listener"]`)),
	} {
		sctx, cancelStep := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Do(sctx, step)
		cancelStep()
		if err != nil {
			t.Fatalf("sign in with an API key, step %d: %v", i, err)
		}
	}
}
