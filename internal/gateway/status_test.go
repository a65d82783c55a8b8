package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
)

// TestStatusEndpoint follows a delayed payment as the processing page's
// script sees it: processing until the bank transfer settles, then paid;
// the status endpoint grants nothing itself.
func TestStatusEndpoint(t *testing.T) {
	stub := stripestub.New(stripestub.Config{Prices: []stripestub.Price{
		{ID: "price_pro", ProductName: "Pro articles", UnitAmount: 900, Currency: "eur"},
	}})
	stubURL, stop, err := stub.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	f := newFixture(t, fixtureOpts{stripeURL: stubURL})

	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String("payment"),
		ClientReferenceID: stripe.String("alice"),
		SuccessURL:        stripe.String("http://shop.test/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:         stripe.String("http://shop.test/paywall/cancel"),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_pro"), Quantity: stripe.Int64(1)}},
		Metadata:          map[string]string{"paywall_user": "alice", "paywall_product": "pro"},
	}
	cs, err := stripeapi.New("sk_test_123", stubURL).CreateCheckoutSession(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := stub.PayDelayed(cs.ID); err != nil {
		t.Fatal(err)
	}

	status := func(user, query string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		f.endpoint(user)(w, httptest.NewRequest(http.MethodGet, "/paywall/status"+query, nil))
		return w
	}
	wantState := func(want string) {
		t.Helper()
		w := status("alice", "?session_id="+cs.ID)
		var body struct{ State string }
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.State != want {
			t.Fatalf("status: %d %s, want 200 with state %q", w.Code, w.Body, want)
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	}

	wantState("processing")

	// The success page shows the processing page, whose script asks here.
	w := httptest.NewRecorder()
	f.endpoint("alice")(w, httptest.NewRequest(http.MethodGet, "/paywall/success?session_id="+cs.ID, nil))
	page := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(page, `data-status-url="/paywall/status?session_id=`+cs.ID+`"`) ||
		!strings.Contains(page, "Check again") || strings.Contains(page, "http-equiv") {
		t.Fatalf("success while processing: %d\n%s", w.Code, page)
	}

	if err := stub.SettleDelayed(cs.ID, true); err != nil {
		t.Fatal(err)
	}
	wantState("paid")
	ents, err := f.store.Entitlements(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents.Grants) != 0 {
		t.Fatalf("the status endpoint granted %v; only the success page and the webhook grant", ents.Grants)
	}

	for _, c := range []struct {
		user, query string
		code        int
	}{
		{"bob", "?session_id=" + cs.ID, http.StatusForbidden},
		{"", "?session_id=" + cs.ID, http.StatusUnauthorized},
		{"alice", "", http.StatusBadRequest},
		{"alice", "?session_id=pi_123", http.StatusBadRequest},
	} {
		w := status(c.user, c.query)
		if w.Code != c.code || w.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(w.Body.String(), "state") {
			t.Errorf("user %q, %q: %d %s %s, want %d problem+json", c.user, c.query, w.Code, w.Header().Get("Content-Type"), w.Body, c.code)
		}
	}
	w = httptest.NewRecorder()
	f.endpoint("alice")(w, httptest.NewRequest(http.MethodPost, "/paywall/status?session_id="+cs.ID, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
}
