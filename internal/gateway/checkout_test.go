package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var hiddenInput = regexp.MustCompile(`name="(csrf_token|nonce|return_to)"\s+value="([^"]*)"`)

// openPayPage loads the pay page as user and returns the form's hidden
// fields.
func openPayPage(t *testing.T, f *fixture, b *browser, user, query string) url.Values {
	t.Helper()
	w := b.do(t, f.endpoint(user), httptest.NewRequest(http.MethodGet, "/paywall/pay?"+query, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("pay page: %d %s", w.Code, w.Body)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(w.Body.String(), -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	if form.Get("csrf_token") == "" || form.Get("nonce") == "" {
		t.Fatalf("pay page has no CSRF token or nonce:\n%s", w.Body)
	}
	return form
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func TestCheckoutCreatesSession(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	form := openPayPage(t, f, b, "alice", "product=pro&return_to=%2Fpremium%2Fa%3Fb%3D1")
	if form.Get("return_to") != "/premium/a?b=1" {
		t.Fatalf("return_to on the form: %q", form.Get("return_to"))
	}
	form.Set("product", "pro")
	w := b.do(t, f.endpoint("alice"), postForm("http://shop.test/paywall/checkout", form))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "https://") {
		t.Fatalf("checkout redirects to %q, want the session's URL", loc)
	}
	reqs := f.stripe.requests("/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session creations, want 1", len(reqs))
	}
	got := reqs[0]
	want := map[string]string{
		"mode":                                           "payment",
		"client_reference_id":                            "alice",
		"line_items[0][price]":                           "price_pro",
		"line_items[0][quantity]":                        "1",
		"metadata[paywall_user]":                         "alice",
		"metadata[paywall_product]":                      "pro",
		"payment_intent_data[metadata][paywall_user]":    "alice",
		"payment_intent_data[metadata][paywall_product]": "pro",
		"success_url":                                    "http://shop.test/paywall/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":                                     "http://shop.test/paywall/cancel?product=pro",
	}
	for k, v := range want {
		if got.Form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Form.Get(k), v)
		}
	}
	if got.Form.Get("expires_at") == "" {
		t.Error("no expires_at")
	}
	if got.IdempotencyKey == "" {
		t.Error("no Idempotency-Key")
	}

	// The same page posted again (a double click) reuses the key; a new
	// page gets a new one.
	b.do(t, f.endpoint("alice"), postForm("http://shop.test/paywall/checkout", form))
	form2 := openPayPage(t, f, b, "alice", "product=pro")
	form2.Set("product", "pro")
	b.do(t, f.endpoint("alice"), postForm("http://shop.test/paywall/checkout", form2))
	reqs = f.stripe.requests("/v1/checkout/sessions")
	if len(reqs) != 3 || reqs[1].IdempotencyKey != reqs[0].IdempotencyKey || reqs[2].IdempotencyKey == reqs[0].IdempotencyKey {
		t.Fatalf("idempotency keys: %+v", reqs)
	}
}

func TestCheckoutSubscriptionMetadata(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	form := openPayPage(t, f, b, "alice", "product=course")
	form.Set("product", "course")
	if w := b.do(t, f.endpoint("alice"), postForm("/paywall/checkout", form)); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	got := f.stripe.requests("/v1/checkout/sessions")[0].Form
	if got.Get("mode") != "subscription" || got.Get("subscription_data[metadata][paywall_user]") != "alice" ||
		got.Get("subscription_data[metadata][paywall_product]") != "course" || got.Get("payment_intent_data[metadata][paywall_user]") != "" {
		t.Fatalf("subscription session params: %v", got)
	}
}

func TestCheckoutRefusals(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	cases := []struct {
		name   string
		change func(form url.Values, r *http.Request)
		status int
	}{
		{"no CSRF token", func(form url.Values, r *http.Request) {}, http.StatusForbidden},
		{"wrong CSRF token", func(form url.Values, r *http.Request) {}, http.StatusForbidden},
		{"cross-site fetch", func(form url.Values, r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"foreign origin", func(form url.Values, r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser()
			form := openPayPage(t, f, b, "alice", "product=pro")
			form.Set("product", "pro")
			switch c.name {
			case "no CSRF token":
				form.Del("csrf_token")
			case "wrong CSRF token":
				form.Set("csrf_token", "x"+form.Get("csrf_token"))
			}
			r := postForm("http://shop.test/paywall/checkout", form)
			c.change(form, r)
			w := b.do(t, f.endpoint("alice"), r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
		})
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != 0 {
		t.Fatalf("refused posts created %d sessions", n)
	}
}

// A token from another visitor's cookie does not work in mine.
func TestCheckoutTokenIsPerSession(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	form := openPayPage(t, f, newBrowser(), "alice", "product=pro")
	form.Set("product", "pro")
	mine := newBrowser()
	openPayPage(t, f, mine, "alice", "product=pro")
	if w := mine.do(t, f.endpoint("alice"), postForm("/paywall/checkout", form)); w.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", w.Code)
	}
}

func TestCheckoutAlreadyPaid(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	form := openPayPage(t, f, b, "alice", "product=pro&return_to=/premium/x")
	f.grant(t, "alice", "pro")
	form.Set("product", "pro")
	w := b.do(t, f.endpoint("alice"), postForm("/paywall/checkout", form))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/premium/x" {
		t.Fatalf("got %d %q, want 303 to /premium/x", w.Code, w.Header().Get("Location"))
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != 0 {
		t.Fatal("a paid user was sent to pay again")
	}
}

// A tampered session cookie reads as no session: its CSRF token and user
// are gone, so the checkout is refused and nothing reaches Stripe.
func TestCheckoutTamperedCookie(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	form := openPayPage(t, f, b, "alice", "product=pro")
	form.Set("product", "pro")
	for name, c := range b.cookies {
		v := []byte(c.Value)
		v[len(v)/2] ^= 0x01
		b.cookies[name].Value = string(v)
	}
	if w := b.do(t, f.endpoint("alice"), postForm("/paywall/checkout", form)); w.Code != http.StatusForbidden {
		t.Fatalf("tampered cookie: %d, want 403", w.Code)
	}
	// Without the user placeholder, the tampered cookie names nobody.
	if w := b.do(t, f.endpoint(""), postForm("/paywall/checkout", form)); w.Code != http.StatusFound {
		t.Fatalf("tampered cookie, no user: %d, want the login redirect", w.Code)
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != 0 {
		t.Fatalf("%d sessions created", n)
	}
}
