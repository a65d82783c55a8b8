package caddymodule

// Benchmarks of the module's ServeHTTP in process, against a plain next
// handler: what the paywall adds to a request before the proxying (which
// `go run ./bench` measures end to end with wrk). Redis is real
// (testenv.RedisURL): the entitlement cache turns live only once its
// pub/sub subscription is confirmed, as in Caddy.
//
//	go test ./caddymodule -run '^$' -bench ServeHTTP -benchmem
//
// Each case reports ns/op and allocs/op of the paywall's ServeHTTP (next
// handler included), and two metrics measured in the same run:
// next-ns/op, the plain next handler alone on the same request, and
// x-next, the ratio of the two.

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// benchWriter is a reusable ResponseWriter that keeps only the status.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *benchWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *benchWriter) reset() { clear(w.h); w.status = 0 }

var okBody = []byte("ok")

// nextOK stands for the upstream: the least a next handler can do.
var nextOK = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(okBody)
	return err
})

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// benchPaywall provisions a paywall as Caddy would (user from the X-User
// header, one product on /premium/*), grants alice, and waits until her
// request is answered from a live, warm cache.
func benchPaywall(b *testing.B, configure ...func(*Paywall)) *Paywall {
	b.Helper()
	redisURL := testenv.RedisURL(b)
	prefix := testenv.UniquePrefix()
	p := &Paywall{
		StripeSecretKey:      "sk_test_bench",
		StripeWebhookSecrets: []string{"whsec_bench"},
		StripeAPIURL:         "http://127.0.0.1:1", // closed: these paths must not call Stripe
		SessionSecret:        "bench-session-secret-of-32-chars-or-more",
		Redis:                redisURL,
		KeyPrefix:            prefix,
		User:                 "{http.request.header.X-User}",
		LoginURL:             "/login?next={http.paywall.return_to}",
		Products:             catalog.Catalog{{ID: "pro", Name: "Pro", Price: "price_pro", Paths: []string{"/premium/*"}}},
	}
	for _, f := range configure {
		f(p)
	}
	provisioned(b, p)
	discardLogs(p)
	grantInRedis(b, redisURL, prefix, "alice", "pro")
	w, r := benchRequest("/premium/a", "alice", "text/html")
	waitCacheLive(b, p, func() {
		w.reset()
		if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != 200 {
			b.Fatalf("paid request: %d %v", w.status, err)
		}
	})
	return p
}

// benchRequest is a request prepared as Caddy's server prepares it.
func benchRequest(path, user, accept string) (*benchWriter, *http.Request) {
	w := &benchWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	if user != "" {
		r.Header.Set("X-User", user)
	}
	r.Header.Set("Accept", accept)
	return w, caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
}

func BenchmarkServeHTTP(b *testing.B) {
	p := benchPaywall(b)
	for _, c := range []struct {
		name, path, user, accept string
		want                     int
	}{
		{"paid", "/premium/a", "alice", "text/html", http.StatusOK},
		{"ungated", "/free/a", "alice", "text/html", http.StatusOK},
		{"unpaid-machine", "/premium/a", "bob", "application/json", http.StatusPaymentRequired},
		{"anonymous-browser", "/premium/a", "", "text/html", http.StatusFound},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, r := benchRequest(c.path, c.user, c.accept)
			serve := func() {
				w.reset()
				if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != c.want {
					b.Fatalf("status %d (err %v), want %d", w.status, err, c.want)
				}
			}
			serve() // warm: the cache entry (a negative one for bob), the price lookup
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				serve()
			}
			b.StopTimer()
			reportAgainstNext(b, w, r)
		})
	}
}

// reportAgainstNext reports, after a benchmark's timed loop, the plain
// next handler's time on the same request as many times (next-ns/op) and
// the paywall's time as a multiple of it (x-next).
func reportAgainstNext(b *testing.B, w *benchWriter, r *http.Request) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		w.reset()
		_ = nextOK.ServeHTTP(w, r)
	}
	nextPerOp := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(nextPerOp, "next-ns/op")
	b.ReportMetric(perOp/nextPerOp, "x-next")
}
