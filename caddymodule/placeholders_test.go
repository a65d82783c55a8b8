package caddymodule

import (
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// A passing request sets {http.paywall.user} and {http.paywall.products}
// as strings (whether the products value is boxed once at provisioning, for
// one product, or per request, for several) and the two upstream headers;
// its response is private.
func TestPassSetsPlaceholdersAndHeaders(t *testing.T) {
	redisURL := testenv.RedisURL(t)
	prefix := testenv.UniquePrefix()
	p := &Paywall{
		StripeSecretKey:      "sk_test_placeholders",
		StripeWebhookSecrets: []string{"whsec_placeholders"},
		StripeAPIURL:         "http://127.0.0.1:1", // closed: nothing here calls Stripe
		SessionSecret:        "placeholders-session-secret-of-32-chars",
		Redis:                redisURL,
		KeyPrefix:            prefix,
		User:                 "{http.request.header.X-User}",
		EntitlementCache:     &CacheConfig{Off: true}, // every request reads Redis: no wait for the subscription
		Products: catalog.Catalog{
			{ID: "pro", Name: "Pro", Price: "price_pro", Paths: []string{"/premium/*"}},
			{ID: "course", Name: "Course", Price: "price_course", Paths: []string{"/premium/course/*"}},
		},
	}
	provisioned(t, p)
	grantInRedis(t, redisURL, prefix, "alice", "pro", "course")

	for _, c := range []struct{ path, products string }{
		{"/premium/a", "pro"},
		{"/premium/course/1", "pro,course"},
	} {
		w, r := benchRequest(c.path, "alice", "text/html")
		r.Header.Set("X-Paywall-User", "mallory") // spoofed: must not survive
		var seen map[string]any
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
			seen = map[string]any{}
			for _, name := range []string{"http.paywall.user", "http.paywall.products"} {
				seen[name], _ = repl.Get(name)
			}
			seen["X-Paywall-User"] = r.Header.Values("X-Paywall-User")
			seen["X-Paywall-Products"] = r.Header.Values("X-Paywall-Products")
			return nextOK.ServeHTTP(w, r)
		})
		if err := p.ServeHTTP(w, r, next); err != nil || w.status != http.StatusOK {
			t.Fatalf("%s: status %d, %v", c.path, w.status, err)
		}
		if u, ok := seen["http.paywall.user"].(string); !ok || u != "alice" {
			t.Errorf("%s: {http.paywall.user} = %#v, want the string alice", c.path, seen["http.paywall.user"])
		}
		if ps, ok := seen["http.paywall.products"].(string); !ok || ps != c.products {
			t.Errorf("%s: {http.paywall.products} = %#v, want the string %q", c.path, seen["http.paywall.products"], c.products)
		}
		if got := seen["X-Paywall-User"].([]string); len(got) != 1 || got[0] != "alice" {
			t.Errorf("%s: X-Paywall-User %q, want [alice]", c.path, got)
		}
		if got := seen["X-Paywall-Products"].([]string); len(got) != 1 || got[0] != c.products {
			t.Errorf("%s: X-Paywall-Products %q, want [%s]", c.path, got, c.products)
		}
		if got := w.h.Values("Cache-Control"); len(got) != 1 || got[0] != "private" {
			t.Errorf("%s: Cache-Control %q, want [private]", c.path, got)
		}
	}
}
