package caddymodule

// Benchmarks of the free-view and crawler paths of ServeHTTP, beside
// BenchmarkServeHTTP's cases:
//
//	go test ./caddymodule -run '^$' -bench 'ServeHTTPSelling' -benchmem
//
// free-view-counted opens a new page each time (one EVALSHA that adds
// it), free-view-again the same page (one EVALSHA that finds it), both for
// a user whose "holds nothing" is in the entitlement cache, as it is for
// a reader between two pages; crawler-verified is a Googlebot request
// whose IP was verified before (no DNS).

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func BenchmarkServeHTTPSelling(b *testing.B) {
	dns := testenv.StartDNS(b)
	dns.Host("crawl-192-0-2-1.googlebot.com", "192.0.2.1")
	p := &Paywall{
		StripeSecretKey: "sk_test_bench", StripeWebhookSecrets: []string{"whsec_bench"},
		StripeAPIURL:  "http://127.0.0.1:1",
		SessionSecret: "bench-session-secret-of-32-chars-or-more",
		Redis:         testenv.RedisURL(b), KeyPrefix: testenv.UniquePrefix(),
		User:     "{http.request.header.X-User}",
		LoginURL: "/login?next={http.paywall.return_to}",
		Crawlers: &Crawlers{Names: []string{"google"}, Resolver: dns.Addr},
		Products: catalog.Catalog{{ID: "club", Price: "price_club", Paths: []string{"/club/*"},
			FreeViews: &catalog.FreeViews{Views: 1 << 30, Per: catalog.Duration(720 * time.Hour)}}},
	}
	provisioned(b, p)
	discardLogs(p)

	// Wait until bob's (empty) entitlements come from a live cache.
	w, r := benchRequest("/club/warm", "bob", "text/html")
	waitCacheLive(b, p, func() {
		w.reset()
		if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != 200 {
			b.Fatalf("free view: %d %v", w.status, err)
		}
	})

	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	seq := 0 // new pages stay new across the benchmark's runs
	for _, c := range []struct {
		name     string
		user, ua string
		newPage  bool
	}{
		{"free-view-counted", "bob", "", true},
		{"free-view-again", "bob", "", false},
		{"crawler-verified", "", googlebot, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, r := benchRequest("/club/a", c.user, "text/html")
			r.RemoteAddr = "192.0.2.1:4000"
			if c.ua != "" {
				r.Header.Set("User-Agent", c.ua)
			}
			var paths []string
			if c.newPage {
				paths = make([]string, b.N+1)
				for i := range paths {
					paths[i] = "/club/p" + strconv.Itoa(seq)
					seq++
				}
			}
			serve := func(i int) {
				if c.newPage {
					r.URL.Path = paths[i]
				}
				w.reset()
				if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != http.StatusOK {
					b.Fatalf("status %d (err %v)", w.status, err)
				}
			}
			serve(0) // warm: the script, the crawler's verification
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				serve(i)
			}
			b.StopTimer()
			reportAgainstNext(b, w, r)
		})
	}
}
