package caddymodule

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// sellingScreenshots are the pay page of a product with two prices and a
// trial, at a desktop and a phone width, as the README shows them. Like
// the pay page's, they are written when PAYWALL_UPDATE_SCREENSHOT=1 or
// when they do not exist yet.
var sellingScreenshots = []struct {
	path          string
	width, height int64
}{
	{filepath.Join("..", "docs", "pay-page-1280.png"), 1280, 800},
	{filepath.Join("..", "docs", "pay-page-375.png"), 375, 812},
}

// TestBrowserPricesAndTrial: the demo's club has a monthly and a yearly
// price and a 14-day trial. The pay page offers both, with the trial; the
// visitor picks the yearly one, starts the trial on the stand-in, and is
// let in at once.
func TestBrowserPricesAndTrial(t *testing.T) {
	b := startBrowserDemo(t, "bob")
	b.do("opening a club page",
		chromedp.Navigate(b.url+"/club/lounge"),
		chromedp.WaitVisible(chromedp.ID("pay-club")),
	)
	b.wantPath("/paywall/pay", url.Values{"product": {"club"}, "return_to": {"/club/lounge"}})
	b.do("waiting for the prices", chromedp.WaitVisible(chromedp.CSS(`label[for="price-club-1"]`)))
	wantContains(t, "pay page product", b.text(".product"), "Members' club", "every page under /club/",
		"Choose how to pay", "14 days free, then $5 a month", "14 days free, then $50 a year",
		"Cancel before the trial ends and you pay nothing")
	wantContains(t, "pay page button", b.text("#pay-club"), "Start the free trial of Members' club")
	b.screenshots()

	b.do("choosing the yearly price",
		chromedp.Click(chromedp.CSS(`label[for="price-club-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#price-club-1:checked`)),
	)
	b.do("starting the trial", chromedp.Click(chromedp.ID("pay-club")), chromedp.WaitVisible(chromedp.ID("stub-pay")))
	wantContains(t, "checkout page", b.text("main"), "Members' club", "$50.00 per year", "14 days free", "$0.00")
	b.do("confirming on the stand-in",
		chromedp.Click(chromedp.ID("stub-pay")),
		chromedp.WaitVisible(chromedp.ID("gated-content")),
	)
	b.wantPath("/club/lounge", nil)
	wantContains(t, "club page", b.text("#gated-content"), "bob", "club")
}

// screenshots writes sellingScreenshots of the page the tab is on.
func (b *browserRun) screenshots() {
	t := b.t
	t.Helper()
	for _, s := range sellingScreenshots {
		b.do("resizing to "+filepath.Base(s.path), chromedp.EmulateViewport(s.width, s.height))
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", filepath.Base(s.path), err)
		}
		if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("the screenshot is not a PNG (%d bytes)", len(shot))
		}
		path := filepath.Join(t.TempDir(), filepath.Base(s.path))
		if _, err := os.Stat(s.path); os.Getenv("PAYWALL_UPDATE_SCREENSHOT") == "1" || os.IsNotExist(err) {
			path = s.path
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatalf("writing the screenshot: %v", err)
		}
		t.Logf("pay page screenshot: %s (%d bytes)", path, len(shot))
	}
	b.do("back to the test's window size", chromedp.EmulateViewport(1000, 760))
}
