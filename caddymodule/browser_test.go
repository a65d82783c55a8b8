package caddymodule

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/caddy-paywall/caddy-paywall/internal/demo"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// browserTimeout bounds each browser test as a whole: starting Chromium,
// every page and every wait.
const browserTimeout = 60 * time.Second

// screenshotPath is the one-price pay page's screenshot (the README shows
// the two-price one, see browser_selling_test.go). It is
// written when PAYWALL_UPDATE_SCREENSHOT=1 or when it does not exist yet, so
// an ordinary test run never dirties the tree.
var screenshotPath = filepath.Join("..", "docs", "pay-page.png")

// browserRun is the offline demo behind a real Caddy in this process, and a
// headless Chromium tab logged in to it.
type browserRun struct {
	t   *testing.T
	ctx context.Context
	url string // the demo site, http://127.0.0.1:PORT

	mu        sync.Mutex
	documents []string // every document request the tab made, redirects included
}

// startBrowserDemo starts the demo (embedded Redis, the Stripe stand-in, the
// small site, Caddy with the paywall) and a headless Chromium whose every
// request carries the basic_auth login of user.
func startBrowserDemo(t *testing.T, user string) *browserRun {
	t.Helper()
	chromium := findChromium(t)

	port := testenv.FreePort(t)
	d, err := demo.Start(demo.Options{Listen: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	t.Cleanup(d.Close)
	startCaddy(t, d.Caddyfile) // stopped (cleanup) before the demo's parts
	testenv.WaitHTTP(t, d.URL+"/")

	// One deadline for everything, the browser's life included.
	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancelTimeout)

	var output lockedBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), // removed after the browser has exited
		chromedp.WindowSize(1000, 760),
		chromedp.CombinedOutput(&output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, opts...)
	t.Cleanup(cancelAlloc) // waits for the browser process to exit
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})

	b := &browserRun{t: t, ctx: ctx, url: d.URL}
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("starting %s: %v", chromium, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok && ev.Type == network.ResourceTypeDocument {
			b.mu.Lock()
			b.documents = append(b.documents, ev.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+demo.Users[user]))
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatalf("setting the Authorization header: %v", err)
	}
	return b
}

// findChromium finds Debian's chromium (testenv.Binary: a missing
// browser fails the test, never skips it).
func findChromium(t *testing.T) string {
	t.Helper()
	return testenv.Binary(t, "chromium")
}

// do runs actions in the tab and fails the test with what it was doing.
func (b *browserRun) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

// text is the visible text of the first element that sel matches.
func (b *browserRun) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v (at %s)", sel, err, b.location())
	}
	return s
}

// location is the tab's URL, or why it cannot be read.
func (b *browserRun) location() string {
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		return "unknown location: " + err.Error()
	}
	return loc
}

// wantPath checks that the tab is on this site at path (and query, when
// wantQuery is set).
func (b *browserRun) wantPath(path string, wantQuery url.Values) {
	b.t.Helper()
	loc := b.location()
	u, err := url.Parse(loc)
	if err != nil || u.Scheme+"://"+u.Host != b.url || u.Path != path {
		b.t.Fatalf("at %s, want %s%s", loc, b.url, path)
	}
	for k := range wantQuery {
		if got := u.Query().Get(k); got != wantQuery.Get(k) {
			b.t.Fatalf("at %s: %s=%q, want %q", loc, k, got, wantQuery.Get(k))
		}
	}
}

// visited reports whether the tab requested a document on this site at path.
func (b *browserRun) visited(path string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.documents {
		if u, err := url.Parse(d); err == nil && u.Scheme+"://"+u.Host == b.url && u.Path == path {
			return true
		}
	}
	return false
}

