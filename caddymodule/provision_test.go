package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func provisionConfig(redisURL string) *Paywall {
	return &Paywall{
		StripeSecretKey:      "sk_test_x",
		StripeWebhookSecrets: []string{"whsec_x"},
		SessionSecret:        "provision-test-secret-of-32-chars-or-more",
		Redis:                redisURL,
		Products:             catalog.Catalog{{ID: "pro", Price: "price_pro", Paths: []string{"/premium/*"}}},
	}
}

// Reloads provision the new handler before cleaning up the old one: both
// share one Redis client, and the last cleanup closes it.
func TestRedisClientSharedAcrossReloads(t *testing.T) {
	url := fmt.Sprintf("redis://127.0.0.1:%d/0?pool_size=3", testenv.FreePort(t))
	old, next := provisionConfig(url), provisionConfig(url)
	if err := old.Provision(newCaddyContext(t)); err != nil {
		t.Fatal(err)
	}
	if err := next.Provision(newCaddyContext(t)); err != nil {
		t.Fatal(err)
	}
	if refs, ok := redisClients.References(url); !ok || refs != 2 {
		t.Fatalf("pool references after two provisions: %d %v, want 2", refs, ok)
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if refs, _ := redisClients.References(url); refs != 1 {
		t.Fatalf("references after the old config's cleanup: %d, want 1", refs)
	}
	if err := next.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := redisClients.References(url); ok {
		t.Fatal("the client outlived every config that used it")
	}
}

// Cleanup works after a Provision that failed half-way, and releases what
// that Provision took.
func TestCleanupAfterFailedProvision(t *testing.T) {
	url := fmt.Sprintf("redis://127.0.0.1:%d/0?pool_size=4", testenv.FreePort(t))
	p := provisionConfig(url)
	p.Templates = "/nonexistent/templates"
	err := p.Provision(newCaddyContext(t))
	if err == nil || !strings.Contains(err.Error(), "templates") {
		t.Fatalf("Provision with a missing templates dir: %v", err)
	}
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := redisClients.References(url); ok {
		t.Fatal("a failed provision leaked its Redis client")
	}
	var never Paywall
	if err := never.Cleanup(); err != nil {
		t.Fatalf("Cleanup of a never-provisioned handler: %v", err)
	}
}

// A restart during a Redis outage still serves the ungated site: gated
// paths answer 503 (or pass with on_store_error allow), healthz 503, and
// webhooks 503 so that Stripe retries.
func TestServesThroughRedisOutage(t *testing.T) {
	app := upstreamApp(t)
	for _, mode := range []string{"deny", "allow"} {
		t.Run(mode, func(t *testing.T) {
			port := testenv.FreePort(t)
			site := fmt.Sprintf("http://127.0.0.1:%d", port)
			startSite(t, fmt.Sprintf(`%s {
	paywall {
		stripe_secret_key     sk_test_outage
		stripe_webhook_secret whsec_outage
		stripe_api_url        %s
		redis                 redis://127.0.0.1:%d/0
		session_secret        outage-session-secret-of-32-chars-min
		user                  {http.request.header.X-User}
		on_store_error        %s
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, testenv.StripeURL(t), testenv.FreePort(t), mode, app.Listener.Addr()))
			testenv.WaitHTTP(t, site+"/")
			status := func(method, path string, body io.Reader) int {
				r, _ := http.NewRequest(method, site+path, body)
				r.Header.Set("X-User", "alice")
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			wantGated := http.StatusServiceUnavailable
			if mode == "allow" {
				wantGated = http.StatusOK
			}
			for _, c := range []struct {
				method, path string
				want         int
			}{
				{"GET", "/free", 200},
				{"GET", "/premium/a", wantGated},
				{"GET", "/paywall/healthz", 503},
			} {
				if got := status(c.method, c.path, nil); got != c.want {
					t.Errorf("%s %s: %d, want %d", c.method, c.path, got, c.want)
				}
			}
			evt := checkoutCompleted("evt_o", "cs_o", "pi_o", "a", "pro")
			r, _ := http.NewRequest("POST", site+"/paywall/webhook", bytes.NewReader(evt))
			r.Header.Set("Stripe-Signature", signFor(evt, "whsec_outage"))
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("webhook during the outage: %d, want 503", resp.StatusCode)
			}
		})
	}
}
