package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A session Stripe does not know is said to be unknown, not "processing":
// that page would refresh forever.
func TestSuccessUnknownSession(t *testing.T) {
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such checkout.session: 'cs_nope'","param":"session"}}`))
	}))
	t.Cleanup(stripe.Close)
	f := newFixture(t, fixtureOpts{stripeURL: stripe.URL})
	w := newBrowser().do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/success?session_id=cs_nope", nil))
	body := w.Body.String()
	if w.Code != http.StatusNotFound || !strings.Contains(body, "Unknown payment") || strings.Contains(body, "processing") {
		t.Fatalf("unknown session: %d\n%s", w.Code, body)
	}
}
