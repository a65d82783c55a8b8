// Package stripeapi is the paywall's way to Stripe: API, the few calls it
// makes, and Client, the stripe-go client behind it that each paywall
// instance owns. Nothing here touches stripe-go's package-level globals,
// so several sites and config reloads each keep their own key and base URL.
package stripeapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"golang.org/x/time/rate"
)

// New returns a client for key. apiURL overrides https://api.stripe.com
// (stripe-mock, the offline stand-in); "" keeps Stripe's.
func New(key, apiURL string) *Client {
	return newClient(key, apiURL, &http.Client{Timeout: 20 * time.Second})
}

// NewRateLimited is New with at most perSecond requests a second, for
// batch work (reconcile) that must stay inside Stripe's rate limits (25/s
// in test mode).
func NewRateLimited(key, apiURL string, perSecond float64) *Client {
	lim := rate.NewLimiter(rate.Limit(perSecond), 1)
	return newClient(key, apiURL, &http.Client{
		Timeout:   20 * time.Second,
		Transport: limited{lim: lim, next: http.DefaultTransport},
	})
}

type limited struct {
	lim  *rate.Limiter
	next http.RoundTripper
}

func (l limited) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := l.lim.Wait(r.Context()); err != nil {
		return nil, err
	}
	return l.next.RoundTrip(r)
}

func newClient(key, apiURL string, hc *http.Client) *Client {
	cfg := &stripe.BackendConfig{
		HTTPClient:        hc,
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if apiURL != "" {
		cfg.URL = stripe.String(strings.TrimRight(apiURL, "/"))
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	return Wrap(client.New(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend}))
}

// LiveMode reports whether key is a live-mode key (sk_live_, rk_live_).
func LiveMode(key string) bool {
	return strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
}

// IsStandIn reports whether apiURL points somewhere other than Stripe's
// own API (stripe-mock, the offline stand-in): pages then do not claim
// that Stripe takes the payment.
func IsStandIn(apiURL string) bool {
	if apiURL == "" {
		return false
	}
	u, err := url.Parse(apiURL)
	return err != nil || !strings.EqualFold(u.Hostname(), "api.stripe.com")
}
