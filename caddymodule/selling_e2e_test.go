package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// TestEndToEndFreeViewsAndCrawlers runs a real Caddy with forward_auth in
// front of the paywall: a signed-in reader spends her free views, a
// verified Googlebot (connecting from its own loopback address, which the
// test DNS server maps to googlebot.com and back) reads gated pages, and a
// forged one is sent to log in.
func TestEndToEndFreeViewsAndCrawlers(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whoami" {
			if c, err := r.Cookie("app_session"); err == nil {
				w.Header().Set("X-User", c.Value)
			}
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "page %s user=%q products=%q free=%q crawler=%q", r.URL.Path, r.Header.Get("X-Paywall-User"),
			r.Header.Get("X-Paywall-Products"), r.Header.Get("X-Paywall-Free-View"), r.Header.Get("X-Paywall-Crawler"))
	}))
	t.Cleanup(app.Close)
	dns := testenv.StartDNS(t)
	dns.Host("crawl-127-0-0-7.googlebot.com", "127.0.0.7")
	dns.PTR("127.0.0.8", "crawl-127-0-0-7.googlebot.com") // forged reverse zone

	port := testenv.FreePort(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	startSite(t, fmt.Sprintf(`http://:%d {
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
		crawlers google {
			resolver %s
		}
		product club {
			name       "Club"
			price      price_club
			free_views 2 per 720h
			paths      /club/*
		}
	}
	reverse_proxy %s
}`, port, app.Listener.Addr(), e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(),
		dns.Addr, app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/")

	// from is a client whose connections come from a loopback address of
	// its own (all of 127.0.0.0/8 is the loopback interface).
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 10 * time.Second,
			Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(c *http.Client, path, accept, ua string) (*http.Response, string) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, site+path, nil)
		r.Header.Set("Accept", accept)
		r.Header.Set("User-Agent", ua)
		r.Header.Set("X-Forwarded-For", "127.0.0.7") // never believed
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// A signed-in reader: two distinct pages free, the first again free,
	// then the pay page, which says the free views are used.
	reader := from("127.0.0.1")
	u, _ := url.Parse(site)
	reader.Jar.SetCookies(u, []*http.Cookie{{Name: "app_session", Value: "rita"}})
	for i, s := range []struct{ path, free string }{
		{"/club/one", "1 of 2"}, {"/club/two", "2 of 2"}, {"/club/one", "2 of 2"},
	} {
		resp, body := get(reader, s.path, "text/html", "Firefox")
		want := fmt.Sprintf(`user="rita" products="" free=%q crawler=""`, s.free)
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("free view %d: %d %s, want %s", i, resp.StatusCode, body, want)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=60" {
			t.Fatalf("free view %d: Cache-Control %q", i, cc)
		}
	}
	resp, _ := get(reader, "/club/three", "text/html", "Firefox")
	payURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(payURL, "/paywall/pay?product=club") {
		t.Fatalf("past the limit: %d %q", resp.StatusCode, payURL)
	}
	resp, page := get(reader, payURL, "text/html", "Firefox")
	if resp.StatusCode != 200 || !strings.Contains(page, "You have read your 2 free pages of Club.") {
		t.Fatalf("pay page: %d\n%s", resp.StatusCode, page)
	}
	resp, body := get(reader, "/club/three", "application/json", "curl/8")
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, `"free_views":{"limit":2,"product":"club"`) {
		t.Fatalf("machine past the limit: %d %s", resp.StatusCode, body)
	}

	// Googlebot from an address that verifies reads gated pages.
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	bot := from("127.0.0.7")
	resp, body = get(bot, "/club/one", "text/html", googlebot)
	if resp.StatusCode != 200 || !strings.Contains(body, `user="" products="" free="" crawler="google"`) {
		t.Fatalf("verified googlebot: %d %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Fatalf("verified googlebot: Cache-Control %q", cc)
	}
	q := dns.Queries()
	get(bot, "/club/two", "text/html", googlebot)
	if dns.Queries() != q {
		t.Fatal("a verified crawler's second request asked DNS")
	}
	// The same claim from an address whose forward lookup does not come
	// back (or from the reader's address): an anonymous visitor.
	for _, ip := range []string{"127.0.0.8", "127.0.0.1"} {
		resp, _ = get(from(ip), "/club/one", "text/html", googlebot)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Fatalf("forged googlebot from %s: %d %q", ip, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
