package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// visit opens target (a path on the demo site, or a full URL), waits for
// sel and runs the accessibility check on the page.
func (b *browserRun) visit(name, target, sel string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.url + target
	}
	b.do("opening "+name, chromedp.Navigate(target), chromedp.WaitVisible(chromedp.CSS(sel)))
	checkA11y(b.t, b.ctx, name)
}

// clickTo clicks sel, waits for next and runs the accessibility check on
// the page it leads to.
func (b *browserRun) clickTo(name, sel, next string) {
	b.t.Helper()
	b.do("opening "+name, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(next)))
	checkA11y(b.t, b.ctx, name)
}

// TestBrowserAccessibility walks through every page the demo serves, the
// paywall's and the Stripe stand-in's, and runs axe-core on each at 1280
// and 375 px (checkA11y). A page added later belongs here too.
func TestBrowserAccessibility(t *testing.T) {
	b := startBrowserDemo(t, "alice")

	b.visit("demo home", "/", `a[href="/premium/first-article"]`)
	b.clickTo("pay", `a[href="/premium/first-article"]`, "#pay-pro")
	b.visit("pay, two products", "/paywall/pay?product=pro&product=club&return_to=%2Fpremium%2Ffirst-article", "#pay-club")

	// Error pages, before alice has paid anything.
	b.visit("error: unknown product", "/paywall/pay?product=nope", "main h1")
	wantContains(t, "unknown product page", b.text("main h1"), "Unknown product")
	b.visit("error: portal without a billing account", "/paywall/portal", "main h1")
	wantContains(t, "portal page", b.text("main h1"), "No billing account yet")
	b.visit("error: unknown payment", "/paywall/success?session_id=nope", "main h1")
	b.visit("error: no such paywall page", "/paywall/nope", "main h1")

	// The stand-in's checkout, then cancel.
	b.visit("pay", "/paywall/pay?product=pro&return_to=%2Fpremium%2Ffirst-article", "#pay-pro")
	b.clickTo("stand-in checkout (payment)", "#pay-pro", "#stub-pay")
	checkout := b.location()
	u, err := url.Parse(checkout)
	if err != nil {
		t.Fatal(err)
	}
	b.visit("stand-in: no such checkout", u.Scheme+"://"+u.Host+"/pay/cs_test_nope", "main h1")
	b.visit("stand-in checkout (payment)", checkout, "#stub-cancel")
	b.clickTo("cancel", "#stub-cancel", `a[href="/"]`)
	b.wantPath("/paywall/cancel", nil)

	// A bank transfer that fails.
	b.do("trying again", chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.ID("pay-pro")))
	b.do("to the checkout", chromedp.Click(chromedp.ID("pay-pro")), chromedp.WaitVisible(chromedp.ID("stub-pay")))
	checkout = b.location()
	b.clickTo("processing", `button[value="pay_delayed"]`, "#check-again")
	b.wantPath("/paywall/success", nil)
	b.visit("stand-in: payment processing", checkout, `button[value="settle"]`)
	b.clickTo("stand-in: payment failed", `button[value="fail"]`, "main a.button")
	wantContains(t, "failed page", b.text("main h1"), "Payment failed")

	// A bank transfer that settles.
	b.do("paying again", chromedp.Navigate(b.url+"/paywall/pay?product=pro&return_to=%2Fpremium%2Ffirst-article"),
		chromedp.WaitVisible(chromedp.ID("pay-pro")))
	b.do("to the checkout", chromedp.Click(chromedp.ID("pay-pro")), chromedp.WaitVisible(chromedp.ID("stub-pay")))
	checkout = b.location()
	b.do("paying by bank transfer", chromedp.Click(chromedp.CSS(`button[value="pay_delayed"]`)), chromedp.WaitVisible(chromedp.ID("check-again")))
	b.do("to the stand-in's page", chromedp.Navigate(checkout), chromedp.WaitVisible(chromedp.CSS(`button[value="settle"]`)))
	b.clickTo("demo: premium article", `button[value="settle"]`, "#gated-content")
	b.wantPath("/premium/first-article", nil)
	b.visit("stand-in: payment complete", checkout, "main a.button")

	// A subscription with no page to return to: the success page, then
	// the stand-in's billing portal.
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.visit("pay (subscription: two prices, a trial)", "/paywall/pay?product=club", `label[for="price-club-1"]`)
	b.clickTo("stand-in checkout (subscription with a trial)", "#pay-club", "#stub-pay")
	b.clickTo("success", "#stub-pay", "main a.button")
	b.wantPath("/paywall/success", nil)
	wantContains(t, "success page", b.text("main h1"), "Payment received")
	b.visit("stand-in: billing portal", "/paywall/portal", `button[value="cancel"]`)
	if strings.HasPrefix(b.location(), b.url+"/") {
		t.Fatalf("the portal is on the gateway (%s), want the Stripe stand-in", b.location())
	}
}

// TestBrowserProcessingPage: back from a bank transfer, the customer
// waits on the processing page. It does not reload itself; its script
// (allowed by the CSP) checks the status endpoint, and when the stand-in
// confirms the payment later it says so in its live region and takes the
// customer to the article.
func TestBrowserProcessingPage(t *testing.T) {
	b := startBrowserDemo(t, "alice")
	b.toPayPage("alice")
	b.toCheckout()
	checkout := b.location()
	b.do("paying by bank transfer",
		chromedp.Click(chromedp.CSS(`button[value="pay_delayed"]`)),
		chromedp.WaitVisible(chromedp.ID("check-again")),
	)
	b.wantPath("/paywall/success", nil)
	wantContains(t, "processing page", b.text("main"), "Your payment is processing", "can take a few days", "Check again")

	state, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]any](`new Promise(done => {
		const read = () => done({
			refresh: document.querySelector('meta[http-equiv]') !== null,
			note: !document.getElementById("payment-check-note").hidden,
			state: document.getElementById("payment-check").getAttribute("data-state"),
		});
		document.readyState === "complete" ? read() : addEventListener("load", read);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if state["refresh"] != false || state["note"] != true || state["state"] != "checking" {
		t.Fatalf("processing page: %v; want no meta refresh, and the script running (the CSP allows it)", state)
	}
	checkA11y(t, b.ctx, "processing")

	// What the live region says is kept across the navigation that follows.
	if err := chromedp.Do(b.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const live = document.getElementById("payment-check-status");
		new MutationObserver(() => sessionStorage.setItem("announced", live.textContent))
			.observe(live, {childList: true, characterData: true, subtree: true});
	})()`)); err != nil {
		t.Fatal(err)
	}

	// Days later, for all the page knows: the transfer settles.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(checkout, url.Values{"action": {"settle"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("settling on the stand-in: %s", resp.Status)
	}

	b.do("waiting to be taken to the article", chromedp.WaitVisible(chromedp.ID("gated-content")))
	b.wantPath("/premium/first-article", nil)
	wantContains(t, "gated page", b.text("#gated-content"), "alice", "pro")
	said, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`sessionStorage.getItem("announced") || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if said != "Payment confirmed, taking you back." {
		t.Fatalf("the live region said %q before moving on, want %q", said, "Payment confirmed, taking you back.")
	}
}
