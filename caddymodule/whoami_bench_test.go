package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// BenchmarkServeHTTPWhoami is the paid path with the user from whoami and
// a warm cache: the site's session cookie in, alice out, no request to the
// site. It reports the requests the site got during the run (site-req),
// which must stay 0.
//
//	go test ./caddymodule -run '^$' -bench ServeHTTPWhoami -benchmem
func BenchmarkServeHTTPWhoami(b *testing.B) {
	var asked atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if c, err := r.Cookie("sessionid"); err == nil && c.Value == "k2v9x7q1w8e3r6t5y4u0i9o8p7a6s5d4" {
			io.WriteString(w, "<p>Signed in as <b>alice</b></p>")
			return
		}
		http.Redirect(w, r, "/accounts/login/", http.StatusFound)
	}))
	b.Cleanup(idp.Close)

	redisURL := testenv.RedisURL(b)
	prefix := testenv.UniquePrefix()
	p := &Paywall{
		StripeSecretKey:      "sk_test_bench",
		StripeWebhookSecrets: []string{"whsec_bench"},
		StripeAPIURL:         "http://127.0.0.1:1",
		SessionSecret:        "bench-session-secret-of-32-chars-or-more",
		Redis:                redisURL,
		KeyPrefix:            prefix,
		Whoami:               &WhoamiConfig{URL: idp.URL + "/account/", Cookies: []string{"sessionid"}, UserRegex: `Signed in as <b>([^<]+)</b>`},
		LoginURL:             "/login?next={http.paywall.return_to}",
		Products:             catalog.Catalog{{ID: "pro", Name: "Pro", Price: "price_pro", Paths: []string{"/premium/*"}}},
	}
	provisioned(b, p)
	discardLogs(p)
	grantInRedis(b, redisURL, prefix, "alice", "pro")

	w := &benchWriter{h: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, "http://example.com/premium/a", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Cookie", "csrftoken=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z; sessionid=k2v9x7q1w8e3r6t5y4u0i9o8p7a6s5d4; _ga=GA1.1.123.456")
	serve := func() {
		r := caddyhttp.PrepareRequest(req.Clone(req.Context()), caddy.NewReplacer(), w, nil)
		w.reset()
		if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != http.StatusOK {
			b.Fatalf("paid request: %d %v", w.status, err)
		}
	}
	waitCacheLive(b, p, serve) // and the whoami cache warm
	r := caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, nil)
	before := asked.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != http.StatusOK {
			b.Fatalf("paid request: %d %v", w.status, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(asked.Load()-before), "site-req")
}
