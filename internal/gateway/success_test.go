package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
)

// A session Stripe does not know is said to be unknown, not "processing":
// that page would refresh forever.
func TestSuccessUnknownSession(t *testing.T) {
	f := newFixture(t, fixtureOpts{api: stripefake.New()}) // it knows no session
	w := newBrowser().do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/success?session_id=cs_nope", nil))
	body := w.Body.String()
	if w.Code != http.StatusNotFound || !strings.Contains(body, "Unknown payment") || strings.Contains(body, "processing") {
		t.Fatalf("unknown session: %d\n%s", w.Code, body)
	}
}
