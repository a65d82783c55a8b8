package stripeapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// A rate-limited client holds requests back in its own transport: at a
// rate of one request in 1000 s, the second cannot start before a
// deadline a minute away, so it fails at once without reaching Stripe.
// The plain client is not limited.
func TestRateLimitedClientWaitsForItsLimiter(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"price_pro","object":"price"}`))
	}))
	t.Cleanup(srv.Close)
	get := func(api API) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p := &stripe.PriceParams{}
		p.Context = ctx
		_, err := api.GetPrice("price_pro", p)
		return err
	}

	limited := NewRateLimited("sk_test_limit", srv.URL, 0.001)
	if err := get(limited); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if err := get(limited); err == nil || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("second request inside the limit: %v, want the limiter's refusal", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("Stripe saw %d requests, want 1", n)
	}

	plain := New("sk_test_limit", srv.URL)
	for range 3 {
		if err := get(plain); err != nil {
			t.Fatal(err)
		}
	}
	if n := hits.Load(); n != 4 {
		t.Fatalf("Stripe saw %d requests, want 4", n)
	}
}