func (b *browserRun) history() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.documents, "\n  ")
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// toPayPage opens the public page, follows the first premium article's link
// and checks that the paywall's pay page names the product, its price and
// who pays.
func (b *browserRun) toPayPage(user string) {
	t := b.t
	t.Helper()
	b.do("opening the public page",
		chromedp.Navigate(b.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/premium/first-article"]`)),
	)
	b.do("following the premium article's link",
		chromedp.Click(chromedp.CSS(`a[href="/premium/first-article"]`)),
		chromedp.WaitVisible(chromedp.ID("pay-pro")),
	)
	b.wantPath("/paywall/pay", url.Values{"product": {"pro"}, "return_to": {"/premium/first-article"}})
	wantContains(t, "pay page heading", b.text("main h1"), "Payment required")
	b.do("waiting for the price", chromedp.WaitVisible(chromedp.CSS(".product .price")))
	wantContains(t, "pay page product", b.text(".product"), "Pro articles", "€9")
	wantContains(t, "pay page button", b.text("#pay-pro"), "Pro articles")
	wantContains(t, "pay page user", b.text("header .who"), user)
}

// toCheckout clicks Pay on the pay page and checks the stand-in's hosted
// checkout page.
func (b *browserRun) toCheckout() {
	t := b.t
	t.Helper()
	b.do("clicking Pay", chromedp.Click(chromedp.ID("pay-pro")), chromedp.WaitVisible(chromedp.ID("stub-pay")))
	loc := b.location()
	if strings.HasPrefix(loc, b.url+"/") {
		t.Fatalf("the checkout page is on the gateway (%s), want the Stripe stand-in", loc)
	}
	wantContains(t, "checkout page", b.text("main"), "Pro articles", "9.00")
	b.do("waiting for Cancel", chromedp.WaitVisible(chromedp.ID("stub-cancel")))
}

func TestBrowserPaidFlow(t *testing.T) {
	b := startBrowserDemo(t, "alice")
	b.toPayPage("alice")

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot of the pay page: %v", err)
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(shot))
	}
	path := filepath.Join(t.TempDir(), "pay-page.png")
	if _, err := os.Stat(screenshotPath); os.Getenv("PAYWALL_UPDATE_SCREENSHOT") == "1" || os.IsNotExist(err) {
		path = screenshotPath
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatalf("writing the screenshot: %v", err)
	}
	t.Logf("pay page screenshot: %s (%d bytes)", path, len(shot))

	b.toCheckout()
	b.do("paying on the stand-in",
		chromedp.Click(chromedp.ID("stub-pay")),
		chromedp.WaitVisible(chromedp.ID("gated-content")),
	)
	b.wantPath("/premium/first-article", nil)
	if !b.visited("/paywall/success") {
		t.Fatalf("the way back did not pass /paywall/success; documents:\n  %s", b.history())
	}
	wantContains(t, "gated page", b.text("#gated-content"), "alice", "pro")

	// Paid once, she reads the other article without paying again.
	b.do("opening another premium article",
		chromedp.Navigate(b.url+"/premium/second-article"),
		chromedp.WaitVisible(chromedp.ID("gated-content")),
	)
	b.wantPath("/premium/second-article", nil)
	wantContains(t, "second gated page", b.text("#gated-content"), "alice", "pro")
}

func TestBrowserCancel(t *testing.T) {
	b := startBrowserDemo(t, "alice")
	b.toPayPage("alice")
	b.toCheckout()

	b.do("cancelling on the stand-in",
		chromedp.Click(chromedp.ID("stub-cancel")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/"]`)),
	)
	b.wantPath("/paywall/cancel", url.Values{"product": {"pro"}})
	wantContains(t, "cancel page heading", b.text("main h1"), "Nothing was charged")
	wantContains(t, "cancel page", b.text("main"), "Pro articles", "no money was taken")
	wantContains(t, "cancel page user", b.text("header .who"), "alice")

	// Try again leads back to the pay page: nothing was granted.
	b.do("trying again",
		chromedp.Click(chromedp.CSS(`a.button`)),
		chromedp.WaitVisible(chromedp.ID("pay-pro")),
	)
	b.wantPath("/paywall/pay", url.Values{"product": {"pro"}, "return_to": {"/premium/first-article"}})

	// The article is still gated, and the link back leads to the site.
	b.do("opening the article again",
		chromedp.Navigate(b.url+"/premium/first-article"),
		chromedp.WaitVisible(chromedp.ID("pay-pro")),
	)
	b.do("back to the site from the cancel page",
		chromedp.Navigate(b.url+"/paywall/cancel?product=pro"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/premium/first-article"]`)),
	)
	b.wantPath("/", nil)
}

// lockedBuffer collects the browser's output, written from another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
