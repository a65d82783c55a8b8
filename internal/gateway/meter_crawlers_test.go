package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/crawlers"
	"github.com/caddy-paywall/caddy-paywall/internal/meter"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

const googleUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// withFreeViews gives the fixture's "pro" product 2 free views per 720h,
// counted on the fixture's Redis, on a clock the test moves.
func withFreeViews(f *fixture, now *time.Time) {
	f.gw.freeViews = map[string]meter.Limit{"pro": {Views: 2, Per: 720 * time.Hour}}
	f.gw.meter = meter.New(f.client, f.store.Prefix())
	f.gw.now = func() time.Time { return *now }
}

func gated(user, path string) Request {
	return Request{User: user, Products: []string{"pro"}, Path: path}
}

func TestDecideFreeViews(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now()
	withFreeViews(f, &now)
	f.grant(t, "alice", "pro")
	ctx := context.Background()

	steps := []struct {
		user, path string
		want       Outcome
		header     string // X-Paywall-Free-View
	}{
		{"bob", "/premium/a", FreeView, "1 of 2"},
		{"bob", "/premium/a", FreeView, "1 of 2"}, // again: free, not counted twice
		{"bob", "/premium/b", FreeView, "2 of 2"},
		{"bob", "/premium/c", Pay, ""}, // past the limit
		{"bob", "/premium/b", FreeView, "2 of 2"},
		{"alice", "/premium/a", Pass, ""}, // holds the product: never counted
		{"", "/premium/a", Login, ""},     // signed out: the login redirect as before
	}
	for i, s := range steps {
		d := f.gw.Decide(ctx, gated(s.user, s.path))
		if d.Outcome != s.want {
			t.Fatalf("step %d (%s %s): %s, want %s", i, s.user, s.path, d.Outcome, s.want)
		}
		if d.Passes() != (s.want != Pay && s.want != Login) {
			t.Fatalf("step %d: Passes() = %v", i, d.Passes())
		}
		h := http.Header{}
		if d.Passes() {
			SetUpstreamHeaders(h, d)
		}
		if got := h.Get("X-Paywall-Free-View"); got != s.header {
			t.Fatalf("step %d: X-Paywall-Free-View %q, want %q", i, got, s.header)
		}
		if s.want == FreeView {
			// The user is named; no product is claimed as held.
			if h.Get("X-Paywall-User") != "bob" || h.Values("X-Paywall-Products") != nil || len(d.Held) != 0 {
				t.Fatalf("step %d: free view headers %v, held %v", i, h, d.Held)
			}
		}
		if s.want == Pay && (d.Metered == nil || d.Metered.Used != 2 || d.Metered.Limit != 2 || d.Metered.Product != "pro") {
			t.Fatalf("step %d: used-up meter %+v", i, d.Metered)
		}
	}
	// alice was never counted: no meter of hers exists.
	if n, err := f.client.Exists(ctx, f.store.Prefix()+"free-views:pro:alice").Result(); err != nil || n != 0 {
		t.Fatalf("a paying user was counted (exists=%d, err %v)", n, err)
	}
	// A product without free views is not metered.
	if d := f.gw.Decide(ctx, Request{User: "bob", Products: []string{"course"}, Path: "/course/x"}); d.Outcome != Pay || d.Metered != nil {
		t.Fatalf("course: %s %+v", d.Outcome, d.Metered)
	}
	// The window ends: the views renew.
	now = now.Add(720 * time.Hour)
	if d := f.gw.Decide(ctx, gated("bob", "/premium/c")); d.Outcome != FreeView || d.Metered.Used != 1 {
		t.Fatalf("after the window: %s %+v", d.Outcome, d.Metered)
	}
}

func TestDecideFreeViewStoreDown(t *testing.T) {
	// Entitlements read fine (Redis up), counting fails (its Redis is down):
	// the on_store_error rule, never a free pass by accident.
	for _, allow := range []bool{false, true} {
		f := newFixture(t, fixtureOpts{allowStore: allow})
		now := time.Now()
		withFreeViews(f, &now)
		r := testenv.StartRedis(t)
		down := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
		t.Cleanup(func() { down.Close() })
		f.gw.meter = meter.New(down, f.store.Prefix())
		r.Stop()

		d := f.gw.Decide(context.Background(), gated("bob", "/premium/a"))
		want := StoreDenied
		if allow {
			want = StoreAllowed
		}
		if d.Outcome != want || d.Err == nil || d.Metered != nil {
			t.Fatalf("allow=%v: %s err %v metered %+v, want %s", allow, d.Outcome, d.Err, d.Metered, want)
		}
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/premium/a", nil)
		if !allow {
			f.gw.Deny(w, req, d, testReplacer{})
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("deny: %d, want 503", w.Code)
			}
		}
	}
}

