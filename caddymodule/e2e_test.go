package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

const e2eWebhookSecret = "whsec_e2e"

// upstreamApp is the unmodified site: /whoami tells forward_auth who the
// visitor is (from the app's own cookie), every other page echoes what the
// paywall told it.
func upstreamApp(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whoami" {
			if c, err := r.Cookie("app_session"); err == nil {
				w.Header().Set("X-User", c.Value)
			}
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "page %s user=%q products=%q", r.URL.Path, r.Header.Get("X-Paywall-User"), r.Header.Get("X-Paywall-Products"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startCaddy runs a real Caddy server in this process from a Caddyfile.
func startCaddy(t *testing.T, caddyfile string) {
	t.Helper()
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	for _, w := range warnings {
		t.Logf("adapt warning: %s", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
}

func TestEndToEnd(t *testing.T) {
	app := upstreamApp(t)
	port := testenv.FreePort(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	startSite(t, fmt.Sprintf(`%s {
	@members not path /paywall/webhook /paywall/healthz
	forward_auth @members %s {
		uri /whoami
		copy_headers X-User
	}
	paywall {
		stripe_secret_key     sk_test_e2e
		stripe_webhook_secret %s
		stripe_api_url        %s
		redis                 %s
		key_prefix            %s
		session_secret        e2e-session-secret-of-at-least-32-chars
		user                  {http.request.header.X-User}
		login_url             /login?next={http.paywall.return_to}
		product pro {
			name  "Pro articles"
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, app.Listener.Addr(), e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, accept string, header ...string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, site+path, nil)
		r.Header.Set("Accept", accept)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	body := func(resp *http.Response) string {
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	// Anonymous: to the login page, with the way back.
	resp := get("/premium/a?x=1", "text/html")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login?next=%2Fpremium%2Fa%3Fx%3D1" {
		t.Fatalf("anonymous: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Ungated pages pass, and never see a spoofed X-Paywall-User.
	resp = get("/free", "text/html", "X-Paywall-User", "alice", "X_Paywall_User", "alice")
	if got := body(resp); resp.StatusCode != 200 || !strings.Contains(got, `user=""`) {
		t.Fatalf("ungated: %d %s", resp.StatusCode, got)
	}

	// alice logs in to the app; she has not paid.
	u, _ := url.Parse(site)
	jar.SetCookies(u, []*http.Cookie{{Name: "app_session", Value: "alice"}})
	resp = get("/premium/a", "application/json")
	if resp.StatusCode != http.StatusPaymentRequired || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("machine, unpaid: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp = get("/premium/a", "text/html", "X-Paywall-User", "alice")
	payURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(payURL, "/paywall/pay?product=pro") {
		t.Fatalf("browser, unpaid: %d %q", resp.StatusCode, payURL)
	}

	// The pay page and the checkout POST reach a real Checkout Session (stripe-mock).
	resp = get(payURL, "text/html")
	page := body(resp)
	if resp.StatusCode != 200 || !strings.Contains(page, "Pro articles") {
		t.Fatalf("pay page: %d", resp.StatusCode)
	}
	form := url.Values{"product": {"pro"}}
	for _, m := range regexp.MustCompile(`name="(csrf_token|nonce|return_to)"\s+value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		form.Set(m[1], strings.ReplaceAll(m[2], "&amp;", "&"))
	}
	r, _ := http.NewRequest(http.MethodPost, site+"/paywall/checkout", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", site)
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
		t.Fatalf("checkout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Stripe's signed webhook records the payment.
	code, answer, err := postEvent(http.DefaultClient, site, e2eWebhookSecret,
		checkoutCompleted("evt_e2e", "cs_test_e2e", "pi_e2e", "alice", "pro"))
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 {
		t.Fatalf("webhook: %d %s", code, answer)
	}

	// Paid: the upstream sees who she is, and no shared cache keeps the page.
	resp = get("/premium/a", "text/html")
	got := body(resp)
	if resp.StatusCode != 200 || !strings.Contains(got, `user="alice" products="pro"`) {
		t.Fatalf("paid: %d %s", resp.StatusCode, got)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Fatalf("Cache-Control %q, want private, max-age=60", cc)
	}
	// A Connection header naming the gateway's headers (hop-by-hop, which
	// the proxy drops) cannot take them away from the upstream.
	resp = get("/premium/a", "text/html", "Connection", "keep-alive, X-Paywall-User, x_paywall_products")
	if got := body(resp); resp.StatusCode != 200 || !strings.Contains(got, `user="alice" products="pro"`) {
		t.Fatalf("paid, with Connection naming X-Paywall-*: %d %s", resp.StatusCode, got)
	}

	// bob cannot borrow alice's access by sending her name.
	jar.SetCookies(u, []*http.Cookie{{Name: "app_session", Value: "bob"}})
	resp = get("/premium/a", "text/html", "X-Paywall-User", "alice", "X-User", "alice")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob with spoofed headers: %d", resp.StatusCode)
	}

	resp = get("/paywall/healthz", "text/plain")
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}
