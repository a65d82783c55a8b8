package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// shadow on decides as usual but lets every request through, without
// telling the upstream anyone paid.
func TestShadowLetsEverythingThrough(t *testing.T) {
	app := upstreamApp(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startSite(t, fmt.Sprintf(`%s {
	paywall {
		stripe_secret_key     sk_test_shadow
		stripe_webhook_secret whsec_shadow
		stripe_api_url        %s
		redis                 %s
		key_prefix            %s
		session_secret        shadow-session-secret-of-32-chars-min
		user                  {http.request.header.X-User}
		shadow
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/")
	for _, c := range []struct{ user, accept string }{{"bob", "text/html"}, {"bob", "application/json"}, {"", "text/html"}} {
		r, _ := http.NewRequest("GET", site+"/premium/a", nil)
		r.Header.Set("Accept", c.accept)
		if c.user != "" {
			r.Header.Set("X-User", c.user)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `user=""`) {
			t.Fatalf("shadow, user %q, %s: %d %s", c.user, c.accept, resp.StatusCode, body)
		}
	}
}

func TestMetricsCountDecisions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.decision(gateway.Pass)
	m.decision(gateway.Pass)
	m.decision(gateway.Pay)
	m.webhook(gateway.WebhookResult{Type: "checkout.session.completed", Outcome: "applied"})
	m.cacheHit()
	if got := testutil.ToFloat64(m.decisions.WithLabelValues("pass")); got != 2 {
		t.Fatalf("pass decisions: %v", got)
	}
	if got := testutil.ToFloat64(m.decisions.WithLabelValues("pay")); got != 1 {
		t.Fatalf("pay decisions: %v", got)
	}
	if got := testutil.ToFloat64(m.webhooks.WithLabelValues("checkout.session.completed", "applied")); got != 1 {
		t.Fatalf("webhooks: %v", got)
	}
	// A second paywall block in the same config shares the series.
	m2 := newMetrics(reg)
	m2.decision(gateway.Pass)
	if got := testutil.ToFloat64(m.decisions.WithLabelValues("pass")); got != 3 {
		t.Fatalf("shared series: %v", got)
	}
}