func TestUsedUpFreeViews402AndPayPage(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	withFreeViews(f, &now)
	ctx := context.Background()
	for _, p := range []string{"/premium/a", "/premium/b"} {
		f.gw.Decide(ctx, gated("bob", p))
	}
	d := f.gw.Decide(ctx, gated("bob", "/premium/c"))
	if d.Outcome != Pay {
		t.Fatalf("outcome %s", d.Outcome)
	}

	// Machine: 402 naming the used-up free views.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/premium/c", nil)
	r.Header.Set("Accept", "application/json")
	f.gw.Deny(w, r, d, testReplacer{})
	var body struct {
		Detail    string         `json:"detail"`
		FreeViews map[string]any `json:"free_views"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusPaymentRequired {
		t.Fatalf("402: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(body.Detail, "free views are used") || body.FreeViews["used"] != 2.0 || body.FreeViews["limit"] != 2.0 ||
		body.FreeViews["renews"] != "2026-12-01T12:00:00Z" || body.FreeViews["product"] != "pro" {
		t.Fatalf("402 body: %s", w.Body)
	}

	// Browser: 303 to the pay page, which says the free views are used.
	b := newBrowser()
	w = b.do(t, func(w http.ResponseWriter, r *http.Request) { f.gw.Deny(w, r, d, testReplacer{}) },
		httptest.NewRequest(http.MethodGet, "/premium/c", nil))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("browser: %d", w.Code)
	}
	w = b.do(t, f.endpoint("bob"), httptest.NewRequest(http.MethodGet, w.Header().Get("Location"), nil))
	page := w.Body.String()
	if w.Code != 200 || !strings.Contains(page, `id="free-views-used"`) ||
		!strings.Contains(page, "You have read your 2 free pages of Pro articles. More free pages on 1 December 2026.") {
		t.Fatalf("pay page: %d\n%s", w.Code, page)
	}
	// Someone with views left sees no such note.
	f.gw.Decide(ctx, gated("carol", "/premium/a"))
	w = newBrowser().do(t, f.endpoint("carol"), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=pro", nil))
	if w.Code != 200 || strings.Contains(w.Body.String(), "free-views-used") {
		t.Fatalf("pay page with views left: %d", w.Code)
	}
}

func TestDecideCrawler(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	dns := testenv.StartDNS(t)
	dns.Host("crawl-192-0-2-1.googlebot.com", "192.0.2.1")
	dns.PTR("192.0.2.66", "crawl-192-0-2-1.googlebot.com") // forged reverse zone
	v, err := crawlers.New(crawlers.Options{Names: []string{"google"}, Resolver: dns.Addr})
	if err != nil {
		t.Fatal(err)
	}
	f.gw.crawlers = v
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		user, ua, ip  string
		want          Outcome
		crawlerHeader string
	}{
		{"verified", "", googleUA, "192.0.2.1:5000", Crawler, "google"},
		{"forged", "", googleUA, "192.0.2.66:5000", Login, ""},
		{"a browser", "", "Firefox", "192.0.2.1:5000", Login, ""},
		{"signed in: the user's own access decides", "bob", googleUA, "192.0.2.1:5000", Pay, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := f.gw.Decide(ctx, Request{User: c.user, Products: []string{"pro"}, Path: "/premium/a", UserAgent: c.ua, RemoteAddr: c.ip})
			if d.Outcome != c.want {
				t.Fatalf("%s, want %s", d.Outcome, c.want)
			}
			h := http.Header{}
			if d.Passes() {
				SetUpstreamHeaders(h, d)
			}
			if h.Get("X-Paywall-Crawler") != c.crawlerHeader || (c.want == Crawler && (h.Get("X-Paywall-User") != "" || h.Values("X-Paywall-Products") != nil)) {
				t.Fatalf("headers %v", h)
			}
		})
	}
	// DNS down: not verified, the login redirect, no error.
	dns.Fail(true)
	d := f.gw.Decide(ctx, Request{Products: []string{"pro"}, Path: "/premium/a", UserAgent: googleUA, RemoteAddr: "192.0.2.7:1"})
	if d.Outcome != Login || d.Err != nil {
		t.Fatalf("DNS failing: %s %v", d.Outcome, d.Err)
	}
}

func TestRequestOf(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/premium/a?x=1", nil)
	r.RemoteAddr = "192.0.2.1:4000"
	r.Header.Set("User-Agent", googleUA)
	r.Header.Set("X-Forwarded-For", "192.0.2.99")
	got := RequestOf(r, "bob", []string{"pro"})
	if got.User != "bob" || got.Path != "/premium/a" || got.UserAgent != googleUA || got.RemoteAddr != "192.0.2.1:4000" {
		t.Fatalf("%+v", got)
	}
}
