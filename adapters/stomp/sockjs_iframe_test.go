package stomp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/igm/sockjs-go/v3/sockjs"
)

// TestSockJSIframePage: the page that SockJS's iframe transports load
// names the client script and is revalidated by its ETag. sockjs-go is
// the patched copy in third_party/, which fills the page in without
// text/template.
func TestSockJSIframePage(t *testing.T) {
	ts := startServer(t, withSockJS())
	url := "http://" + ts.addr("sockjs") + "/stomp/iframe.html"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := `<script src="` + sockjs.DefaultOptions.SockJSURL + `"></script>`; !strings.Contains(string(body), want) {
		t.Fatalf("the page does not load the client with %s:\n%s", want, body)
	}
	if strings.Contains(string(body), "{{") {
		t.Fatalf("the page is not filled in:\n%s", body)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("with If-None-Match %s: status %d, want 304", etag, resp.StatusCode)
	}
}
