package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A user id longer than Stripe's client_reference_id (200 characters) gets
// a clear answer before anything is sent to Stripe; 200 still pays.
func TestUserTooLongForStripe(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ok := strings.Repeat("a", 200)
	long := strings.Repeat("é", 201) // characters, not bytes, are counted

	b := newBrowser()
	form := openPayPage(t, f, b, ok, "product=pro")
	form.Set("product", "pro")
	if w := b.do(t, f.endpoint(ok), postForm("http://shop.test/paywall/checkout", form)); w.Code != http.StatusSeeOther {
		t.Fatalf("200-character user: checkout %d %s", w.Code, w.Body)
	}
	sent := len(f.stripe.requests("/v1/checkout/sessions"))

	w := newBrowser().do(t, f.endpoint(long), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=pro", nil))
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "longer than the payment provider accepts") {
		t.Fatalf("pay page for a 201-character user: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), long) {
		t.Error("the page repeats the whole user id")
	}

	// A checkout posted anyway (a machine, a stale page) is refused the same way.
	r := postForm("http://shop.test/paywall/checkout", form)
	r.Header.Set("Accept", "application/json")
	w = b.do(t, f.endpoint(long), r)
	if w.Code != http.StatusUnprocessableEntity || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("machine checkout for a 201-character user: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != sent {
		t.Fatalf("%d checkout sessions created for a user Stripe cannot carry", n-sent)
	}
}
